using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// Removal touches only what is provably the cluster's (label and network ID): 0.3 tagged cluster rules and the
/// daemon's own MASQUERADE rule alike ("ipv6dind:&lt;x&gt;"), so `Remove-DindCluster docker-ipv6` deleted the host's
/// Docker IPv6 egress rule even when no such cluster existed.
/// </summary>
[Collection("lab")]
public sealed class RuleNamespaceTests
{
    private readonly LabFixture _f;
    public RuleNamespaceTests(LabFixture fixture) => _f = fixture;

    [Fact]
    public async Task RemovingAClusterNamedLikeTheDaemonsRuleLeavesThatRule()
    {
        var firewall = new HostFirewall();
        var daemonRule = DockerIpv6Prefix.MasqueradeRule(Ipv6Prefix.Parse("fd00:d0c:7e57::/64"));
        await firewall.EnsureAsync(new[] { daemonRule }, default);
        try
        {
            // No such cluster: nothing to remove, and above all not the daemon's rule.
            _f.Ps.Run("Remove-DindCluster docker-ipv6 -Confirm:$false").AssertSuccess();
            Assert.Single(await firewall.ListByCommentAsync(DockerIpv6Prefix.MasqueradeComment, default),
                r => r.Specification.Contains("fd00:d0c:7e57::/64"));
            // And the name is not given to new clusters.
            Assert.Equal("InvalidClusterName", _f.Ps.Run("New-DindClusterSpec docker-ipv6").ErrorId?.Split(',')[0]);
        }
        finally
        {
            await firewall.RemoveAsync(new[] { daemonRule }, default);
        }
    }

    [Fact]
    public async Task RulesOfAnEarlierClusterOfTheSameNameAreNamedNotRemoved()
    {
        const string name = "it-ns-orphan";
        var firewall = new HostFirewall();
        // What a lab of this name on a network that no longer exists (or another daemon's) would have left.
        var orphan = HostFirewall.AaaaModeRules(LabNames.HostRuleComment(name, "0123456789ab"), "fd00:77:ee:10::/64")[1];
        try
        {
            await _f.Lab().CreateAsync(new DindClusterSpec { ClusterName = name, Nodes = 1, AllowAaaa = true, Dns64Upstream = new[] { _f.Upstream } }, new LabOptions());
            await firewall.EnsureAsync(new[] { orphan }, default);
            Assert.Equal(4, (await firewall.ListClusterAsync(name, default)).Count);

            var removal = _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false");
            removal.AssertSuccess();
            // Its own three rules went; the orphan stays, named in a warning with the command that removes it.
            Assert.Equal(new[] { orphan.Comment }, (await firewall.ListClusterAsync(name, default)).Select(r => r.Comment));
            Assert.Contains(removal.Warnings, w => w.Contains("0123456789ab", StringComparison.Ordinal) && w.Contains("ip6tables -t filter -D FORWARD", StringComparison.Ordinal));
        }
        finally
        {
            await firewall.RemoveAsync(new[] { orphan }, default);
            await _f.Lab().RemoveAsync(name);
        }
    }
}
