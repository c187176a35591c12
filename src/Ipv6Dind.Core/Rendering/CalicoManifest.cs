// Checked against Calico's manifest install (manifests/calico.yaml of projectcalico/calico, and the public "Kubernetes on IPv6 only" guide's
// calico-ipv6.yaml derived from it): ConfigMap kube-system/calico-config holds the CNI network config template in
// data.cni_network_config (JSON with unquoted placeholders such as "mtu": __CNI_MTU__, so it is not parsed as JSON);
// DaemonSet kube-system/calico-node runs the container calico-node whose env drives IP/IP6 autodetection and the
// default pools; the images are docker.io/calico/{cni,node,kube-controllers}. The operator install
// (tigera-operator.yaml + an Installation resource) has neither and is refused by name.
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Rendering;

/// <summary>A user's calico.yaml made IPv6-only for one lab, and the images it needs.</summary>
public sealed record PreparedCalicoManifest
{
    /// <summary>The manifest to apply (multi-document YAML).</summary>
    public required string Content { get; init; }
    /// <summary>Every image its pods use (containers and init containers), in order of appearance.</summary>
    public required IReadOnlyList<string> Images { get; init; }
    /// <summary>What was changed, one line each (for -Verbose).</summary>
    public required IReadOnlyList<string> Changes { get; init; }
}

/// <summary>
/// Makes Calico's manifest install IPv6-only for a lab, as the public "Kubernetes on IPv6 only" guide does by hand: calico-node gets the IPv6 settings of
/// <see cref="CalicoRenderer.NodeEnvironmentVariables"/> (pool = the lab's pod supernet, block size), any IPv4 pool
/// CIDR is removed, and the CNI config's IPAM assigns IPv6 only. Everything else of the manifest is kept.
/// </summary>
public static partial class CalicoManifest
{
    /// <summary>Where the prepared manifest is put on the control-plane node (beside kubeadm.conf; every node image has /kind).</summary>
    public const string ContainerPath = "/kind/calico-ipv6.yaml";

    /// <summary>calico-node variables that describe IPv4 pools or IPv4 tunnels: set so that none is made.</summary>
    private static readonly (string Name, string Value)[] Ipv4Off = { ("CALICO_IPV4POOL_IPIP", "Never"), ("CALICO_IPV4POOL_VXLAN", "Never") };

    /// <exception cref="DindException">InvalidCalicoManifest: the text is not a manifest install of Calico.</exception>
    public static PreparedCalicoManifest Prepare(string yaml, CalicoOptions options, string source)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(options);
        var env = CalicoRenderer.NodeEnvironmentVariables(options);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw Invalid(source, $"is not valid YAML (line {ex.Start.Line}, column {ex.Start.Column}): {ex.InnerException?.Message ?? ex.Message}");
        }

        var documents = stream.Documents.Where(d => d.RootNode is YamlMappingNode).ToList();
        YamlMappingNode? daemonSet = null, configMap = null;
        foreach (var doc in documents)
        {
            var root = (YamlMappingNode)doc.RootNode;
            var kind = Scalar(root, "kind");
            var name = Scalar(Child(root, "metadata") as YamlMappingNode, "name");
            if (kind == "Installation" || (kind == "Deployment" && name == "tigera-operator"))
                throw Invalid(source, "is Calico's operator install (tigera-operator.yaml / Installation); New-DindCluster applies the manifest install, calico.yaml");
            if (kind == "DaemonSet" && name == "calico-node") daemonSet = root;
            if (kind == "ConfigMap" && name == "calico-config") configMap = root;
        }
        if (daemonSet is null) throw Invalid(source, "has no DaemonSet calico-node: it is not Calico's manifest install (calico.yaml)");
        if (configMap is null) throw Invalid(source, "has no ConfigMap calico-config: it is not Calico's manifest install (calico.yaml)");

        var changes = new List<string>();
        PatchCniConfig(configMap, source, changes);
        PatchNodeEnvironment(daemonSet, env, source, changes);
        var images = documents.SelectMany(d => PodImages((YamlMappingNode)d.RootNode)).Distinct(StringComparer.Ordinal).ToList();
        if (images.Count == 0) throw Invalid(source, "names no container image");

        var writer = new StringWriter { NewLine = "\n" };
        var first = true;
        foreach (var doc in stream.Documents)
        {
            if (!first) writer.Write("---\n");
            first = false;
            var single = new YamlStream(doc);
            var part = new StringWriter { NewLine = "\n" };
            single.Save(part, assignAnchors: false);
            // YamlStream.Save ends each document with "..." (an explicit end): kubectl reads that fine, but keep it plain.
            writer.Write(DocumentEnd().Replace(part.ToString(), "\n"));
        }
        return new PreparedCalicoManifest { Content = writer.ToString(), Images = images, Changes = changes };
    }

    private static void PatchCniConfig(YamlMappingNode configMap, string source, List<string> changes)
    {
        if (Child(configMap, "data") is not YamlMappingNode data || Child(data, "cni_network_config") is not YamlScalarNode cni || cni.Value is null)
            throw Invalid(source, "has no data.cni_network_config in ConfigMap calico-config");
        var ipam = IpamObject().Matches(cni.Value);
        if (ipam.Count != 1)
            throw Invalid(source, $"has {ipam.Count} \"ipam\" objects in calico-config's cni_network_config, not one");
        if (!CalicoIpamType().IsMatch(ipam[0].Value))
            throw Invalid(source, "does not use calico-ipam in its CNI config (host-local IPAM needs per-node ranges the lab does not give Calico)");
        var replacement = "\"ipam\": " + CalicoRenderer.IpamObject().ToJsonString();
        var text = cni.Value[..ipam[0].Index] + replacement + cni.Value[(ipam[0].Index + ipam[0].Length)..];
        configMap.Children[new YamlScalarNode("data")] = data;
        data.Children[new YamlScalarNode("cni_network_config")] = new YamlScalarNode(text) { Style = ScalarStyle.Literal };
        changes.Add($"calico-config cni_network_config: {replacement}");
    }

    private static void PatchNodeEnvironment(YamlMappingNode daemonSet, IReadOnlyList<(string Name, string Value)> env, string source, List<string> changes)
    {
        var container = Containers(daemonSet, "containers").FirstOrDefault(c => Scalar(c, "name") == "calico-node")
            ?? throw Invalid(source, "has no container calico-node in DaemonSet calico-node");
        if (Child(container, "env") is not YamlSequenceNode variables)
        {
            variables = new YamlSequenceNode();
            container.Children[new YamlScalarNode("env")] = variables;
        }
        foreach (var removed in variables.Children.OfType<YamlMappingNode>().Where(v => Scalar(v, "name") == "CALICO_IPV4POOL_CIDR").ToList())
        {
            variables.Children.Remove(removed);
            changes.Add("calico-node: CALICO_IPV4POOL_CIDR removed (no IPv4 pool)");
        }
        foreach (var (name, value) in env.Concat(Ipv4Off))
        {
            var entry = new YamlMappingNode(new YamlScalarNode("name"), new YamlScalarNode(name),
                new YamlScalarNode("value"), new YamlScalarNode(value) { Style = ScalarStyle.DoubleQuoted });
            var at = variables.Children.ToList().FindIndex(v => v is YamlMappingNode m && Scalar(m, "name") == name);
            if (at >= 0) variables.Children[at] = entry;
            else variables.Children.Add(entry);
            changes.Add($"calico-node: {name}={value}");
        }
    }

    /// <summary>The images of a workload's pod template (containers and init containers).</summary>
    private static IEnumerable<string> PodImages(YamlMappingNode root) =>
        new[] { "initContainers", "containers" }
            .SelectMany(key => Containers(root, key))
            .Select(c => Scalar(c, "image"))
            .Where(i => !string.IsNullOrWhiteSpace(i))
            .Select(i => i!.Trim());

    private static IEnumerable<YamlMappingNode> Containers(YamlMappingNode root, string key) =>
        Child(Child(Child(Child(root, "spec") as YamlMappingNode, "template") as YamlMappingNode, "spec") as YamlMappingNode, key) is YamlSequenceNode seq
            ? seq.Children.OfType<YamlMappingNode>()
            : Enumerable.Empty<YamlMappingNode>();

    private static YamlNode? Child(YamlMappingNode? map, string key) =>
        map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static string? Scalar(YamlMappingNode? map, string key) => (Child(map, key) as YamlScalarNode)?.Value;

    private static DindException Invalid(string source, string problem) =>
        new(ErrorIds.InvalidCalicoManifest, DindErrorCategory.InvalidData, $"CalicoManifest: {source} {problem}.", source, "CalicoManifest",
            "Give Calico's manifest install for your Calico version (manifests/calico.yaml of a Calico release), unchanged: the lab makes it IPv6-only.");

    [GeneratedRegex("\"ipam\"\\s*:\\s*\\{[^{}]*\\}")]
    private static partial Regex IpamObject();

    [GeneratedRegex("\"type\"\\s*:\\s*\"calico-ipam\"")]
    private static partial Regex CalicoIpamType();

    [GeneratedRegex("\\n\\.\\.\\.\\n*$")]
    private static partial Regex DocumentEnd();
}
