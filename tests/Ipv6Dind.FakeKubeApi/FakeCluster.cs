using System.Text.Json.Nodes;

namespace Ipv6Dind.FakeKubeApi;

/// <summary>
/// The scriptable state behind the fake API. A "poll" is one GET of the resource concerned: nodes count node-list
/// GETs, CoreDNS counts GETs of its Deployment, so a test says "Ready on the third look" without any clock.
/// Thread-safe: every member takes the cluster's lock.
/// </summary>
public sealed class FakeCluster
{
    internal readonly object Gate = new();
    private readonly List<FakeNode> _nodes = [];
    private readonly List<JsonObject> _pods = [];

    internal FakeCluster(string kubernetesVersion)
    {
        KubernetesVersion = kubernetesVersion;
        CoreDns = new FakeCoreDns(this);
        KubeProxy = new FakeKubeProxy(this);
    }

    public string KubernetesVersion { get; }

    public FakeCoreDns CoreDns { get; }

    public FakeKubeProxy KubeProxy { get; }

    /// <summary>
    /// A node that registers after <paramref name="registerAfterPolls"/> node lists and reports Ready from the
    /// (<paramref name="readyAfterPolls"/>+1)-th list that shows it; null: never Ready (until
    /// <see cref="FakeNode.SetReady"/>). Until then its Ready condition is False with <see cref="FakeNode.NotReadyReason"/>
    /// and <see cref="FakeNode.NotReadyMessage"/> (kubelet's words when the CNI config is missing, by default).
    /// </summary>
    public FakeNode AddNode(string name, int? readyAfterPolls = 0, int registerAfterPolls = 0,
        string? internalIp = null, string? podCidr = null, string? kubeletVersion = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (Gate)
        {
            if (_nodes.Any(n => n.Name == name)) throw new InvalidOperationException($"The fake already has a node named {name}.");
            var index = _nodes.Count + 1;
            var node = new FakeNode(this, name, readyAfterPolls, registerAfterPolls,
                internalIp ?? $"fd00:10:1::{index + 1:x}", podCidr ?? $"fd00:10:2:0:{index:x}::/80", kubeletVersion ?? KubernetesVersion);
            _nodes.Add(node);
            return node;
        }
    }

    /// <summary>Every name, Ready after <paramref name="readyAfterPolls"/> node lists: the lab's nodes in one call.</summary>
    public IReadOnlyList<FakeNode> AddNodes(IEnumerable<string> names, int? readyAfterPolls = 0) =>
        names.Select(n => AddNode(n, readyAfterPolls)).ToList();

    public bool RemoveNode(string name)
    {
        lock (Gate) return _nodes.RemoveAll(n => n.Name == name) > 0;
    }

    public IReadOnlyList<FakeNode> Nodes
    {
        get { lock (Gate) return _nodes.ToList(); }
    }

    public FakeNode Node(string name)
    {
        lock (Gate) return _nodes.Single(n => n.Name == name);
    }

    /// <summary>How many times the node list was read.</summary>
    public int NodeListCount { get; private set; }

    /// <summary>Adds a pod (any namespace) to what GET .../pods answers. CoreDNS's own pods are made by <see cref="CoreDns"/>.</summary>
    public void AddPod(string @namespace, string name, IReadOnlyDictionary<string, string>? labels = null, string phase = "Running",
        bool ready = true, string? nodeName = null, string? podIp = null)
    {
        lock (Gate) _pods.Add(FakeJson.Pod(@namespace, name, labels ?? new Dictionary<string, string>(), phase, ready, nodeName, podIp));
    }

    internal JsonObject ListNodes()
    {
        lock (Gate)
        {
            NodeListCount++;
            var items = new JsonArray();
            foreach (var node in _nodes)
                if (node.Observe() is { } json) items.Add(json);
            return FakeJson.List("NodeList", "v1", items);
        }
    }

    internal JsonObject ListPods(string @namespace, string? labelSelector)
    {
        lock (Gate)
        {
            var selector = ParseSelector(labelSelector);
            var items = new JsonArray();
            var all = _pods.Concat(@namespace == "kube-system" ? CoreDns.Pods() : []);
            foreach (var pod in all)
            {
                if ((string?)pod["metadata"]!["namespace"] != @namespace) continue;
                var labels = pod["metadata"]!["labels"] as JsonObject;
                if (selector.All(kv => (string?)labels?[kv.Key] == kv.Value)) items.Add(pod.DeepClone());
            }
            return FakeJson.List("PodList", "v1", items);
        }
    }

    /// <summary>Equality selectors only ("k8s-app=kube-dns,tier=x"), which is all the module sends.</summary>
    private static List<KeyValuePair<string, string>> ParseSelector(string? selector)
    {
        var result = new List<KeyValuePair<string, string>>();
        if (string.IsNullOrWhiteSpace(selector)) return result;
        foreach (var part in selector.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pieces = part.Split(part.Contains("==") ? "==" : "=", 2);
            result.Add(new(pieces[0].Trim(), pieces.Length > 1 ? pieces[1].Trim() : ""));
        }
        return result;
    }
}

/// <summary>One node of the fake; see <see cref="FakeCluster.AddNode"/>.</summary>
public sealed class FakeNode
{
    private readonly FakeCluster _cluster;
    private int? _readyAfterPolls;
    private int _registerAfterPolls;
    private int _seen;
    private bool? _forced;

    internal FakeNode(FakeCluster cluster, string name, int? readyAfterPolls, int registerAfterPolls, string internalIp, string podCidr, string kubeletVersion)
    {
        _cluster = cluster;
        Name = name;
        _readyAfterPolls = readyAfterPolls;
        _registerAfterPolls = registerAfterPolls;
        InternalIp = internalIp;
        PodCidr = podCidr;
        KubeletVersion = kubeletVersion;
    }

    public string Name { get; }
    public string InternalIp { get; }
    public string PodCidr { get; }
    public string KubeletVersion { get; }

    public string NotReadyReason { get; set; } = "KubeletNotReady";

    public string NotReadyMessage { get; set; } =
        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";

    /// <summary>Forces the Ready condition from now on (true or false), whatever the poll counts say.</summary>
    public void SetReady(bool ready)
    {
        lock (_cluster.Gate) _forced = ready;
    }

    /// <summary>Whether the last node list showed it Ready.</summary>
    public bool Ready { get; private set; }

    /// <summary>Called once per node list; null while not registered.</summary>
    internal JsonObject? Observe()
    {
        if (_registerAfterPolls > 0)
        {
            _registerAfterPolls--;
            return null;
        }
        Ready = _forced ?? (_readyAfterPolls is { } n && _seen >= n);
        _seen++;
        return FakeJson.Node(Name, Ready, Ready ? "KubeletReady" : NotReadyReason,
            Ready ? "kubelet is posting ready status" : NotReadyMessage, InternalIp, PodCidr, KubeletVersion);
    }
}
