using System.Net;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Core.Tests.Addressing;

/// <summary>
/// The Well-Known Prefix and non-global IPv4 (RFC 6052 section 3.1, as tayga 0.9.2 enforces it), and the planning
/// warning that follows from it.
/// </summary>
public class Nat64AdviceTests
{
    [Theory]
    [InlineData("10.0.0.1", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("192.168.0.1", true)]
    [InlineData("192.0.0.170", true)]      // ipv4only.arpa's own A record
    [InlineData("198.18.0.1", true)]
    [InlineData("198.19.255.254", true)]
    [InlineData("198.51.100.80", true)]
    [InlineData("203.0.113.9", true)]
    [InlineData("100.128.0.1", false)]     // just above 100.64/10
    [InlineData("172.32.0.1", false)]
    [InlineData("198.20.0.1", false)]
    public void NonGlobalIpv4FollowsRfc6052AndTayga(string address, bool nonGlobal)
    {
        Assert.Equal(nonGlobal, Rfc6052.IsNonGlobal(IPAddress.Parse(address)));
        Assert.Equal(nonGlobal, Rfc6052.WellKnownPrefixRefuses(Rfc6052.WellKnownPrefix, IPAddress.Parse(address)));
        Assert.False(Rfc6052.WellKnownPrefixRefuses(Ipv6Prefix.Parse("fd00:77:0:64::/96"), IPAddress.Parse(address)));
    }

    [Fact]
    public void TheWellKnownPrefixWithANonGlobalUpstreamWarnsAndSuggestsTheClustersOwnPrefix()
    {
        var warning = Nat64Advice.WellKnownPrefixWarning("64:ff9b::/96", new[] { "198.51.100.53", "2001:db8:5e5e::53" }, "fd00:77::/48");
        Assert.NotNull(warning);
        Assert.Contains("RFC 6052 section 3.1", warning);
        Assert.Contains("198.51.100.53", warning);
        Assert.DoesNotContain("2001:db8:5e5e::53", warning);
        Assert.Contains("-Nat64Prefix fd00:77:0:64::/96", warning);
    }

    [Theory]
    [InlineData("fd00:77:0:64::/96", "198.51.100.53")]      // a network-specific prefix: non-global is fine
    [InlineData("64:ff9b::/96", "100.128.0.53")]            // a global upstream: no hint that the names are not
    [InlineData("64:ff9b::/96", "2001:db8:5e5e::53")]       // IPv6 upstream: says nothing about IPv4 destinations
    [InlineData("not a prefix", "198.51.100.53")]
    public void NoWarningOtherwise(string prefix, string upstream) =>
        Assert.Null(Nat64Advice.WellKnownPrefixWarning(prefix, new[] { upstream }, "fd00:77::/48"));

    [Fact]
    public void TheSuggestionIsTheDefaultPrefixOfTheSubnetOrAUlaExample()
    {
        var spec = SpecBuilder.Resolve(new DindClusterSpec { ClusterName = "lab", Nodes = 1, Dns64Upstream = new[] { "198.51.100.53" } }, PlanEnvironment.Empty);
        Assert.Equal(spec.Nat64Prefix, Nat64Advice.SuggestedPrefix(spec.Subnet));
        Assert.Equal("fd00:77:64:ff9b::/96", Nat64Advice.SuggestedPrefix("fd00:77:0:1::/64"));
        Assert.Equal("fd00:77:64:ff9b::/96", Nat64Advice.SuggestedPrefix(null));
    }

    [Fact]
    public void TheWellKnownPrefixIsStillAcceptedByPlanning()
    {
        // A warning, not a refusal: with a global outside world the Well-Known Prefix is the usual choice.
        var spec = SpecBuilder.Resolve(new DindClusterSpec { ClusterName = "lab", Nodes = 1, Nat64Prefix = "64:ff9b::/96", Dns64Upstream = new[] { "198.51.100.53" } }, PlanEnvironment.Empty);
        Assert.Equal("64:ff9b::/96", spec.Nat64Prefix);
    }
}
