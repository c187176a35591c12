// Names checked against kubernetes/kubernetes: staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go
// (KubeProxyConfiguration.Conntrack `json:"conntrack"`, KubeProxyConntrackConfiguration.MaxPerCore *int32 `json:"maxPerCore"`),
// pkg/proxy/apis/config/v1alpha1/defaults.go (a nil maxPerCore becomes 32 * 1024) and cmd/kubeadm/app/constants
// (KubeProxyConfigMap "kube-proxy", KubeProxyConfigMapKey "config.conf"; kubeadm's DaemonSet is kube-proxy too).
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Spec;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Kubernetes;

/// <summary>
/// kube-proxy's configuration as kubeadm stores it: data["config.conf"] of ConfigMap kube-system/kube-proxy, one
/// KubeProxyConfiguration document, which kube-proxy reads only when it starts. Edits go through YamlDotNet's node
/// tree, not a typed model, so that every other field (kubeadm writes them all, most null or zero, and newer
/// Kubernetes adds more) keeps its value and its place.
/// </summary>
public static class KubeProxyConfig
{
    public const string ApiVersion = "kubeproxy.config.k8s.io/v1alpha1";
    public const string Kind = "KubeProxyConfiguration";
    public const string ConfigMapName = "kube-proxy";
    public const string ConfigKey = "config.conf";
    public const string DaemonSetName = "kube-proxy";

    /// <summary>How messages name the text by default.</summary>
    public const string DefaultSource = "ConfigMap kube-system/kube-proxy config.conf";

    private const string Conntrack = "conntrack";
    private const string MaxPerCoreKey = "maxPerCore";

    /// <summary>
    /// conntrack.maxPerCore as kube-proxy will use it: the value written, or kube-proxy's default 32768 when the key,
    /// its value or the whole conntrack section is absent or null (kubeadm writes "maxPerCore: null" unless told).
    /// Not a KubeProxyConfiguration of <see cref="ApiVersion"/>, or not YAML: KubeProxyConfigInvalid.
    /// </summary>
    public static int MaxPerCore(string configYaml, string source = DefaultSource)
    {
        var root = Load(configYaml, source);
        var conntrack = Section(root, source);
        if (conntrack is null || !conntrack.Children.TryGetValue(new YamlScalarNode(MaxPerCoreKey), out var value))
            return ConntrackHashsize.DefaultMaxPerCore;
        return Translate(() => YamlFile.Integer(value, source, $"{Conntrack}.{MaxPerCoreKey}")) ?? ConntrackHashsize.DefaultMaxPerCore;
    }

    /// <summary>
    /// The same configuration with conntrack.maxPerCore: 0 (kube-proxy then leaves nf_conntrack_max and the hashsize
    /// alone); every other field keeps its value and order. A missing or null conntrack section is created with just
    /// that key. Comments do not survive (kubeadm writes none).
    /// </summary>
    public static string WithZeroMaxPerCore(string configYaml, string source = DefaultSource)
    {
        var root = Load(configYaml, source);
        var zero = new YamlScalarNode("0");
        var key = new YamlScalarNode(Conntrack);
        if (Section(root, source) is { } conntrack)
            conntrack.Children[new YamlScalarNode(MaxPerCoreKey)] = zero;
        else if (root.Children.ContainsKey(key))
            root.Children[key] = new YamlMappingNode { { MaxPerCoreKey, zero } };
        else
        {
            // kubeadm (Go's YAML) writes the keys sorted: keep the new section where kubeadm would have put it.
            var at = root.Children.Keys.ToList().FindIndex(k => k is YamlScalarNode { Value: { } name } && string.CompareOrdinal(name, Conntrack) > 0);
            var section = new YamlMappingNode { { MaxPerCoreKey, zero } };
            if (at < 0) root.Children.Add(key, section);
            else root.Children.Insert(at, key, section);
        }
        return Kubeconfig.Save(root);
    }

    private static YamlMappingNode Load(string configYaml, string source)
    {
        var node = Translate(() => YamlFile.LoadSingleDocument(configYaml ?? "", source, "kube-proxy configuration"));
        if (node is not YamlMappingNode root)
            throw Invalid(source, $"its top level is {YamlFile.Describe(node)}, not a {Kind}.");
        var kind = Translate(() => root.Children.TryGetValue(new YamlScalarNode("kind"), out var k) ? YamlFile.Text(k, source, "kind") : null);
        var apiVersion = Translate(() => root.Children.TryGetValue(new YamlScalarNode("apiVersion"), out var v) ? YamlFile.Text(v, source, "apiVersion") : null);
        if (kind != Kind || apiVersion != ApiVersion)
            throw Invalid(source, $"it is apiVersion '{apiVersion}', kind '{kind}'; kube-proxy's configuration is apiVersion {ApiVersion}, kind {Kind} "
                + "(the only version whose conntrack settings this module knows where to find).");
        return root;
    }

    /// <summary>The conntrack mapping; null when absent or null.</summary>
    private static YamlMappingNode? Section(YamlMappingNode root, string source) =>
        root.Children.TryGetValue(new YamlScalarNode(Conntrack), out var node)
            ? Translate(() => YamlFile.Mapping(node, source, Conntrack))
            : null;

    /// <summary>YamlFile's readers say what is wrong and where (file:line); here that is kube-proxy's configuration, not a spec file.</summary>
    private static T Translate<T>(Func<T> read)
    {
        try { return read(); }
        catch (DindException e) when (e.ErrorId == ErrorIds.SpecFileInvalid)
        {
            throw new DindException(ErrorIds.KubeProxyConfigInvalid, e.Category, e.Message, e.Target, null, Remedy, e);
        }
    }

    private static DindException Invalid(string source, string problem) =>
        new(ErrorIds.KubeProxyConfigInvalid, DindErrorCategory.InvalidData, $"{source}: {problem}", source, null, Remedy);

    private const string Remedy =
        "kubectl -n kube-system edit configmap kube-proxy: config.conf must hold one KubeProxyConfiguration "
        + $"(apiVersion {ApiVersion}), as kubeadm writes it; conntrack.maxPerCore is a whole number or null.";
}
