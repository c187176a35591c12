using System.Text.Json.Nodes;

namespace Ipv6Dind.FakeKubeApi;

/// <summary>
/// ConfigMap and Deployment kube-system/coredns as kubeadm's addon phase leaves them (the Corefile of kubeadm
/// 1.31, two replicas). The Deployment's replicas become available after <see cref="AvailableAfterPolls"/> GETs of
/// it; a change of its pod template (a restart) bumps metadata.generation and starts a rollout that completes after
/// <see cref="RolloutPolls"/> more GETs, during which the old pods stay available, as with a RollingUpdate.
/// </summary>
public sealed class FakeCoreDns
{
    /// <summary>
    /// kubeadm 1.31's Corefile, from tests/doubles/kubernetes/kubedouble/kubeadm-1.31-Corefile: the kube-apiserver
    /// double in the test image serves the same file.
    /// </summary>
    public static string KubeadmCorefile { get; } = FakeResources.Read("kubeadm-Corefile");

    private readonly FakeCluster _cluster;
    private readonly FakeConfigMap _configMap;
    private JsonObject _deployment;
    private int _resourceVersion = 1000;
    private int _pollsLeft;
    private bool _rolling;
    private bool _exists = true;

    internal FakeCoreDns(FakeCluster cluster)
    {
        _cluster = cluster;
        _configMap = new FakeConfigMap(cluster.Gate, "coredns", new Dictionary<string, string> { ["Corefile"] = KubeadmCorefile }, Next);
        _deployment = FakeJson.CoreDnsDeployment(2);
        _deployment["metadata"]!["resourceVersion"] = Next();
    }

    /// <summary>GETs of the Deployment that show 0 available replicas before they all are; null: never.</summary>
    public int? AvailableAfterPolls
    {
        get { lock (_cluster.Gate) return _availableAfterPolls; }
        set { lock (_cluster.Gate) { _availableAfterPolls = value; _pollsLeft = value ?? int.MaxValue; _rolling = false; } }
    }
    private int? _availableAfterPolls = 0;

    /// <summary>GETs of the Deployment after a restart before the rollout is complete.</summary>
    public int RolloutPolls { get; set; } = 1;

    /// <summary>False: the ConfigMap and Deployment are absent (404), as before kubeadm's addon phase.</summary>
    public bool Exists
    {
        get { lock (_cluster.Gate) return _exists; }
        set { lock (_cluster.Gate) { _exists = value; _configMap.Exists = value; } }
    }

    public int Replicas
    {
        get { lock (_cluster.Gate) return (int)_deployment["spec"]!["replicas"]!; }
        set { lock (_cluster.Gate) _deployment["spec"]!["replicas"] = value; }
    }

    /// <summary>data["Corefile"] as stored now.</summary>
    public string? Corefile
    {
        get => _configMap["Corefile"];
        set => _configMap["Corefile"] = value;
    }

    /// <summary>The pod template's kubectl.kubernetes.io/restartedAt annotation; null until restarted.</summary>
    public string? RestartedAt
    {
        get { lock (_cluster.Gate) return FakeJson.RestartedAt(_deployment); }
    }

    public long Generation
    {
        get { lock (_cluster.Gate) return (long)_deployment["metadata"]!["generation"]!; }
    }

    /// <summary>Times the ConfigMap and the Deployment were changed through PATCH.</summary>
    public int ConfigMapPatches => _configMap.Patches;
    public int DeploymentPatches { get; private set; }

    internal JsonObject? GetConfigMap() => _configMap.Get();

    internal JsonObject? PatchConfigMap(JsonNode patch) => _configMap.Patch(patch);

    internal JsonObject? GetDeployment()
    {
        lock (_cluster.Gate)
        {
            if (!_exists) return null;
            if (_pollsLeft > 0)
            {
                if (_pollsLeft != int.MaxValue) _pollsLeft--;
                SetStatus(available: false);
            }
            else
            {
                _rolling = false;
                SetStatus(available: true);
            }
            return (JsonObject)_deployment.DeepClone();
        }
    }

    internal JsonObject? PatchDeployment(JsonNode patch)
    {
        lock (_cluster.Gate)
        {
            if (!_exists) return null;
            var spec = _deployment["spec"]!.ToJsonString();
            if (!JsonMergePatch.ApplyTo(ref _deployment, patch, Next)) return (JsonObject)_deployment.DeepClone();
            DeploymentPatches++;
            if (_deployment["spec"]!.ToJsonString() != spec)
            {
                _deployment["metadata"]!["generation"] = Generation + 1;
                // A rollout of the new template; while it runs, the old pods (if any were available) serve.
                _rolling = _pollsLeft == 0 || _rolling;
                _pollsLeft = _availableAfterPolls is null ? int.MaxValue : Math.Max(RolloutPolls, _pollsLeft);
            }
            return (JsonObject)_deployment.DeepClone();
        }
    }

    /// <summary>Pods as GET kube-system/pods would list them (labels k8s-app=kube-dns).</summary>
    internal IEnumerable<JsonObject> Pods()
    {
        if (!_exists) yield break;
        var available = _pollsLeft == 0;
        var nodes = _cluster.Nodes.Where(n => n.Ready).Select(n => n.Name).ToList();
        for (var i = 0; i < Replicas; i++)
            yield return FakeJson.Pod("kube-system", $"coredns-7c65d6cfc9-{i:x}{i + 10:x}k{i}q",
                new Dictionary<string, string> { ["k8s-app"] = "kube-dns" },
                available ? "Running" : "Pending", available, nodes.Count == 0 ? null : nodes[i % nodes.Count],
                available ? $"fd00:10:2:0:1::{i + 2:x}" : null);
    }

    private void SetStatus(bool available)
    {
        var desired = Replicas;
        var generation = Generation;
        var status = new JsonObject { ["observedGeneration"] = generation };
        if (available)
        {
            status["replicas"] = desired;
            status["updatedReplicas"] = desired;
            status["readyReplicas"] = desired;
            status["availableReplicas"] = desired;
        }
        else if (_rolling)
        {
            // RollingUpdate with maxSurge 25% (one pod): one new pod starting beside the old ones.
            status["replicas"] = desired + 1;
            status["updatedReplicas"] = 1;
            status["readyReplicas"] = desired;
            status["availableReplicas"] = desired;
            status["unavailableReplicas"] = 1;
        }
        else
        {
            status["replicas"] = desired;
            status["updatedReplicas"] = desired;
            status["unavailableReplicas"] = desired;
        }
        _deployment["status"] = status;
    }

    private string Next() => (++_resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
