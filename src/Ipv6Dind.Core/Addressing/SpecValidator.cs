using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Ipv6Dind.Core.Addressing;

/// <summary>
/// Every rule a spec must satisfy before anything is created (docs/design/README.md, "Address plan"). Pure: the
/// outside facts (host addresses and routes, Docker networks, other clusters) come in a <see cref="PlanEnvironment"/>.
/// Each problem is a <see cref="DindException"/> naming the parameter, the bad value and what would be valid.
/// </summary>
public static partial class SpecValidator
{
    /// <summary>Linux bridges take at most 1023 ports (BR_PORT_BITS); the DNS64 and NAT64 containers use two.</summary>
    public const int BridgePortLimit = 1023;
    public const int SupportContainers = 2;
    public const int MaxNodes = BridgePortLimit - SupportContainers;
    public const int MaxClusterNameLength = 32;

    /// <summary>Kubernetes versions the renderers support (kubeadm v1beta3 below 1.31, v1beta4 from 1.31).</summary>
    public static readonly Version MinKubernetesVersion = new(1, 25);
    public static readonly Version MaxKubernetesVersion = new(1, 35);

    public static readonly IReadOnlyList<string> CniPlugins = new[] { "bridge", "ptp", "calico" };

    private static readonly Ipv6Prefix UniqueLocal = Ipv6Prefix.Parse("fc00::/7");
    private static readonly Ipv6Prefix GlobalUnicast = Ipv6Prefix.Parse("2000::/3");
    private static readonly Ipv6Prefix LocalUseNat64 = Ipv6Prefix.Parse("64:ff9b:1::/48"); // RFC 8215

    // \z, not $: .NET's $ also matches before a final newline, and "lab\n" must not pass.
    [GeneratedRegex("^[a-z]([a-z0-9-]*[a-z0-9])?\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ClusterNamePattern();

    [GeneratedRegex(@"^v?([0-9]{1,4})\.([0-9]{1,4})(\.([0-9]{1,6}))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex KubernetesVersionPattern();

    /// <summary>Throws the first problem found.</summary>
    public static void EnsureValid(DindClusterSpec spec, PlanEnvironment? environment = null)
    {
        var problems = Validate(spec, environment);
        if (problems.Count > 0) throw problems[0];
    }

    /// <summary>All problems, in parameter order (name, nodes, ranges, overlaps, DNS64, Kubernetes, kind's settings).</summary>
    public static IReadOnlyList<DindException> Validate(DindClusterSpec spec, PlanEnvironment? environment = null)
    {
        environment ??= PlanEnvironment.Empty;
        var problems = new List<DindException>();
        void Add(string id, DindErrorCategory category, string parameter, object? value, string message, string valid) =>
            problems.Add(new DindException(id, category, $"{parameter}: {message} {valid}", value, parameter, valid));

        // ClusterName: safe as a DNS label and as the prefix of Docker names ("<name>-node-12").
        var name = spec.ClusterName ?? "";
        var nameProblem = ClusterNameProblem(name);
        if (nameProblem is not null)
            Add(ErrorIds.InvalidClusterName, DindErrorCategory.InvalidArgument, "ClusterName", name, nameProblem,
                $"Use 1 to {MaxClusterNameLength} lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (e.g. 'lab').");
        else if (ReservedClusterNames.Contains(name))
            Add(ErrorIds.InvalidClusterName, DindErrorCategory.InvalidArgument, "ClusterName", name,
                $"'{name}' is reserved: the module's own host-level objects use it (the rule comment ipv6dind/daemon/docker-ipv6, the lock {name}.daemon.lock).",
                "Choose another name, e.g. 'lab'.");

        // Node count.
        if (spec.Nodes < 1)
            Add(ErrorIds.InvalidNodeCount, DindErrorCategory.InvalidArgument, "Nodes", spec.Nodes,
                $"{spec.Nodes} is not a node count.", $"Use 1 to {MaxNodes} nodes.");
        else if (spec.Nodes > MaxNodes)
            Add(ErrorIds.NodeCountExceedsBridgePorts, DindErrorCategory.LimitsExceeded, "Nodes", spec.Nodes,
                $"{spec.Nodes} nodes plus the DNS64 and NAT64 containers exceed the Linux bridge's {BridgePortLimit}-port limit.",
                $"Use at most {MaxNodes} nodes per cluster.");

        // Ranges: parse, kind, shape.
        var subnet = ParseV6(spec.Subnet, "Subnet", ErrorIds.InvalidSubnet, Add);
        // The subnet only matters as the source of ranges not given explicitly (subnet ids 10, 40, 30 and 64).
        var derivesRanges = string.IsNullOrWhiteSpace(spec.ManagementPrefix) || string.IsNullOrWhiteSpace(spec.PodPrefix) ||
                            string.IsNullOrWhiteSpace(spec.ServicePrefix) || string.IsNullOrWhiteSpace(spec.Nat64Prefix);
        if (subnet is not null && derivesRanges && (subnet.Length < 16 || subnet.Length > 56))
            Add(ErrorIds.InvalidSubnet, DindErrorCategory.InvalidArgument, "Subnet", spec.Subnet,
                $"/{subnet.Length} cannot hold the default layout (management, pods, services and NAT64 at subnet ids 10, 40, 30 and 64).",
                "Use a prefix between /16 and /56, e.g. a ULA /48 such as fd00:77::/48, or give -ManagementPrefix, -PodPrefix, -ServicePrefix and -Nat64Prefix explicitly.");
        CheckUnicast(subnet, spec.Subnet, "Subnet", ErrorIds.InvalidSubnet, Add);

        var mgmt = ParseV6(spec.ManagementPrefix, "ManagementPrefix", ErrorIds.InvalidManagementPrefix, Add);
        CheckUnicast(mgmt, spec.ManagementPrefix, "ManagementPrefix", ErrorIds.InvalidManagementPrefix, Add);
        if (mgmt is not null && (mgmt.Length < 48 || mgmt.Length > 112))
            Add(ErrorIds.InvalidManagementPrefix, DindErrorCategory.InvalidArgument, "ManagementPrefix", spec.ManagementPrefix,
                $"/{mgmt.Length} does not fit the management network (gateway ::1, DNS64 ::100, NAT64 ::200, nodes ::1001 and up).",
                "Use a prefix between /48 and /112; /64 is usual.");

        var pods = ParseV6(spec.PodPrefix, "PodPrefix", ErrorIds.InvalidPodPrefix, Add);
        CheckUnicast(pods, spec.PodPrefix, "PodPrefix", ErrorIds.InvalidPodPrefix, Add);
        if (pods is not null)
        {
            var nodeLength = spec.PodNodePrefixLength;
            if (nodeLength <= pods.Length || nodeLength > 120)
                Add(ErrorIds.InvalidPodNodePrefixLength, DindErrorCategory.InvalidArgument, "PodNodePrefixLength", nodeLength,
                    $"/{nodeLength} per node does not split the pod prefix {pods} into node ranges with room for pods.",
                    $"Use a length between /{pods.Length + 1} and /120, at most 16 longer than the pod prefix (e.g. /{Math.Min(pods.Length + 16, 120)}).");
            else if (nodeLength - pods.Length > 16)
                Add(ErrorIds.PodNodeMaskDifferenceTooLarge, DindErrorCategory.InvalidArgument, "PodNodePrefixLength", nodeLength,
                    $"kubeadm refuses a node mask (/{nodeLength}) more than 16 bits longer than the pod prefix ({pods}).",
                    $"Use a node length of at most /{pods.Length + 16}, or a longer pod prefix (at least /{nodeLength - 16}).");
            else if (spec.Nodes >= 1)
            {
                var capacity = (System.Numerics.BigInteger.One << (nodeLength - pods.Length)) - 1;
                if (spec.Nodes > capacity)
                    Add(ErrorIds.NodeCountExceedsPodPrefix, DindErrorCategory.LimitsExceeded, "Nodes", spec.Nodes,
                        $"{pods} split into /{nodeLength} holds {capacity} node ranges (index 0 is unused), fewer than {spec.Nodes} nodes.",
                        $"Use at most {capacity} nodes, a shorter pod prefix or a longer -PodNodePrefixLength.");
            }
        }

        var services = ParseV6(spec.ServicePrefix, "ServicePrefix", ErrorIds.InvalidServicePrefix, Add);
        CheckUnicast(services, spec.ServicePrefix, "ServicePrefix", ErrorIds.InvalidServicePrefix, Add);
        if (services is not null)
        {
            if (services.Length < 108)
                Add(ErrorIds.ServicePrefixTooLarge, DindErrorCategory.InvalidArgument, "ServicePrefix", spec.ServicePrefix,
                    $"/{services.Length} is larger than kube-apiserver accepts for an IPv6 service range (at most 2^20 addresses).",
                    "Use /108 or longer, e.g. /112.");
            else if (services.Length > 124)
                Add(ErrorIds.InvalidServicePrefix, DindErrorCategory.InvalidArgument, "ServicePrefix", spec.ServicePrefix,
                    $"/{services.Length} leaves too few service addresses (the cluster DNS takes ::a).",
                    "Use a length between /108 and /124; /112 is usual.");
        }

        var nat64 = ParseV6(spec.Nat64Prefix, "Nat64Prefix", ErrorIds.InvalidNat64Prefix, Add);
        if (nat64 is not null)
        {
            if (!Rfc6052.IsValidLength(nat64.Length))
                Add(ErrorIds.InvalidNat64PrefixLength, DindErrorCategory.InvalidArgument, "Nat64Prefix", spec.Nat64Prefix,
                    $"/{nat64.Length} is not an RFC 6052 prefix length.",
                    "Use /32, /40, /48, /56, /64 or /96, e.g. fd00:77:64:ff9b::/96.");
            else if (!Rfc6052.HasZeroUOctet(nat64))
                Add(ErrorIds.Nat64PrefixUOctetNotZero, DindErrorCategory.InvalidArgument, "Nat64Prefix", spec.Nat64Prefix,
                    "bits 64-71 (the RFC 6052 'u' octet) must be zero.",
                    "Choose a prefix whose fifth 16-bit group starts with 00, e.g. fd00:77:64:ff9b::/96.");
            else if (!(UniqueLocal.Contains(nat64) || GlobalUnicast.Contains(nat64) || Rfc6052.WellKnownPrefix.Equals(nat64) || LocalUseNat64.Contains(nat64)))
                Add(ErrorIds.InvalidNat64Prefix, DindErrorCategory.InvalidArgument, "Nat64Prefix", spec.Nat64Prefix,
                    "it is neither unique-local, global unicast, the well-known 64:ff9b::/96 nor inside 64:ff9b:1::/48.",
                    "Use a prefix from the cluster's ULA block, e.g. fd00:77:64:ff9b::/96.");
        }

        // Pairwise overlaps among the cluster's own ranges.
        var ranges = new List<(string Parameter, string Text, Ipv6Prefix Prefix)>();
        if (mgmt is not null) ranges.Add(("ManagementPrefix", spec.ManagementPrefix, mgmt));
        if (pods is not null) ranges.Add(("PodPrefix", spec.PodPrefix, pods));
        if (services is not null) ranges.Add(("ServicePrefix", spec.ServicePrefix, services));
        if (nat64 is not null) ranges.Add(("Nat64Prefix", spec.Nat64Prefix, nat64));
        for (var i = 0; i < ranges.Count; i++)
            for (var j = i + 1; j < ranges.Count; j++)
                if (ranges[i].Prefix.Overlaps(ranges[j].Prefix))
                    Add(ErrorIds.SubnetOverlap, DindErrorCategory.InvalidArgument, ranges[j].Parameter, ranges[j].Text,
                        $"{ranges[j].Prefix} overlaps -{ranges[i].Parameter} {ranges[i].Prefix}.",
                        "Give every range (management, pods, services, NAT64) its own part of the address space.");

        // Overlaps with what is already there: host addresses and routes, Docker networks, other clusters.
        foreach (var reserved in environment.Reserved)
        {
            var r6 = Ipv6Prefix.TryParse(reserved.Prefix, out _);
            if (r6 is null) continue;
            foreach (var (parameter, text, prefix) in ranges)
            {
                if (!prefix.Overlaps(r6)) continue;
                var (id, what) = reserved.Kind switch
                {
                    ReservationKind.DockerNetwork => (ErrorIds.SubnetOverlapsDockerNetwork, "an existing Docker network"),
                    ReservationKind.Cluster => (ErrorIds.SubnetOverlapsCluster, "another cluster"),
                    _ => (ErrorIds.SubnetOverlapsHost, "the host's own addresses or routes"),
                };
                Add(id, DindErrorCategory.ResourceExists, parameter, text,
                    $"{prefix} overlaps {r6} ({reserved.Origin}), which belongs to {what}.",
                    "Choose a range outside it, e.g. another -Subnet such as a ULA /48 fdXX:XXXX:XXXX::/48.");
            }
        }

        // NAT64 IPv4 pool.
        var pool = Ipv4Prefix.TryParse(spec.Nat64Pool, out var poolReason);
        if (pool is null)
            Add(ErrorIds.InvalidNat64Pool, DindErrorCategory.InvalidArgument, "Nat64Pool", spec.Nat64Pool,
                $"'{spec.Nat64Pool}' is not an IPv4 prefix: {poolReason}.", "Use an IPv4 prefix such as 198.18.0.128/25.");
        else
        {
            var first = pool.Network.GetAddressBytes()[0];
            if (first == 0 || first == 127 || first >= 224 || pool.Length < 8)
                Add(ErrorIds.InvalidNat64Pool, DindErrorCategory.InvalidArgument, "Nat64Pool", spec.Nat64Pool,
                    $"{pool} is not a unicast range tayga can map into.",
                    "Use a private or benchmarking range between /8 and /28, e.g. 198.18.0.128/25.");
            else
            {
                var needed = Math.Max(16L, 2L * Math.Max(1, spec.Nodes));
                if (pool.Size < needed)
                    Add(ErrorIds.Nat64PoolTooSmall, DindErrorCategory.LimitsExceeded, "Nat64Pool", spec.Nat64Pool,
                        $"{pool} holds {pool.Size} addresses; tayga needs one per IPv6 source talking to IPv4, so at least {needed} for {spec.Nodes} node(s).",
                        $"Use a /{32 - (int)Math.Ceiling(Math.Log2(needed))} or larger pool.");
                foreach (var reserved in environment.Reserved)
                {
                    var r4 = Ipv4Prefix.TryParse(reserved.Prefix, out _);
                    if (r4 is not null && r4.Overlaps(pool))
                        Add(ErrorIds.Nat64PoolOverlapsDestination, DindErrorCategory.InvalidArgument, "Nat64Pool", spec.Nat64Pool,
                            $"{pool} overlaps {r4} ({reserved.Origin}); replies from there would be captured by the translator.",
                            "Choose a pool no network of the host or Docker uses, e.g. inside 198.18.0.0/15.");
                }
            }
        }

        // DNS64 upstream resolvers.
        var upstreams = spec.Dns64Upstream ?? Array.Empty<string>();
        if (upstreams.Length == 0 && environment.HostResolvers is { Count: 0 })
            Add(ErrorIds.Dns64UpstreamMissing, DindErrorCategory.ObjectNotFound, "Dns64Upstream", null,
                "no resolver was given and the host has no usable (non-loopback) resolver in /etc/resolv.conf.",
                "Give -Dns64Upstream with the IPv4 or IPv6 address of a resolver the DNS64 container can reach.");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var text in upstreams)
        {
            if (Dns64UpstreamProblem(text, out var address) is { } upstreamProblem)
            {
                Add(ErrorIds.InvalidDns64Upstream, DindErrorCategory.InvalidArgument, "Dns64Upstream", text, upstreamProblem.Message, upstreamProblem.Valid);
                continue;
            }
            if (!seen.Add(address.ToString()))
            {
                Add(ErrorIds.InvalidDns64Upstream, DindErrorCategory.InvalidArgument, "Dns64Upstream", text,
                    $"{address} is listed twice.", "List each resolver once.");
                continue;
            }
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && ranges.FirstOrDefault(r => r.Prefix.Contains(address)) is { Prefix: not null } inside)
                Add(ErrorIds.Dns64UpstreamInsideCluster, DindErrorCategory.InvalidArgument, "Dns64Upstream", text,
                    $"{address} lies inside the cluster's own -{inside.Parameter} {inside.Prefix}.",
                    "The upstream must be outside the cluster: give the resolver the DNS64 forwards to, not the DNS64 itself.");
            if (address.AddressFamily == AddressFamily.InterNetwork && pool is not null && pool.Contains(address))
                Add(ErrorIds.Nat64PoolOverlapsDestination, DindErrorCategory.InvalidArgument, "Nat64Pool", spec.Nat64Pool,
                    $"{pool} contains the DNS64 upstream {address}.", "Choose a pool that contains no destination, e.g. inside 198.18.0.0/15.");
        }

        if (spec.Mtu != 0 && spec.Mtu is < SpecDefaults.MinMtu or > SpecDefaults.MaxMtu)
            Add(ErrorIds.InvalidMtu, DindErrorCategory.InvalidArgument, "Mtu", spec.Mtu,
                $"MTU {spec.Mtu} is outside {SpecDefaults.MinMtu} (IPv6's minimum) to {SpecDefaults.MaxMtu}.",
                $"Use {SpecDefaults.DefaultMtu} (the default), or e.g. 9000 for jumbo frames inside the lab.");

        // CNI and Kubernetes.
        var cni = (spec.Cni ?? "").Trim().ToLowerInvariant();
        if (!CniPlugins.Contains(cni))
            Add(ErrorIds.InvalidCni, DindErrorCategory.InvalidArgument, "Cni", spec.Cni,
                $"'{spec.Cni}' is not a supported CNI plugin.", "Use bridge, ptp or calico.");
        else if (cni == "calico")
        {
            if (spec.CalicoBlockSize < 116 || spec.CalicoBlockSize > 128)
                Add(ErrorIds.InvalidCalicoBlockSize, DindErrorCategory.InvalidArgument, "CalicoBlockSize", spec.CalicoBlockSize,
                    $"Calico's IPv6 block size must be between 116 and 128, not {spec.CalicoBlockSize}.", "Use e.g. 122 (64 pods per block).");
            else if (pods is not null && spec.CalicoBlockSize < pods.Length)
                Add(ErrorIds.InvalidCalicoBlockSize, DindErrorCategory.InvalidArgument, "CalicoBlockSize", spec.CalicoBlockSize,
                    $"a /{spec.CalicoBlockSize} block is larger than the pod pool {pods}.", $"Use a block size between {Math.Max(116, pods.Length)} and 128.");
        }

        var version = ParseKubernetesVersion(spec.KubernetesVersion);
        if (version is null)
            Add(ErrorIds.InvalidKubernetesVersion, DindErrorCategory.InvalidArgument, "KubernetesVersion", spec.KubernetesVersion,
                $"'{spec.KubernetesVersion}' is not a Kubernetes version.", "Use a version such as v1.33.0 or 1.31.");
        else if (version < MinKubernetesVersion || version >= new Version(MaxKubernetesVersion.Major, MaxKubernetesVersion.Minor + 1))
            Add(ErrorIds.UnsupportedKubernetesVersion, DindErrorCategory.InvalidArgument, "KubernetesVersion", spec.KubernetesVersion,
                $"{spec.KubernetesVersion} is outside the supported range.",
                $"Use a version from v{MinKubernetesVersion.Major}.{MinKubernetesVersion.Minor} to v{MaxKubernetesVersion.Major}.{MaxKubernetesVersion.Minor}.");

        if (!string.IsNullOrEmpty(spec.NodeImage) && Docker.ImageReference.Problem(spec.NodeImage) is { } imageProblem)
            Add(ErrorIds.InvalidNodeImage, DindErrorCategory.InvalidArgument, "NodeImage", spec.NodeImage,
                imageProblem, "Use a reference such as kindest/node:v1.33.1 or ipv6dind/node:local.");

        problems.AddRange(SettingsProblems(spec));
        return problems;
    }

    /// <summary>
    /// Why one DNS64 upstream is unusable on its own (not an address; loopback, unspecified, multicast or link-local),
    /// or null with the parsed address. The checks against the cluster's ranges need the whole spec (<see cref="Validate"/>).
    /// </summary>
    public static (string Message, string Valid)? Dns64UpstreamProblem(string? text, out IPAddress address)
    {
        address = IPAddress.None;
        if (!IPAddress.TryParse(text?.Trim(), out var parsed) || (text ?? "").Contains('/') || (text ?? "").Contains('%'))
            return ($"'{Printable(text ?? "")}' is not an IP address.", "Give resolver addresses such as 198.51.100.53 or 2001:db8::53 (no port, no prefix length).");
        address = parsed;
        if (IPAddress.IsLoopback(parsed) || parsed.Equals(IPAddress.Any) || parsed.Equals(IPAddress.IPv6Any) ||
            parsed.IsIPv6Multicast || parsed.IsIPv6LinkLocal || (parsed.AddressFamily == AddressFamily.InterNetwork && parsed.GetAddressBytes()[0] >= 224))
            return ($"{parsed} cannot be reached from the DNS64 container (loopback, unspecified, multicast or link-local).",
                "Give the address of a resolver on a routed network, e.g. 198.51.100.53.");
        return null;
    }

    /// <summary>
    /// Names a new cluster may not take: they name the module's own host-level objects. Cluster and daemon rules live
    /// in disjoint comment namespaces anyway (LabNames.HostRuleComment), so an existing cluster of such a name (made by
    /// 0.3) can still be removed; only creating one is refused, to keep listings unambiguous.
    /// </summary>
    public static readonly IReadOnlySet<string> ReservedClusterNames = new HashSet<string>(StringComparer.Ordinal) { "docker-ipv6", "daemon" };

    /// <summary>Why a cluster name is unusable, or null.</summary>
    public static string? ClusterNameProblem(string name)
    {
        if (string.IsNullOrEmpty(name)) return "a cluster name is required.";
        if (name.Length > MaxClusterNameLength) return $"'{Printable(name)}' is {name.Length} characters long, more than {MaxClusterNameLength}.";
        if (!ClusterNamePattern().IsMatch(name)) return $"'{Printable(name)}' is not safe as a Docker and DNS name.";
        return null;
    }

    /// <summary>Parses "v1.33.0" / "1.31"; null when it is not a version.</summary>
    public static Version? ParseKubernetesVersion(string? text)
    {
        var m = KubernetesVersionPattern().Match((text ?? "").Trim());
        if (!m.Success) return null;
        return new Version(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), m.Groups[4].Success ? int.Parse(m.Groups[4].Value) : 0);
    }

    // Control characters in a hostile name must not reach a terminal as-is; a very long one is cut.
    private static string Printable(string s) => Diagnostics.Printable.Text(s);

    private static Ipv6Prefix? ParseV6(string? text, string parameter, string errorId, Action<string, DindErrorCategory, string, object?, string, string> add)
    {
        var prefix = Ipv6Prefix.TryParse(text, out var reason);
        if (prefix is null)
        {
            var id = reason.StartsWith("host bits", StringComparison.Ordinal) ? ErrorIds.PrefixHostBitsSet : errorId;
            add(id, DindErrorCategory.InvalidArgument, parameter, text, $"'{text}' is not a valid IPv6 prefix: {reason}.",
                "Give an IPv6 prefix in address/length form with the host bits zero, e.g. fd00:77:10::/64.");
        }
        return prefix;
    }

    private static void CheckUnicast(Ipv6Prefix? prefix, string text, string parameter, string errorId, Action<string, DindErrorCategory, string, object?, string, string> add)
    {
        if (prefix is null) return;
        if (!(UniqueLocal.Contains(prefix) || GlobalUnicast.Contains(prefix)))
            add(errorId, DindErrorCategory.InvalidArgument, parameter, text,
                $"{prefix} is neither unique-local (fc00::/7) nor global unicast (2000::/3).",
                "Use a ULA such as fd00:77::/48 or a global prefix delegated to you (2001:db8::/32 is for documentation and labs).");
    }
}
