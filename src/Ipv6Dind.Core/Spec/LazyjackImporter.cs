using System.Net;
using System.Net.Sockets;
using Ipv6Dind.Core.Addressing;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Spec;

/// <summary>
/// Turns a Lazyjack <c>config.yaml</c> (pmichali/lazyjack, the bare-metal IPv6 Kubernetes provisioner) into a spec.
/// <para>
/// Format read from pmichali/lazyjack: <c>config.go</c> (the Config/GeneralSettings/ManagementNetwork/PodNetwork/
/// DNS64Config/NAT64Config/Node structs and their yaml tags), <c>validate.go</c> (ValidateNetworkMode: mode defaults
/// to ipv6; ValidatePlugin: the deprecated top-level 'plugin' wins; ValidateNodeOpModes/ValidateOpModesForAllNodes:
/// master/minion/dns64/nat64, exactly one master; CalculateDerivedFields: the node pod subnet is the pod CIDR's
/// length + 8, cidr2 only in dual-stack; ValidateDNS64Fields: allow_ipv6_use is the deprecated allow_aaaa_use),
/// <c>plugin.go</c> (BuildPodSubnetPrefix: node id N → the N-th sub-prefix), README.md and sample-config.yaml
/// (the older pod_net prefix/size and dns64 prefix/prefix_size forms, mgmt_net subnet/size of the Orca days).
/// </para>
/// <para>
/// Lazyjack's go-yaml v2 ignored unknown keys; here they are warnings, as are the keys that only make sense on bare
/// metal (interfaces, tokens, the support network). Values Ipv6Dind cannot honour (an IPv4 or dual-stack mode, a
/// topology without a master) are errors naming the key path and line.
/// </para>
/// </summary>
public static class LazyjackImporter
{
    /// <summary>Name when none is given: Lazyjack configs carry no cluster name.</summary>
    public const string DefaultClusterName = "lazyjack";

    private static readonly string[] RootKeys = { "plugin", "general", "topology", "support_net", "mgmt_net", "pod_net", "service_net", "nat64", "dns64" };
    private static readonly string[] NodeKeys = { "interface", "id", "opmodes" };
    private static readonly Dictionary<string, string[]> SectionKeys = new(StringComparer.Ordinal)
    {
        ["general"] = new[] { "mode", "plugin", "token", "token-cert-hash", "work-area", "kubernetes-version", "insecure" },
        ["support_net"] = new[] { "cidr", "v4cidr", "subnet", "size" },
        ["mgmt_net"] = new[] { "cidr", "cidr2", "subnet", "size" },
        ["pod_net"] = new[] { "cidr", "cidr2", "mtu", "prefix", "size" },
        ["service_net"] = new[] { "cidr" },
        ["nat64"] = new[] { "v4_cidr", "v4_ip", "ip" },
        ["dns64"] = new[] { "remote_server", "cidr", "ip", "allow_aaaa_use", "allow_ipv6_use", "prefix", "prefix_size" },
    };

    /// <summary>Keys read and reported but not carried over: why, per key path.</summary>
    private static readonly Dictionary<string, string> NotCarried = new(StringComparer.Ordinal)
    {
        ["general.token"] = "the kubeadm join token of Lazyjack's init step; Ipv6Dind's kubeadm phase makes its own",
        ["general.token-cert-hash"] = "the CA hash of Lazyjack's init step; Ipv6Dind's kubeadm phase makes its own",
        ["general.work-area"] = "Lazyjack's scratch directory on each host",
        ["general.insecure"] = "skips Lazyjack's init step; Ipv6Dind needs none",
        ["support_net.cidr"] = "Ipv6Dind puts DNS64 and NAT64 on the management network (::100 and ::200), so there is no support network",
        ["support_net.subnet"] = "Ipv6Dind puts DNS64 and NAT64 on the management network (::100 and ::200), so there is no support network",
        ["support_net.size"] = "Ipv6Dind puts DNS64 and NAT64 on the management network (::100 and ::200), so there is no support network",
        ["support_net.v4cidr"] = "Ipv6Dind's NAT64 container needs no IPv4 support network, only the pool (nat64.v4_cidr)",
        ["nat64.v4_ip"] = "Ipv6Dind gives tayga the IPv4 address just below its pool",
        ["nat64.ip"] = "Ipv6Dind's NAT64 sits at ::200 of the management network",
        ["dns64.ip"] = "Ipv6Dind's DNS64 sits at ::100 of the management network",
    };

    /// <summary>Imports the text of a Lazyjack config.yaml.</summary>
    /// <param name="yaml">The file's text.</param>
    /// <param name="sourceName">What to call it in messages: usually the path.</param>
    /// <param name="clusterName">The cluster name; Lazyjack has none, so <see cref="DefaultClusterName"/> by default.</param>
    public static SpecImportResult Import(string yaml, string sourceName, string? clusterName = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var source = string.IsNullOrWhiteSpace(sourceName) ? "<config.yaml>" : sourceName;
        var root = YamlFile.LoadSingleDocument(yaml, source, "Lazyjack config");
        if (root is not YamlMappingNode top)
            throw YamlFile.Invalid(source, root.Start, $"the Lazyjack config holds {YamlFile.Describe(root)}, not the mapping of sections (general, topology, mgmt_net, ...).");

        var warnings = new List<string>();
        var spec = SpecYaml.Blank();
        var reader = new Reader(source, warnings);

        YamlNode? legacyPlugin = null, topology = null, topologyKey = null;
        var sections = new Dictionary<string, Dictionary<string, (YamlNode KeyNode, YamlNode Value)>>(StringComparer.Ordinal);
        foreach (var (key, keyNode, value) in YamlFile.Entries(top, source, ""))
        {
            switch (key)
            {
                case "plugin": legacyPlugin = value; break;
                case "topology": (topology, topologyKey) = (value, keyNode); break;
                default:
                    if (SectionKeys.TryGetValue(key, out var known))
                        sections[key] = reader.Section(value, key, known);
                    else
                        warnings.Add($"{source}:{YamlFile.Line(keyNode.Start)}: '{key}' is not a Lazyjack section{Hint(key, RootKeys)}; ignored (Lazyjack ignored it too).");
                    break;
            }
        }
        YamlNode? Value(string section, string key) =>
            sections.TryGetValue(section, out var entries) && entries.TryGetValue(key, out var e) && !YamlFile.IsNull(e.Value) ? e.Value : null;

        // general.mode: Lazyjack builds ipv6 (default), ipv4 or dual-stack; only the first is ours.
        if (Value("general", "mode") is { } modeNode)
        {
            var mode = reader.Text(modeNode, "general.mode").ToLowerInvariant();
            if (mode != "ipv6")
                throw reader.Refused(modeNode, "general.mode", mode,
                    mode is "ipv4" or "dual-stack" ? $"Ipv6Dind builds IPv6-only clusters with DNS64/NAT64; {mode} is out of its scope." : "it is not a Lazyjack mode either (ipv6, ipv4, dual-stack).",
                    "Only 'mode: ipv6' (or no mode) can be imported.");
        }

        // CNI plugin: the deprecated top-level 'plugin' wins over general.plugin, as in ValidatePlugin.
        var pluginNode = legacyPlugin is not null && !YamlFile.IsNull(legacyPlugin) ? legacyPlugin : Value("general", "plugin");
        if (pluginNode is not null)
        {
            var path = ReferenceEquals(pluginNode, legacyPlugin) ? "plugin" : "general.plugin";
            var plugin = reader.Text(pluginNode, path).ToLowerInvariant();
            if (plugin is not ("bridge" or "ptp" or "calico"))
                throw reader.Refused(pluginNode, path, plugin, "it is not a CNI plugin Ipv6Dind sets up.", "Use bridge, ptp or calico.");
            spec.Cni = plugin;
        }

        if (Value("general", "kubernetes-version") is { } versionNode)
        {
            var version = reader.Text(versionNode, "general.kubernetes-version");
            if (version.Equals("latest", StringComparison.OrdinalIgnoreCase))
                warnings.Add($"{reader.At(versionNode)}: general.kubernetes-version 'latest' followed Kubernetes master; Ipv6Dind pins a released version, so its default is used (set -KubernetesVersion to choose).");
            else
                spec.KubernetesVersion = version;
        }

        spec.Nodes = ReadTopology(topology, topologyKey, reader, warnings, out var nodeOrder);

        // Management network: cidr (cidr2 is dual-stack only), or the Orca-era subnet + size.
        if (Value("mgmt_net", "cidr2") is { } mgmt2)
            throw reader.Refused(mgmt2, "mgmt_net.cidr2", reader.Text(mgmt2, "mgmt_net.cidr2"), "a second management network is for dual-stack, which Ipv6Dind does not build.", "Remove cidr2.");
        spec.ManagementPrefix = reader.CidrOrSubnet(Value("mgmt_net", "cidr"), Value("mgmt_net", "subnet"), Value("mgmt_net", "size"),
            "mgmt_net", "management network", ErrorIds.InvalidManagementPrefix, "fd00:20::/64") ?? "";

        // Pods: each node gets the pod CIDR's length + 8, the node id in that byte (CalculateDerivedFields,
        // BuildPodSubnetPrefix). The older prefix + size form named all but the node's 16 bits.
        if (Value("pod_net", "cidr2") is { } pod2)
            throw reader.Refused(pod2, "pod_net.cidr2", reader.Text(pod2, "pod_net.cidr2"), "a second pod network is for dual-stack, which Ipv6Dind does not build.", "Remove cidr2.");
        if (Value("pod_net", "cidr") is { } podNode)
        {
            var pods = reader.Prefix(podNode, "pod_net.cidr", "pod network", ErrorIds.InvalidPodPrefix, "fd00:40::/72");
            spec.PodPrefix = pods.ToString();
            spec.PodNodePrefixLength = pods.Length + 8;
            if (Value("pod_net", "prefix") is not null || Value("pod_net", "size") is not null)
                warnings.Add($"{reader.At(podNode)}: pod_net.prefix/size are ignored because pod_net.cidr is given.");
        }
        else if (Value("pod_net", "prefix") is { } legacyPrefix)
        {
            (spec.PodPrefix, spec.PodNodePrefixLength) = reader.LegacyPodPrefix(legacyPrefix, Value("pod_net", "size"));
        }
        else if (Value("pod_net", "size") is { } strayPodSize)
            throw YamlFile.Invalid(source, strayPodSize.Start, "pod_net.size is given without pod_net.prefix.", "Give the pod network as pod_net.cidr, e.g. 'cidr: fd00:40::/72'.", field: "pod_net.size");
        // Lazyjack's pod MTU: in a lab the pods, the Docker network and tayga's device share one MTU (the spec's Mtu).
        if (Value("pod_net", "mtu") is { } mtuNode)
        {
            spec.Mtu = YamlFile.Integer(mtuNode, source, "pod_net.mtu") ?? 0;
            warnings.Add($"{reader.At(mtuNode)}: pod_net.mtu {spec.Mtu} becomes the lab's one MTU: the Docker network, NAT64's device and the pods.");
        }
        if (nodeOrder.Count > 0 && nodeOrder.Select((n, i) => n.Id != i + 1).Any(moved => moved))
            warnings.Add($"topology: Lazyjack numbered each node's pod subnet by its id ({string.Join(", ", nodeOrder.Select(n => $"{n.Name}={n.Id}"))}); Ipv6Dind numbers its nodes 1..{nodeOrder.Count} in that order, control plane first, so node i takes the i-th /{(spec.PodNodePrefixLength == 0 ? SpecDefaults.DefaultPodNodePrefixLength : spec.PodNodePrefixLength)} of the pod network.");

        if (Value("service_net", "cidr") is { } serviceNode)
            spec.ServicePrefix = reader.Prefix(serviceNode, "service_net.cidr", "service network", ErrorIds.InvalidServicePrefix, "fd00:30::/110").ToString();

        // NAT64 prefix: dns64.cidr, or the older prefix + prefix_size.
        spec.Nat64Prefix = reader.CidrOrSubnet(Value("dns64", "cidr"), Value("dns64", "prefix"), Value("dns64", "prefix_size"),
            "dns64", "NAT64 prefix", ErrorIds.InvalidNat64Prefix, "fd00:10:64:ff9b::/96", subnetKey: "prefix", sizeKey: "prefix_size") ?? "";

        if (Value("nat64", "v4_cidr") is { } poolNode)
        {
            var text = reader.Text(poolNode, "nat64.v4_cidr");
            var pool = Ipv4Prefix.TryParse(text, out var reason) ?? throw reader.Bad(ErrorIds.InvalidNat64Pool, poolNode, "nat64.v4_cidr", text,
                $"is not an IPv4 prefix: {reason}.", "Give the tayga pool as an IPv4 prefix, e.g. 198.18.0.128/25.");
            spec.Nat64Pool = pool.ToString();
        }

        if (Value("dns64", "remote_server") is { } upstreamNode)
            spec.Dns64Upstream = new[] { reader.Address(upstreamNode, "dns64.remote_server") };

        // allow_ipv6_use is the deprecated spelling; either one true turns AAAA use on (ValidateDNS64Fields).
        var allowAaaa = Value("dns64", "allow_aaaa_use") is { } aaaaNode && reader.Boolean(aaaaNode, "dns64.allow_aaaa_use");
        var allowIpv6 = Value("dns64", "allow_ipv6_use") is { } ipv6Node && reader.Boolean(ipv6Node, "dns64.allow_ipv6_use");
        spec.AllowAaaa = allowAaaa || allowIpv6;

        // Everything read but not carried over, in file order.
        foreach (var (section, entries) in sections)
            foreach (var (key, (keyNode, value)) in entries)
                if (NotCarried.TryGetValue($"{section}.{key}", out var why) && !YamlFile.IsNull(value))
                    warnings.Add($"{source}:{YamlFile.Line(keyNode.Start)}: {section}.{key}: {why}; ignored.");

        var name = clusterName ?? DefaultClusterName;
        spec.ClusterName = name;
        return new SpecImportResult(spec, warnings);
    }

    /// <summary>Reads the topology: returns the node count (masters + minions) and the Kubernetes nodes, control plane first.</summary>
    private static int ReadTopology(YamlNode? topologyNode, YamlNode? topologyKey, Reader reader, List<string> warnings, out List<(string Name, int Id)> order)
    {
        order = new List<(string Name, int Id)>();
        var topology = topologyNode is null ? null : YamlFile.Mapping(topologyNode, reader.Source, "topology");
        if (topology is null || topology.Children.Count == 0)
            throw reader.Refused(topologyKey ?? new YamlScalarNode(""), "topology", "",
                "there is no node, so no control plane.", "Describe at least the master: 'topology:' then '  master-1: {opmodes: \"master dns64 nat64\", id: 2}'.");

        var masters = new List<(string Name, int Id, YamlNode Node)>();
        var minions = new List<(string Name, int Id)>();
        var interfaces = new List<string>();
        foreach (var (name, nameNode, value) in YamlFile.Entries(topology, reader.Source, "topology"))
        {
            var path = $"topology.{name}";
            var node = YamlFile.Mapping(value, reader.Source, path);
            string? opmodes = null;
            YamlNode opmodesNode = nameNode;
            var id = 0;
            if (node is not null)
            {
                foreach (var (key, keyNode, v) in YamlFile.Entries(node, reader.Source, path))
                {
                    switch (key)
                    {
                        case "opmodes": opmodes = YamlFile.Text(v, reader.Source, $"{path}.opmodes"); opmodesNode = v; break;
                        case "id": id = YamlFile.Integer(v, reader.Source, $"{path}.id") ?? 0; break;
                        case "interface": if (YamlFile.Text(v, reader.Source, $"{path}.interface") is { } i) interfaces.Add($"{name}: {i}"); break;
                        default: warnings.Add($"{reader.At(keyNode)}: '{path}.{key}' is not a Lazyjack node setting{Hint(key, NodeKeys)}; ignored (Lazyjack ignored it too)."); break;
                    }
                }
            }

            bool master = false, minion = false, dns64 = false, nat64 = false, any = false;
            foreach (var op in (opmodes ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                any = true;
                switch (op.ToLowerInvariant())
                {
                    case "master": master = true; break;
                    case "minion": minion = true; break;
                    case "dns64": dns64 = true; break;
                    case "nat64": nat64 = true; break;
                    default:
                        throw reader.Refused(opmodesNode, $"{path}.opmodes", opmodes!, $"'{op}' is not a Lazyjack operating mode.", "Use master or minion, plus dns64 and nat64 on one node.");
                }
            }
            if (!any)
                throw YamlFile.Invalid(reader.Source, opmodesNode.Start, $"{path}.opmodes is missing or empty.", "Give the node's role, e.g. 'opmodes: \"minion\"'.", field: $"{path}.opmodes");
            if (master && minion)
                throw reader.Refused(opmodesNode, $"{path}.opmodes", opmodes!, "a node is either the master or a minion, not both.", "Keep one of them.");
            if (master) masters.Add((name, id, nameNode));
            else if (minion) minions.Add((name, id));
            else if (dns64 || nat64)
                warnings.Add($"{reader.At(nameNode)}: {path} runs only {(dns64 && nat64 ? "dns64 and nat64" : dns64 ? "dns64" : "nat64")}; Ipv6Dind runs DNS64 and NAT64 in containers of its own, so it is not a node of the cluster.");
        }

        if (masters.Count == 0)
            throw reader.Refused(topologyKey!, "topology", string.Join(", ", topology.Children.Keys),
                "no node has the 'master' operating mode, so there is no control plane.", "Give exactly one node 'opmodes: \"master\"' (with dns64 and nat64 if you like).");
        if (masters.Count > 1)
            throw reader.Refused(masters[1].Node, "topology", string.Join(", ", masters.Select(m => m.Name)),
                "more than one node has the 'master' operating mode; Lazyjack and Ipv6Dind both build a single control plane.", "Keep 'master' on one node and make the others minions.");
        if (interfaces.Count > 0)
            warnings.Add($"topology: the bare-metal interfaces ({string.Join(", ", interfaces)}) carried Lazyjack's management network; Ipv6Dind's nodes are containers on their own Docker network, so they are not used.");

        order.Add((masters[0].Name, masters[0].Id));
        order.AddRange(minions.OrderBy(m => m.Id).ThenBy(m => m.Name, StringComparer.Ordinal));
        return order.Count;
    }

    private static string Hint(string key, IEnumerable<string> valid) =>
        YamlFile.Suggest(key, valid) is { } s ? $" (did you mean '{s}'?)" : "";

    /// <summary>The shared reading helpers plus Lazyjack's own section and prefix forms.</summary>
    private sealed class Reader : ImportReader
    {
        public Reader(string source, List<string> warnings) : base(source, warnings) { }

        public Dictionary<string, (YamlNode KeyNode, YamlNode Value)> Section(YamlNode value, string section, string[] known)
        {
            var entries = new Dictionary<string, (YamlNode, YamlNode)>(StringComparer.Ordinal);
            var map = YamlFile.Mapping(value, Source, section);
            if (map is null) return entries;
            foreach (var (key, keyNode, v) in YamlFile.Entries(map, Source, section))
            {
                if (known.Contains(key, StringComparer.Ordinal)) entries[key] = (keyNode, v);
                else Warn(keyNode, $"'{section}.{key}' is not a Lazyjack setting{Hint(key, known)}; ignored (Lazyjack ignored it too).");
            }
            return entries;
        }

        public bool Boolean(YamlNode node, string path) => YamlFile.Boolean(node, Source, path, yaml11: true) ?? false;

        public Ipv6Prefix Prefix(YamlNode node, string path, string what, string errorId, string example) =>
            Prefix(Text(node, path), node, path, what, errorId, example);

        public Ipv6Prefix Prefix(string text, YamlNode node, string path, string what, string errorId, string example) =>
            ParsePrefix(text, node, path, errorId, example,
                $"an IPv4 {what} belongs to Lazyjack's ipv4 or dual-stack modes; Ipv6Dind builds IPv6-only clusters.");

        /// <summary>"cidr", or the older split form "subnet"/"prefix" + "size"/"prefix_size".</summary>
        public string? CidrOrSubnet(YamlNode? cidr, YamlNode? subnet, YamlNode? size, string section, string what, string errorId, string example,
            string subnetKey = "subnet", string sizeKey = "size")
        {
            if (cidr is not null)
            {
                if (subnet is not null || size is not null)
                    Warn(cidr, $"{section}.{subnetKey}/{sizeKey} are ignored because {section}.cidr is given.");
                return Prefix(cidr, $"{section}.cidr", what, errorId, example).ToString();
            }
            if (subnet is null)
            {
                if (size is not null)
                    throw YamlFile.Invalid(Source, size.Start, $"{section}.{sizeKey} is given without {section}.{subnetKey}.", $"Give {section}.cidr, e.g. 'cidr: {example}'.", field: $"{section}.{sizeKey}");
                return null;
            }
            var address = Text(subnet, $"{section}.{subnetKey}");
            var length = size is null ? null : YamlFile.Integer(size, Source, $"{section}.{sizeKey}");
            if (length is null)
                throw YamlFile.Invalid(Source, subnet.Start, $"{section}.{subnetKey} is given without {section}.{sizeKey}.", $"Give {section}.cidr instead, e.g. 'cidr: {example}'.", field: $"{section}.{sizeKey}");
            return Prefix($"{address}/{length}", subnet, $"{section}.{subnetKey}/{sizeKey}", what, errorId, example).ToString();
        }

        /// <summary>
        /// pod_net.prefix + size of the first releases: "all but 16 bits" of the node subnet ("fd00:40:0:0", 80), the
        /// node id filling the last 16 bits. The cluster range is the prefix's own groups; anything else is refused.
        /// </summary>
        public (string Prefix, int NodeLength) LegacyPodPrefix(YamlNode prefixNode, YamlNode? sizeNode)
        {
            var text = Text(prefixNode, "pod_net.prefix");
            var size = sizeNode is null ? null : YamlFile.Integer(sizeNode, Source, "pod_net.size");
            if (size is null)
                throw YamlFile.Invalid(Source, prefixNode.Start, "pod_net.prefix is given without pod_net.size.", "Give the pod network as pod_net.cidr instead, e.g. 'cidr: fd00:40::/72'.", field: "pod_net.size");
            var groups = text.TrimEnd(':').Split(':');
            if (text.Contains("::") || groups.Length is < 1 or > 7 || groups.Any(g => g.Length is 0 or > 4 || !g.All(Uri.IsHexDigit)))
                throw Bad(ErrorIds.InvalidPodPrefix, prefixNode, "pod_net.prefix", text, "is not the fully written leading groups of an IPv6 network (e.g. fd00:40:0:0).",
                    "Give the pod network as pod_net.cidr instead, e.g. 'cidr: fd00:40::/72'.");
            var clusterLength = groups.Length * 16;
            if (size != clusterLength + 16)
                throw Refused(sizeNode!, "pod_net.size", size.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    $"with pod_net.prefix '{text}' ({groups.Length} groups) the node id fills the next 16 bits, so the size must be /{clusterLength + 16}.",
                    "Give the pod network as pod_net.cidr instead, e.g. 'cidr: fd00:40::/72'.");
            var prefix = Ipv6Prefix.TryParse($"{string.Join(':', groups)}{(groups.Length < 8 ? "::" : "")}/{clusterLength}", out var reason)
                ?? throw Bad(ErrorIds.InvalidPodPrefix, prefixNode, "pod_net.prefix", text, $"is not a valid IPv6 network: {reason}.", "Give the pod network as pod_net.cidr, e.g. 'cidr: fd00:40::/72'.");
            return (prefix.ToString(), size.Value);
        }

        public string Address(YamlNode node, string path)
        {
            var text = Text(node, path);
            if (IPAddress.TryParse(text, out var address) && !text.Contains('/') && !text.Contains('%') &&
                (address.AddressFamily == AddressFamily.InterNetworkV6 || text.Count(c => c == '.') == 3))
                return address.ToString();
            throw Bad(ErrorIds.InvalidDns64Upstream, node, path, text, "is not an IP address.", "Give the address of a resolver, e.g. 198.51.100.53.");
        }

    }
}
