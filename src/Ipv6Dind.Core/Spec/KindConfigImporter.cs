using System.Net;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Rendering;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Spec;

/// <summary>
/// Turns a kind cluster config (<c>kind: Cluster</c>, <c>apiVersion: kind.x-k8s.io/v1alpha4</c>) into a spec.
/// <para>
/// Format read from kubernetes-sigs/kind: <c>pkg/apis/config/v1alpha4/types.go</c> (Cluster, Node, Networking,
/// Mount, PortMapping, PatchJSON6902 and their yaml tags), <c>default.go</c> (no nodes: one control plane; ipFamily
/// defaults to ipv4; the IPv6 pod subnet a /56 because each node takes a /64), <c>pkg/internal/apis/config/validate.go</c>
/// (roles control-plane and worker, at least one control plane; ipFamily ipv4, ipv6 or dual; kubeProxyMode
/// iptables, ipvs, nftables or none), <c>pkg/internal/apis/config/encoding/load.go</c> (v1alpha4 is the only version,
/// decoded strictly: an unknown field is an error) and the configuration page of its documentation.
/// </para>
/// <para>
/// What the spec carries is mapped; what Ipv6Dind cannot honour is an error (anything but ipFamily ipv6, more than one
/// control plane, nodes on different images); what it does not do (yet) is a warning naming the field and line:
/// the API server's host address and port, kube-proxy modes other than iptables, disableDefaultCNI, dnsSearch, and
/// the fields carried in the spec but not applied to the containers (extraMounts, extraPortMappings,
/// containerdConfigPatches). kubeadm patches that can never match a document Ipv6Dind renders are warnings too.
/// </para>
/// </summary>
public static class KindConfigImporter
{
    public const string ApiVersion = "kind.x-k8s.io/v1alpha4";
    public const string Kind = "Cluster";

    /// <summary>Name when neither the config nor -ClusterName gives one: kind's own default.</summary>
    public const string DefaultClusterName = "kind";

    private const string ControlPlaneRole = "control-plane";
    private const string WorkerRole = "worker";

    private static readonly string[] TopFields =
    {
        "kind", "apiVersion", "name", "nodes", "networking", "featureGates", "runtimeConfig", "kubeadmConfigPatches",
        "kubeadmConfigPatchesJSON6902", "containerdConfigPatches", "containerdConfigPatchesJSON6902",
    };
    private static readonly string[] NodeFields = { "role", "image", "labels", "extraMounts", "extraPortMappings", "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902" };
    private static readonly string[] NetworkingFields = { "ipFamily", "apiServerPort", "apiServerAddress", "podSubnet", "serviceSubnet", "disableDefaultCNI", "kubeProxyMode", "dnsSearch" };
    private static readonly string[] Json6902Fields = KindYaml.Json6902Fields.Concat(new[] { "name", "namespace" }).ToArray();

    /// <summary>Imports the text of a kind config.</summary>
    /// <param name="yaml">The file's text.</param>
    /// <param name="sourceName">What to call it in messages: usually the path.</param>
    /// <param name="clusterName">The cluster name; by default the config's name, else kind's "kind".</param>
    public static SpecImportResult Import(string yaml, string sourceName, string? clusterName = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var source = string.IsNullOrWhiteSpace(sourceName) ? "<kind config>" : sourceName;
        var top = YamlFile.LoadTopMapping(yaml, source, "kind config", "a Cluster object", $"A kind config starts with 'kind: {Kind}' and 'apiVersion: {ApiVersion}'.");

        var warnings = new List<(long Line, string Text)>();
        var reader = new Reader(source, warnings);
        var fields = new Dictionary<string, (YamlNode KeyNode, YamlNode Value)>(StringComparer.Ordinal);
        foreach (var (key, keyNode, value) in YamlFile.Entries(top, source, ""))
            fields[key] = (keyNode, value);
        // Identity first, so that another kind of file is named as such rather than reported field by field.
        CheckIdentity(fields, top, reader, "apiVersion", ApiVersion);
        CheckIdentity(fields, top, reader, "kind", Kind);
        foreach (var (key, (keyNode, _)) in fields.Where(f => !TopFields.Contains(f.Key, StringComparer.Ordinal)))
            throw YamlFile.Unknown(source, keyNode, "", key, TopFields);
        YamlNode? Field(string key) => fields.TryGetValue(key, out var f) && !YamlFile.IsNull(f.Value) ? f.Value : null;
        YamlNode KeyOf(string key) => fields[key].KeyNode;

        var spec = SpecYaml.Blank();

        // Networking first: a config Ipv6Dind cannot build at all is refused before anything else is said about it.
        ReadNetworking(fields.TryGetValue("networking", out var net) ? net : null, top, spec, reader);

        var name = Field("name") is { } nameNode ? reader.Text(nameNode, "name") : null;
        if (clusterName is null && name is { Length: > 0 } && SpecValidator.ClusterNameProblem(name) is { } nameProblem)
            throw new DindException(ErrorIds.InvalidClusterName, DindErrorCategory.InvalidArgument,
                $"{reader.At(Field("name")!)}: name '{name}' cannot name an Ipv6Dind lab: {nameProblem} Give -ClusterName, e.g. -ClusterName lab.",
                name, "name", "Give -ClusterName with 1 to 32 lowercase letters, digits and hyphens, starting with a letter.");
        spec.ClusterName = clusterName ?? (string.IsNullOrEmpty(name) ? DefaultClusterName : name);

        ReadNodes(Field("nodes"), fields.TryGetValue("nodes", out var nodes) ? nodes.KeyNode : top, spec, reader);

        if (Field("featureGates") is { } gates)
            foreach (var (gate, _, value) in KindYaml.Map(gates, source, "featureGates"))
                spec.FeatureGates[gate] = YamlFile.Boolean(value, source, $"featureGates.{gate}", yaml11: true) ?? false;
        if (Field("runtimeConfig") is { } runtimeConfig)
            spec.RuntimeConfig = KindYaml.TextMap(runtimeConfig, source, "runtimeConfig");
        if (Field("kubeadmConfigPatches") is { } patches)
            spec.KubeadmConfigPatches = reader.MergePatches(patches, "kubeadmConfigPatches", role: null);
        if (Field("kubeadmConfigPatchesJSON6902") is { } jsonPatches)
            spec.KubeadmConfigPatchesJson6902 = reader.JsonPatches(jsonPatches, "kubeadmConfigPatchesJSON6902", role: null);
        if (Field("containerdConfigPatches") is { } containerd)
        {
            spec.ContainerdConfigPatches = reader.Texts(containerd, "containerdConfigPatches").Select(t => t.Text).ToList();
            if (spec.ContainerdConfigPatches.Count > 0)
                reader.Warn(KeyOf("containerdConfigPatches"),
                    $"containerdConfigPatches ({spec.ContainerdConfigPatches.Count}): carried in the spec but not applied yet: Ipv6Dind does not patch its nodes' containerd configuration.");
        }
        if (Field("containerdConfigPatchesJSON6902") is { } containerdJson && reader.Texts(containerdJson, "containerdConfigPatchesJSON6902").Count > 0)
            reader.Warn(KeyOf("containerdConfigPatchesJSON6902"),
                "containerdConfigPatchesJSON6902: not carried: Ipv6Dind does not patch its nodes' containerd configuration; ignored.");

        return new SpecImportResult(spec, warnings.OrderBy(w => w.Line).Select(w => w.Text).ToList());
    }

    private static void CheckIdentity(Dictionary<string, (YamlNode KeyNode, YamlNode Value)> fields, YamlMappingNode top, Reader reader, string field, string expected)
    {
        const string Valid = $"Import-DindClusterSpec reads kind configs with 'kind: {Kind}' and 'apiVersion: {ApiVersion}', the only version kind itself reads.";
        if (!fields.TryGetValue(field, out var entry) || YamlFile.IsNull(entry.Value))
            throw YamlFile.Invalid(reader.Source, top.Start, $"{field} is missing, so this is not a kind config.", Valid, field: field);
        var actual = reader.Text(entry.Value, field);
        if (actual != expected)
            throw YamlFile.Invalid(reader.Source, entry.Value.Start, $"{field} is '{actual}', not '{expected}'.", Valid, target: actual, field: field);
    }

    private static void ReadNetworking((YamlNode KeyNode, YamlNode Value)? networking, YamlMappingNode top, DindClusterSpec spec, Reader reader)
    {
        var source = reader.Source;
        var values = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        var map = networking is { } n ? YamlFile.Mapping(n.Value, source, "networking") : null;
        if (map is not null)
        {
            foreach (var (key, keyNode, value) in YamlFile.Entries(map, source, "networking"))
            {
                if (!NetworkingFields.Contains(key, StringComparer.Ordinal)) throw YamlFile.Unknown(source, keyNode, "networking", key, NetworkingFields);
                if (!YamlFile.IsNull(value)) values[key] = value;
            }
        }

        // ipFamily: kind builds ipv4 (its default), ipv6 and dual; Ipv6Dind only the second.
        const string OnlyIpv6 = "Only 'ipFamily: ipv6' under networking can be imported; kind itself builds ipv4 and dual-stack clusters.";
        if (!values.TryGetValue("ipFamily", out var familyNode))
            throw reader.Refused(networking?.KeyNode ?? top, "networking.ipFamily", "",
                "is not set, and kind's default is ipv4; Ipv6Dind builds IPv6-only labs (their nodes reach IPv4 through DNS64 and NAT64).", OnlyIpv6);
        var family = reader.Text(familyNode, "networking.ipFamily");
        if (family != "ipv6")
            throw reader.Refused(familyNode, "networking.ipFamily", family,
                family switch
                {
                    "ipv4" => "Ipv6Dind builds IPv6-only labs (their nodes reach IPv4 through DNS64 and NAT64); an IPv4 cluster is out of its scope.",
                    "dual" => "Ipv6Dind builds IPv6-only labs (their nodes reach IPv4 through DNS64 and NAT64); a dual-stack cluster is out of its scope.",
                    _ => "it is not one of kind's ipFamily values (ipv4, ipv6, dual, in lowercase), and Ipv6Dind builds IPv6-only labs.",
                }, OnlyIpv6);

        if (values.TryGetValue("podSubnet", out var podNode))
        {
            var pods = reader.Subnet(podNode, "networking.podSubnet", "pod subnet", ErrorIds.InvalidPodPrefix, "fd00:10:244::/56");
            spec.PodPrefix = pods.ToString();
            // kind sets no node mask: the controller manager's IPv6 default gives each node a /64 (hence kind's /56 default).
            if (pods.Length < KindNodePrefixLength)
                spec.PodNodePrefixLength = KindNodePrefixLength;
            else
                reader.Warn(podNode, $"networking.podSubnet {pods}: in kind each node takes a /{KindNodePrefixLength} of the pod subnet (the controller manager's default), which a /{pods.Length} cannot hold; Ipv6Dind gives each node a /{SpecDefaults.DefaultPodNodePrefixLength} of it instead.");
        }
        if (values.TryGetValue("serviceSubnet", out var serviceNode))
            spec.ServicePrefix = reader.Subnet(serviceNode, "networking.serviceSubnet", "service subnet", ErrorIds.InvalidServicePrefix, "fd00:10:96::/112").ToString();

        if (values.TryGetValue("apiServerPort", out var portNode))
        {
            var port = YamlFile.Integer(portNode, source, "networking.apiServerPort");
            reader.Warn(portNode, $"networking.apiServerPort {port}: not carried: Ipv6Dind publishes the API server on [::1] at a port Docker picks (Get-DindKubeconfig points at it).");
        }
        if (values.TryGetValue("apiServerAddress", out var addressNode))
        {
            var address = reader.Text(addressNode, "networking.apiServerAddress");
            if (!(IPAddress.TryParse(address.Trim('[', ']'), out var ip) && ip.Equals(IPAddress.IPv6Loopback)))
                reader.Warn(addressNode, $"networking.apiServerAddress '{address}': not carried: Ipv6Dind publishes the API server on the host's [::1] only.");
        }
        if (values.TryGetValue("disableDefaultCNI", out var cniNode) && YamlFile.Boolean(cniNode, source, "networking.disableDefaultCNI", yaml11: true) == true)
            reader.Warn(cniNode, "networking.disableDefaultCNI: not carried: Ipv6Dind always sets up a CNI (bridge unless the spec says ptp or calico; New-DindCluster -Cni).");
        if (values.TryGetValue("kubeProxyMode", out var proxyNode))
        {
            var mode = reader.Text(proxyNode, "networking.kubeProxyMode");
            if (mode is "ipvs" or "nftables" or "none")
                reader.Warn(proxyNode, $"networking.kubeProxyMode '{mode}': not carried: Ipv6Dind's kube-proxy runs in iptables mode.");
            else if (mode != "iptables")
                throw reader.Refused(proxyNode, "networking.kubeProxyMode", mode, "it is not one of kind's kube-proxy modes.", "Use iptables (what Ipv6Dind runs), or leave it out.");
        }
        if (values.TryGetValue("dnsSearch", out var searchNode))
        {
            var domains = YamlFile.TextList(searchNode, source, "networking.dnsSearch") ?? Array.Empty<string>();
            reader.Warn(searchNode, $"networking.dnsSearch [{string.Join(", ", domains)}]: not carried: Ipv6Dind's nodes resolve through its DNS64 server with the search domains Docker gives them.");
        }
    }

    /// <summary>kube-controller-manager's default node-cidr-mask-size-ipv6, which kind leaves in place.</summary>
    private const int KindNodePrefixLength = 64;

    private static void ReadNodes(YamlNode? nodesNode, YamlNode nodesKey, DindClusterSpec spec, Reader reader)
    {
        var source = reader.Source;
        var nodes = new List<(string Role, string? Image, YamlNode Node, DindNodeSettings Settings, int Position)>();
        if (nodesNode is not null)
        {
            if (nodesNode is not YamlSequenceNode seq)
                throw YamlFile.Invalid(source, nodesNode.Start, $"nodes is {YamlFile.Describe(nodesNode)}, but it takes a list of nodes.",
                    "Write e.g. 'nodes:' then '- role: control-plane' and '- role: worker'.", field: "nodes");
            for (var i = 0; i < seq.Children.Count; i++)
                nodes.Add(ReadNode(seq.Children[i], i, reader));
        }
        // kind's default: one control-plane node.
        if (nodes.Count == 0)
        {
            spec.Nodes = 1;
            return;
        }

        var controlPlanes = nodes.Where(n => n.Role == ControlPlaneRole).ToList();
        if (controlPlanes.Count == 0)
            throw reader.Refused(nodesKey, "nodes", "", "no node has 'role: control-plane'; kind needs one and so does Ipv6Dind.",
                "Give exactly one node 'role: control-plane' (a node without a role is one).");
        if (controlPlanes.Count > 1)
            throw reader.Refused(controlPlanes[1].Node, $"nodes[{controlPlanes[1].Position}].role", ControlPlaneRole,
                $"a second control-plane node: Ipv6Dind builds a single control plane (nodes[{controlPlanes[0].Position}]); HA control planes are not supported yet.",
                "Keep one node with 'role: control-plane' and make the others 'role: worker'.");

        // One image for the lab: a node without one would run kind's default image, so that counts as another.
        var first = nodes[0];
        foreach (var node in nodes.Skip(1).Where(n => n.Image != first.Image))
        {
            string Says(string? image) => image is null ? "has no image (kind's default)" : $"has image '{image}'";
            throw reader.Refused(node.Node, $"nodes[{node.Position}].image", node.Image ?? "",
                $"nodes[{node.Position}] {Says(node.Image)} but nodes[0] {Says(first.Image)}: Ipv6Dind runs one node image for the whole lab.",
                "Give every node the same image, or none (the module's own node image).");
        }
        spec.NodeImage = first.Image ?? "";

        // Ipv6Dind's numbering: the control plane is node 1, the workers follow in the order of the file.
        var ordered = controlPlanes.Concat(nodes.Where(n => n.Role == WorkerRole)).ToList();
        spec.Nodes = ordered.Count;
        for (var i = 0; i < ordered.Count; i++)
        {
            var settings = ordered[i].Settings;
            settings.Node = i + 1;
            if (settings.ExtraMounts.Count > 0 || settings.ExtraPortMappings.Count > 0)
                reader.Warn(ordered[i].Node,
                    $"nodes[{ordered[i].Position}] ({spec.ClusterName}-node-{i + 1}): {(settings.ExtraMounts.Count > 0 ? $"extraMounts ({settings.ExtraMounts.Count})" : "")}{(settings.ExtraMounts.Count > 0 && settings.ExtraPortMappings.Count > 0 ? " and " : "")}{(settings.ExtraPortMappings.Count > 0 ? $"extraPortMappings ({settings.ExtraPortMappings.Count})" : "")} carried in the spec (nodeSettings, node {i + 1}) but not applied yet: Ipv6Dind does not mount host paths into its node containers or publish their ports.");
            if (!settings.IsEmpty()) spec.NodeSettings.Add(settings);
        }
    }

    private static (string Role, string? Image, YamlNode Node, DindNodeSettings Settings, int Position) ReadNode(YamlNode item, int position, Reader reader)
    {
        var source = reader.Source;
        var at = $"nodes[{position}]";
        var settings = new DindNodeSettings();
        var role = ControlPlaneRole;
        string? image = null;
        var map = YamlFile.Mapping(item, source, at);
        if (map is null) return (role, image, item, settings, position);
        YamlNode? patches = null, jsonPatches = null;
        foreach (var (key, keyNode, value) in YamlFile.Entries(map, source, at))
        {
            var path = $"{at}.{key}";
            if (YamlFile.IsNull(value) && NodeFields.Contains(key, StringComparer.Ordinal)) continue;
            switch (key)
            {
                case "role":
                    role = reader.Text(value, path);
                    if (role is not (ControlPlaneRole or WorkerRole))
                        throw reader.Refused(value, path, role, "it is not a kind node role.", "Use control-plane or worker.");
                    break;
                case "image": image = reader.Text(value, path) is { Length: > 0 } i ? i : null; break;
                case "labels": settings.Labels = KindYaml.TextMap(value, source, path); break;
                case "extraMounts": settings.ExtraMounts = KindYaml.Mounts(value, source, path, yaml11: true); break;
                case "extraPortMappings": settings.ExtraPortMappings = KindYaml.PortMappings(value, source, path); break;
                case "kubeadmConfigPatches": patches = value; break;
                case "kubeadmConfigPatchesJSON6902": jsonPatches = value; break;
                default: throw YamlFile.Unknown(source, keyNode, at, key, NodeFields);
            }
        }
        // After the role, which decides what a patch of this node can reach.
        if (patches is not null) settings.KubeadmConfigPatches = reader.MergePatches(patches, $"{at}.kubeadmConfigPatches", role);
        if (jsonPatches is not null) settings.KubeadmConfigPatchesJson6902 = reader.JsonPatches(jsonPatches, $"{at}.kubeadmConfigPatchesJSON6902", role);
        return (role, image, item, settings, position);
    }

    /// <summary>Why a patch of <paramref name="kind"/> and <paramref name="apiVersion"/> can never change what kubeadm reads, or null.</summary>
    private static string? NeverApplies(string kind, string apiVersion, string? role)
    {
        if (kind.Length == 0)
            return "has no kind, so it patches nothing (patches apply to the documents of their kind).";
        if (!KubeadmPatches.RenderedKinds.TryGetValue(kind, out var versions))
            return $"patches {kind}, which a kubeadm configuration does not hold ({string.Join(", ", KubeadmPatches.RenderedKinds.Keys)}), so it patches nothing.";
        if (apiVersion.Length > 0 && !versions.Contains(apiVersion, StringComparer.Ordinal))
            return $"names {apiVersion}, which Ipv6Dind never renders for a {kind} ({string.Join(" or ", versions)}), so it patches nothing.";
        if (role == WorkerRole && kind != "JoinConfiguration")
            return $"patches the {kind} of a worker, but kubeadm join reads only the JoinConfiguration (the control plane's settings reach the workers), so it changes nothing.";
        if (role == ControlPlaneRole && kind == "JoinConfiguration")
            return "patches the JoinConfiguration of the control plane, which kubeadm init does not read, so it changes nothing.";
        return null;
    }

    /// <summary>The shared reading helpers, warnings kept with their line so that they come out in file order.</summary>
    private sealed class Reader : ImportReader
    {
        private readonly List<(long Line, string Text)> _lines;

        public Reader(string source, List<(long Line, string Text)> lines) : base(source, new List<string>()) => _lines = lines;

        public override void Warn(YamlNode node, string text) => _lines.Add((YamlFile.Line(node.Start), $"{At(node)}: {text}"));

        /// <summary>One IPv6 prefix; kind's comma-separated pair is its dual-stack form.</summary>
        public Ipv6Prefix Subnet(YamlNode node, string path, string what, string errorId, string example)
        {
            var text = Text(node, path);
            if (text.Contains(','))
                throw Refused(node, path, text, $"two {what}s are kind's dual-stack form; Ipv6Dind builds IPv6-only labs.", $"Give one IPv6 prefix, e.g. {example}.");
            return ParsePrefix(text, node, path, errorId, example, $"an IPv4 {what} is for kind's ipv4 clusters; Ipv6Dind builds IPv6-only labs.");
        }

        /// <summary>A list of texts with the node of each (for the line).</summary>
        public List<(string Text, YamlNode Node)> Texts(YamlNode node, string path)
        {
            if (YamlFile.IsNull(node)) return new();
            if (node is not YamlSequenceNode seq)
                throw YamlFile.Invalid(Source, node.Start, $"{path} is {YamlFile.Describe(node)}, but it takes a list.",
                    $"Write a list, e.g. '{path.Split('.')[^1]}:' then '- |' and the text indented below it.", target: path, field: path);
            return seq.Children.Select((item, i) => (YamlFile.Text(item, Source, $"{path}[{i}]") ?? "", item)).ToList();
        }

        public List<string> MergePatches(YamlNode node, string path, string? role)
        {
            var patches = Texts(node, path);
            for (var i = 0; i < patches.Count; i++)
            {
                IReadOnlyList<KubeadmPatches.MergePatch> parsed;
                try { parsed = KubeadmPatches.ParseMerge(patches[i].Text); }
                catch (FormatException ex)
                {
                    throw Bad(ErrorIds.InvalidKubeadmPatch, patches[i].Node, $"{path}[{i}]", "", $"is not a merge patch: {ex.Message}",
                        "Write each patch as a YAML mapping with the kind it patches, e.g. '- |' then 'kind: ClusterConfiguration' and the fields to set.");
                }
                foreach (var patch in parsed)
                    if (NeverApplies(patch.Kind, patch.ApiVersion, role) is { } why)
                        Warn(patches[i].Node, $"{path}[{i}]{(patch.Kind.Length > 0 ? $" ({patch.Kind})" : "")} {why}");
            }
            return patches.Select(p => p.Text).ToList();
        }

        public List<KubeadmJson6902Patch> JsonPatches(YamlNode node, string path, string? role)
        {
            var entries = KindYaml.Json6902(node, Source, path, (key, value, fieldPath) =>
            {
                if (key is not ("name" or "namespace")) return false;
                Warn(value, $"{fieldPath}: not carried: kind ignores it too (patches match by group, version and kind).");
                return true;
            }, Json6902Fields);
            var result = new List<KubeadmJson6902Patch>();
            foreach (var (entry, i) in entries.Select((e, i) => (e, i)))
            {
                var (patch, itemPath) = (entry.Patch, $"{path}[{i}]");
                try { KubeadmPatches.ParseJson6902(patch); }
                catch (FormatException ex)
                {
                    throw Bad(ErrorIds.InvalidKubeadmPatch, entry.PatchNode ?? entry.Node, $"{itemPath}.patch", "", $"is not an RFC 6902 patch: {ex.Message}",
                        "Write a list of operations, e.g. '- op: add', '  path: /apiServer/certSANs/-', '  value: my-hostname'.");
                }
                if (NeverApplies(patch.Kind, patch.ApiVersion, role) is { } why)
                    Warn(entry.Node, $"{itemPath} ({(patch.Kind.Length > 0 ? $"{patch.Kind} " : "")}{patch.ApiVersion}) {why}");
                result.Add(patch);
            }
            return result;
        }
    }
}
