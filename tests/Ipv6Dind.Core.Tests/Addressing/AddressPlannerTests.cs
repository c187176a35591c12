using Ipv6Dind.Core.Spec;
using System.Diagnostics;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Tests.Addressing;

public class AddressPlannerTests
{
    private static DindClusterSpec Spec(int nodes = 3) => new()
    {
        ClusterName = "lab", Nodes = nodes, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" },
    };

    [Fact]
    public void PlansTheDesignLayout()
    {
        var plan = AddressPlanner.Plan(Spec());
        Assert.Equal("fd00:77:0:10::/64", plan.ManagementPrefix);
        Assert.Equal("fd00:77:0:10::1", plan.ManagementGateway);
        Assert.Equal("fd00:77:0:10::100", plan.Dns64Address);
        Assert.Equal("fd00:77:0:10::200", plan.Nat64Address);
        Assert.Equal("fd00:77:0:40::/64", plan.PodPrefix);
        Assert.Equal("fd00:77:0:30::/112", plan.ServicePrefix);
        Assert.Equal("fd00:77:0:30::a", plan.KubeDnsAddress);
        Assert.Equal("fd00:77:0:64::/96", plan.Nat64Prefix);
        Assert.Equal(3, plan.NodeAddresses.Count);
        Assert.Equal(("lab-node-1", "ControlPlane", "fd00:77:0:10::1001", "fd00:77:0:40:1::/80", "fd00:77:0:40:1::1"),
            (plan.NodeAddresses[0].NodeName, plan.NodeAddresses[0].Role, plan.NodeAddresses[0].IPv6Address, plan.NodeAddresses[0].PodPrefix, plan.NodeAddresses[0].PodGateway));
        Assert.Equal("fd00:77:0:40:3::/80", plan.NodeAddresses[2].PodPrefix);
        Assert.Equal("fd00:77:0:10::1001", plan.ApiServerAddress);
    }

    [Fact]
    public void TaygaAddressIsJustBelowThePoolAndOutsideIt()
    {
        var spec = Spec();
        spec.Nat64Pool = "198.18.7.128/25";
        var plan = AddressPlanner.Plan(spec);
        Assert.Equal("198.18.7.127", plan.Nat64Ipv4Address);
        Assert.False(Ipv4Prefix.Parse(plan.Nat64Pool).Contains(System.Net.IPAddress.Parse(plan.Nat64Ipv4Address)));
    }

    [Fact]
    public void DefaultPoolMovesAwayFromARangeInUse()
    {
        // Found by the fault tests: "it-rf-ok" hashed onto Docker's own bridge (198.18.254.0/24 on the CI daemon).
        var first = SpecDefaults.DerivePool("it-rf-ok", 1);
        var taken = new PlanEnvironment { Reserved = new[] { new ReservedRange(Ipv4Prefix.Containing(first.Network, 24).ToString(), ReservationKind.DockerNetwork, "Docker network 'bridge'") } };
        var moved = SpecDefaults.DerivePool("it-rf-ok", 1, taken);
        Assert.False(moved.Overlaps(Ipv4Prefix.Containing(first.Network, 24)));
        Assert.Equal(moved, SpecDefaults.DerivePool("it-rf-ok", 1, taken)); // still deterministic
        var spec = SpecBuilder.Resolve(new DindClusterSpec { ClusterName = "it-rf-ok", Dns64Upstream = new[] { "198.51.100.53" } }, taken);
        Assert.Equal(moved.ToString(), spec.Nat64Pool);
    }

    [Fact]
    public void DefaultPoolIsInBenchmarkingSpaceAndGrowsWithTheNodeCount()
    {
        var small = SpecDefaults.DerivePool("lab", 3);
        Assert.Equal(25, small.Length);
        Assert.True(Ipv4Prefix.Parse("198.18.0.0/16").Overlaps(small));
        var big = SpecDefaults.DerivePool("lab", 500);
        Assert.True(big.Size >= 1000);
        Assert.True(Ipv4Prefix.Parse("198.18.0.0/16").Overlaps(big));
        var plan = AddressPlanner.Plan(Spec(500));
        Assert.True(Ipv4Prefix.Parse(plan.Nat64Pool).Size >= 1000);
    }

    [Fact]
    public void DerivedSubnetsAreUlaAndAvoidReservedRanges()
    {
        var derived = SpecDefaults.DeriveSubnet("lab", PlanEnvironment.Empty);
        Assert.True(Ipv6Prefix.Parse("fd00::/8").Contains(derived));
        Assert.Equal(48, derived.Length);
        var reserved = new PlanEnvironment { Reserved = new[] { new ReservedRange(derived.ToString(), ReservationKind.Cluster, "cluster 'x'") } };
        var second = SpecDefaults.DeriveSubnet("lab", reserved);
        Assert.NotEqual(derived, second);
        Assert.False(second.Overlaps(derived));
    }

    [Fact]
    public void HostResolversFillAnEmptyUpstream()
    {
        var spec = Spec();
        spec.Dns64Upstream = Array.Empty<string>();
        var plan = AddressPlanner.Plan(spec, new PlanEnvironment { HostResolvers = new[] { "198.51.100.53" } });
        Assert.Equal(new[] { "198.51.100.53" }, plan.Dns64Upstream);
        var missing = Assert.Throws<DindException>(() => AddressPlanner.Plan(spec, new PlanEnvironment { HostResolvers = Array.Empty<string>() }));
        Assert.Equal(ErrorIds.Dns64UpstreamMissing, missing.ErrorId);
    }

    [Fact]
    public void TheLargestClusterGetsDistinctAddressesAndPodRanges()
    {
        var spec = Spec(SpecValidator.MaxNodes);
        var plan = AddressPlanner.Plan(spec);
        Assert.Equal(SpecValidator.MaxNodes, plan.NodeAddresses.Count);
        Assert.Equal(plan.NodeAddresses.Count, plan.NodeAddresses.Select(n => n.IPv6Address).Distinct().Count());
        Assert.Equal(plan.NodeAddresses.Count, plan.NodeAddresses.Select(n => n.PodPrefix).Distinct().Count());
        Assert.DoesNotContain(plan.NodeAddresses, n => n.IPv6Address == plan.Dns64Address || n.IPv6Address == plan.Nat64Address);
        Assert.Equal("fd00:77:0:40:3fd::/80", plan.NodeAddresses[^1].PodPrefix);
    }

    [Fact]
    public void PlanningDoesNotChangeItsInput()
    {
        var spec = new DindClusterSpec { ClusterName = "lab" };
        AddressPlanner.Plan(spec);
        Assert.Equal("", spec.Subnet);
        Assert.Equal("", spec.ManagementPrefix);
    }
}
