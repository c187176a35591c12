using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Tests.Addressing;

public class SpecValidatorTests
{
    private static DindClusterSpec Valid() => SpecDefaults.Complete(new DindClusterSpec
    {
        ClusterName = "lab", Nodes = 3, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" },
    });

    private static readonly PlanEnvironment HostLikeCi = new()
    {
        Reserved = new[]
        {
            new ReservedRange("fd00::/64", ReservationKind.Host, "address fd00::2/64 on eth0"),
            new ReservedRange("198.51.100.0/24", ReservationKind.Host, "route 198.51.100.0/24 dev veth-outside"),
            new ReservedRange("fd00:d0c::/64", ReservationKind.DockerNetwork, "Docker network 'bridge'"),
            new ReservedRange("fd00:99::/48", ReservationKind.Cluster, "cluster 'other'"),
            new ReservedRange("198.19.128.0/24", ReservationKind.DockerNetwork, "Docker network 'other-net'"),
        },
        HostResolvers = Array.Empty<string>(),
    };

    [Fact]
    public void TheDefaultSpecIsValid()
    {
        Assert.Empty(SpecValidator.Validate(Valid()));
        Assert.Empty(SpecValidator.Validate(Valid(), HostLikeCi));
    }

    // Each case: a distinct invalid spec (one mutation of a valid one), and the stable error id it must produce.
    public static TheoryData<string, Action<DindClusterSpec>, string, string> InvalidSpecs() => new()
    {
        { "empty name", s => s.ClusterName = "", ErrorIds.InvalidClusterName, "ClusterName" },
        { "upper case name", s => s.ClusterName = "Lab", ErrorIds.InvalidClusterName, "ClusterName" },
        { "name too long", s => s.ClusterName = new string('a', 33), ErrorIds.InvalidClusterName, "ClusterName" },
        { "name with shell metacharacters", s => s.ClusterName = "lab;reboot", ErrorIds.InvalidClusterName, "ClusterName" },
        { "name with command substitution", s => s.ClusterName = "$(id)", ErrorIds.InvalidClusterName, "ClusterName" },
        { "name with newline", s => s.ClusterName = "lab\nx", ErrorIds.InvalidClusterName, "ClusterName" },
        { "name with path traversal", s => s.ClusterName = "../lab", ErrorIds.InvalidClusterName, "ClusterName" },
        { "name ending in hyphen", s => s.ClusterName = "lab-", ErrorIds.InvalidClusterName, "ClusterName" },
        { "zero nodes", s => s.Nodes = 0, ErrorIds.InvalidNodeCount, "Nodes" },
        { "more nodes than bridge ports", s => s.Nodes = 1022, ErrorIds.NodeCountExceedsBridgePorts, "Nodes" },
        { "more nodes than pod ranges", s => { s.PodPrefix = "fd00:77:0:40::/76"; s.Nodes = 16; }, ErrorIds.NodeCountExceedsPodPrefix, "Nodes" },
        { "subnet not a prefix", s => s.Subnet = "fd00:77::", ErrorIds.InvalidSubnet, "Subnet" },
        { "subnet too long for the layout", s => { s.Subnet = "fd00:77::/64"; s.ManagementPrefix = ""; }, ErrorIds.InvalidSubnet, "Subnet" },
        { "subnet is IPv4", s => s.Subnet = "198.18.0.0/16", ErrorIds.InvalidSubnet, "Subnet" },
        { "subnet with host bits", s => s.Subnet = "fd00:77::1/48", ErrorIds.PrefixHostBitsSet, "Subnet" },
        { "subnet is link-local", s => s.Subnet = "fe80::/48", ErrorIds.InvalidSubnet, "Subnet" },
        { "management prefix multicast", s => s.ManagementPrefix = "ff05::/64", ErrorIds.InvalidManagementPrefix, "ManagementPrefix" },
        { "management prefix too small", s => s.ManagementPrefix = "fd00:77:0:10::/120", ErrorIds.InvalidManagementPrefix, "ManagementPrefix" },
        { "pod prefix garbage", s => s.PodPrefix = "pods", ErrorIds.InvalidPodPrefix, "PodPrefix" },
        { "node mask shorter than pods", s => s.PodNodePrefixLength = 60, ErrorIds.InvalidPodNodePrefixLength, "PodNodePrefixLength" },
        { "node mask more than 16 longer", s => { s.PodPrefix = "fd00:77:40::/48"; s.PodNodePrefixLength = 80; }, ErrorIds.PodNodeMaskDifferenceTooLarge, "PodNodePrefixLength" },
        { "service range larger than /108", s => s.ServicePrefix = "fd00:77:0:30::/104", ErrorIds.ServicePrefixTooLarge, "ServicePrefix" },
        { "service range too small", s => s.ServicePrefix = "fd00:77:0:30::/126", ErrorIds.InvalidServicePrefix, "ServicePrefix" },
        { "NAT64 prefix length /80", s => s.Nat64Prefix = "fd00:77:0:64::/80", ErrorIds.InvalidNat64PrefixLength, "Nat64Prefix" },
        { "NAT64 prefix u-octet set", s => s.Nat64Prefix = "fd00:77:0:64:100::/96", ErrorIds.Nat64PrefixUOctetNotZero, "Nat64Prefix" },
        { "NAT64 prefix IPv4", s => s.Nat64Prefix = "198.18.0.0/16", ErrorIds.InvalidNat64Prefix, "Nat64Prefix" },
        { "NAT64 prefix multicast", s => s.Nat64Prefix = "ff0e::/96", ErrorIds.InvalidNat64Prefix, "Nat64Prefix" },
        { "pods overlap management", s => s.PodPrefix = "fd00:77:0:10::/64", ErrorIds.SubnetOverlap, "PodPrefix" },
        { "NAT64 inside services", s => { s.ServicePrefix = "fd00:77:0:64::/108"; }, ErrorIds.SubnetOverlap, "Nat64Prefix" },
        { "pool not IPv4", s => s.Nat64Pool = "fd00::/120", ErrorIds.InvalidNat64Pool, "Nat64Pool" },
        { "pool is loopback", s => s.Nat64Pool = "127.0.0.0/25", ErrorIds.InvalidNat64Pool, "Nat64Pool" },
        { "pool too small", s => s.Nat64Pool = "198.18.0.0/29", ErrorIds.Nat64PoolTooSmall, "Nat64Pool" },
        { "pool holds the upstream", s => { s.Nat64Pool = "198.51.100.0/24"; }, ErrorIds.Nat64PoolOverlapsDestination, "Nat64Pool" },
        { "upstream not an address", s => s.Dns64Upstream = new[] { "resolver.example" }, ErrorIds.InvalidDns64Upstream, "Dns64Upstream" },
        { "upstream with port", s => s.Dns64Upstream = new[] { "198.51.100.53:53" }, ErrorIds.InvalidDns64Upstream, "Dns64Upstream" },
        { "upstream loopback", s => s.Dns64Upstream = new[] { "::1" }, ErrorIds.InvalidDns64Upstream, "Dns64Upstream" },
        { "upstream twice", s => s.Dns64Upstream = new[] { "198.51.100.53", "198.51.100.53" }, ErrorIds.InvalidDns64Upstream, "Dns64Upstream" },
        { "upstream is the DNS64 itself", s => s.Dns64Upstream = new[] { "fd00:77:0:10::100" }, ErrorIds.Dns64UpstreamInsideCluster, "Dns64Upstream" },
        { "MTU below IPv6's minimum", s => s.Mtu = 1279, ErrorIds.InvalidMtu, "Mtu" },
        { "MTU past the largest packet", s => s.Mtu = 65536, ErrorIds.InvalidMtu, "Mtu" },
        { "unknown CNI", s => s.Cni = "flannel", ErrorIds.InvalidCni, "Cni" },
        { "calico block too large", s => { s.Cni = "calico"; s.CalicoBlockSize = 112; }, ErrorIds.InvalidCalicoBlockSize, "CalicoBlockSize" },
        { "calico block past 128", s => { s.Cni = "calico"; s.CalicoBlockSize = 129; }, ErrorIds.InvalidCalicoBlockSize, "CalicoBlockSize" },
        { "kubernetes version garbage", s => s.KubernetesVersion = "latest", ErrorIds.InvalidKubernetesVersion, "KubernetesVersion" },
        { "kubernetes version too old", s => s.KubernetesVersion = "v1.20.0", ErrorIds.UnsupportedKubernetesVersion, "KubernetesVersion" },
        { "kubernetes version too new", s => s.KubernetesVersion = "v1.40.0", ErrorIds.UnsupportedKubernetesVersion, "KubernetesVersion" },
        { "node image with spaces", s => s.NodeImage = "kindest/node:v1 ; rm", ErrorIds.InvalidNodeImage, "NodeImage" },
    };

    [Theory]
    [MemberData(nameof(InvalidSpecs))]
    public void EachInvalidSpecGetsItsErrorId(string why, Action<DindClusterSpec> mutate, string errorId, string parameter)
    {
        var spec = Valid();
        mutate(spec);
        var problems = SpecValidator.Validate(spec);
        Assert.True(problems.Count > 0, $"{why}: no problem reported");
        var problem = problems[0];
        Assert.Equal(errorId, problem.ErrorId);
        Assert.Equal(parameter, problem.ParameterName);
        Assert.StartsWith(parameter + ":", problem.Message);
        Assert.False(string.IsNullOrWhiteSpace(problem.RecommendedAction), $"{why}: no recommended action");
        Assert.NotEqual(DindErrorCategory.NotSpecified, problem.Category);
    }

    public static TheoryData<string, Action<DindClusterSpec>, string> EnvironmentConflicts() => new()
    {
        { "management on the host's uplink prefix", s => s.ManagementPrefix = "fd00::/64", ErrorIds.SubnetOverlapsHost },
        { "pods over an existing Docker network", s => s.PodPrefix = "fd00:d0c::/64", ErrorIds.SubnetOverlapsDockerNetwork },
        { "services inside another cluster", s => s.ServicePrefix = "fd00:99:0:30::/112", ErrorIds.SubnetOverlapsCluster },
        { "pool over a Docker network's IPv4", s => s.Nat64Pool = "198.19.128.0/25", ErrorIds.Nat64PoolOverlapsDestination },
        { "no upstream and no host resolver", s => s.Dns64Upstream = Array.Empty<string>(), ErrorIds.Dns64UpstreamMissing },
    };

    [Theory]
    [MemberData(nameof(EnvironmentConflicts))]
    public void ConflictsWithWhatIsAlreadyThereAreRefused(string why, Action<DindClusterSpec> mutate, string errorId)
    {
        var spec = Valid();
        mutate(spec);
        var problems = SpecValidator.Validate(spec, HostLikeCi);
        Assert.True(problems.Any(p => p.ErrorId == errorId), $"{why}: expected {errorId}, got {string.Join(", ", problems.Select(p => p.ErrorId))}");
    }

    [Fact]
    public void ALongSubnetIsFineWhenEveryRangeIsGiven()
    {
        var spec = Valid();
        spec.Subnet = "fd00:77::/64";
        Assert.Empty(SpecValidator.Validate(spec));
    }

    [Fact]
    public void HostileNamesNeverReachTheMessageRaw()
    {
        var spec = Valid();
        spec.ClusterName = "a\nb\u001b[31m";
        var problem = SpecValidator.Validate(spec)[0];
        // Ordinal checks: culture-aware comparison treats control characters as ignorable.
        Assert.False(problem.Message.Contains('\n'));
        Assert.False(problem.Message.Contains('\u001b'));
        Assert.Contains("\\u001b", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AllProblemsAreReportedNotJustTheFirst()
    {
        var spec = Valid();
        spec.ClusterName = "Bad";
        spec.Nat64Prefix = "fd00:77:0:64::/80";
        spec.Cni = "flannel";
        var ids = SpecValidator.Validate(spec).Select(p => p.ErrorId).ToList();
        Assert.Equal(new[] { ErrorIds.InvalidClusterName, ErrorIds.InvalidNat64PrefixLength, ErrorIds.InvalidCni }, ids);
    }
}
