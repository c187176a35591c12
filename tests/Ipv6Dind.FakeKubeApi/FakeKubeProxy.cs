using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Ipv6Dind.FakeKubeApi;

/// <summary>
/// ConfigMap and DaemonSet kube-system/kube-proxy as kubeadm's addon phase leaves them. config.conf is
/// <see cref="KubeadmConfig"/>: what kubeadm 1.31 writes for an IPv6 control plane given no KubeProxyConfiguration,
/// reconstructed from the v1alpha1 type (staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go) and published
/// `kubectl -n kube-system get configmap kube-proxy` dumps of 1.30/1.31 clusters: every field, mostly null or zero,
/// keys sorted, conntrack.maxPerCore null (which kube-proxy reads as its default, 32768). The DaemonSet counts its
/// PATCHes; a changed pod template (a restart) bumps metadata.generation.
/// </summary>
public sealed partial class FakeKubeProxy
{
    public const string ConfigKey = "config.conf";

    /// <summary>kubeadm's config.conf (a `|-` block in the ConfigMap: no final newline).</summary>
    public static string KubeadmConfig { get; } = FakeResources.Read("kubeadm-kube-proxy-config.conf").TrimEnd('\n');

    private readonly FakeCluster _cluster;
    private readonly FakeConfigMap _configMap;
    private JsonObject _daemonSet;
    private int _resourceVersion = 2000;
    private bool _daemonSetExists = true;

    internal FakeKubeProxy(FakeCluster cluster)
    {
        _cluster = cluster;
        _configMap = new FakeConfigMap(cluster.Gate, "kube-proxy", new Dictionary<string, string>
        {
            [ConfigKey] = KubeadmConfig,
            ["kubeconfig.conf"] = """
                apiVersion: v1
                kind: Config
                clusters:
                - cluster:
                    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
                    server: https://[fd00:10:1::2]:6443
                  name: default
                contexts:
                - context:
                    cluster: default
                    namespace: default
                    user: default
                  name: default
                current-context: default
                users:
                - name: default
                  user:
                    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
                """,
        }, Next);
        _daemonSet = FakeJson.KubeProxyDaemonSet(cluster.KubernetesVersion);
        _daemonSet["metadata"]!["resourceVersion"] = Next();
    }

    /// <summary>False: GET and PATCH of the ConfigMap answer 404 (a cluster made with kubeadm's kube-proxy addon skipped).</summary>
    public bool ConfigMapExists
    {
        get => _configMap.Exists;
        set => _configMap.Exists = value;
    }

    /// <summary>False: GET and PATCH of the DaemonSet answer 404.</summary>
    public bool DaemonSetExists
    {
        get { lock (_cluster.Gate) return _daemonSetExists; }
        set { lock (_cluster.Gate) _daemonSetExists = value; }
    }

    /// <summary>data["config.conf"] as stored now.</summary>
    public string? Config
    {
        get => _configMap[ConfigKey];
        set => _configMap[ConfigKey] = value;
    }

    /// <summary>
    /// conntrack.maxPerCore of <see cref="Config"/> as written (null: "null" or absent, kube-proxy's 32768). Setting it
    /// rewrites that one line of kubeadm's layout ("  maxPerCore: ..." under conntrack).
    /// </summary>
    public int? MaxPerCore
    {
        get
        {
            var match = MaxPerCoreLine().Match(Config ?? "");
            return match.Success && int.TryParse(match.Groups["value"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;
        }
        set
        {
            lock (_cluster.Gate)
            {
                var config = Config ?? "";
                if (!MaxPerCoreLine().IsMatch(config))
                    throw new InvalidOperationException("The fake's config.conf has no '  maxPerCore:' line under conntrack to set.");
                var text = value?.ToString(CultureInfo.InvariantCulture) ?? "null";
                Config = MaxPerCoreLine().Replace(config, m => m.Groups["indent"].Value + "maxPerCore: " + text, 1);
            }
        }
    }

    /// <summary>The pod template's kubectl.kubernetes.io/restartedAt annotation; null until restarted.</summary>
    public string? RestartedAt
    {
        get { lock (_cluster.Gate) return FakeJson.RestartedAt(_daemonSet); }
    }

    public long Generation
    {
        get { lock (_cluster.Gate) return (long)_daemonSet["metadata"]!["generation"]!; }
    }

    /// <summary>Times the ConfigMap and the DaemonSet were changed through PATCH.</summary>
    public int ConfigMapPatches => _configMap.Patches;
    public int DaemonSetPatches { get; private set; }

    internal JsonObject? GetConfigMap() => _configMap.Get();

    internal JsonObject? PatchConfigMap(JsonNode patch) => _configMap.Patch(patch);

    internal JsonObject? GetDaemonSet()
    {
        lock (_cluster.Gate)
        {
            if (!_daemonSetExists) return null;
            // One pod per Ready node, all of the latest template (the fake's rollouts are instant).
            var pods = _cluster.Nodes.Count(n => n.Ready);
            _daemonSet["status"] = new JsonObject
            {
                ["observedGeneration"] = Generation,
                ["desiredNumberScheduled"] = pods,
                ["currentNumberScheduled"] = pods,
                ["updatedNumberScheduled"] = pods,
                ["numberReady"] = pods,
                ["numberAvailable"] = pods,
                ["numberMisscheduled"] = 0,
            };
            return (JsonObject)_daemonSet.DeepClone();
        }
    }

    internal JsonObject? PatchDaemonSet(JsonNode patch)
    {
        lock (_cluster.Gate)
        {
            if (!_daemonSetExists) return null;
            var spec = _daemonSet["spec"]!.ToJsonString();
            if (!JsonMergePatch.ApplyTo(ref _daemonSet, patch, Next)) return (JsonObject)_daemonSet.DeepClone();
            DaemonSetPatches++;
            if (_daemonSet["spec"]!.ToJsonString() != spec) _daemonSet["metadata"]!["generation"] = Generation + 1;
            return (JsonObject)_daemonSet.DeepClone();
        }
    }

    [GeneratedRegex(@"^(?<indent>[ ]+)maxPerCore:[ ]*(?<value>[^\n]*)$", RegexOptions.Multiline)]
    private static partial Regex MaxPerCoreLine();

    private string Next() => (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
}
