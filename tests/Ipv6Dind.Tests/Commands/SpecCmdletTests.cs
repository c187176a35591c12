using Ipv6Dind;

namespace Ipv6Dind.Tests.Commands;

public sealed class SpecCmdletTests : IClassFixture<ModuleFixture>
{
    private readonly ModuleSession _ps;
    public SpecCmdletTests(ModuleFixture fixture) => _ps = fixture.Session;

    [Fact]
    public void TheWellKnownPrefixWithANonGlobalUpstreamIsAcceptedWithAWarning()
    {
        var r = _ps.Run("New-DindClusterSpec -Name lab -Nat64Prefix 64:ff9b::/96 -Dns64Upstream 198.51.100.53 -SkipHostCheck");
        r.AssertSuccess();
        Assert.Equal("64:ff9b::/96", r.Single<DindClusterSpec>().Nat64Prefix);
        var warning = Assert.Single(r.Warnings);
        Assert.Contains("RFC 6052 section 3.1", warning);
        Assert.Contains("-Nat64Prefix fd", warning);

        Assert.Empty(_ps.Run("New-DindClusterSpec -Name lab -Dns64Upstream 198.51.100.53 -SkipHostCheck").Warnings);
        // -WhatIf of New-DindCluster says it too (the bring-up itself warns through the lab's log).
        var whatIf = _ps.Run("New-DindCluster lab -NetworkOnly -Nat64Prefix 64:ff9b::/96 -Dns64Upstream 198.51.100.53 -WhatIf");
        whatIf.AssertSuccess();
        Assert.Contains(whatIf.Warnings, w => w.Contains("RFC 6052 section 3.1"));
    }

    [Fact]
    public void NewSpecFillsTheDefaultLayoutFromTheName()
    {
        var r = _ps.Run("New-DindClusterSpec -ClusterName lab -Nodes 3 -Dns64Upstream 198.51.100.53");
        r.AssertSuccess();
        var spec = r.Single<DindClusterSpec>();
        Assert.Equal("lab", spec.ClusterName);
        Assert.Equal(3, spec.Nodes);
        Assert.EndsWith("::/48", spec.Subnet);
        Assert.StartsWith("fd", spec.Subnet);
        var prefix = spec.Subnet[..spec.Subnet.IndexOf("::", StringComparison.Ordinal)];
        Assert.Equal($"{prefix}:10::/64", spec.ManagementPrefix);
        Assert.Equal($"{prefix}:40::/64", spec.PodPrefix);
        Assert.Equal($"{prefix}:30::/112", spec.ServicePrefix);
        Assert.Equal($"{prefix}:64::/96", spec.Nat64Prefix);
        Assert.EndsWith(".128/25", spec.Nat64Pool);
        Assert.StartsWith("198.18.", spec.Nat64Pool);
        Assert.Equal(new[] { "198.51.100.53" }, spec.Dns64Upstream);
    }

    [Fact]
    public void TheSameNameGivesTheSameAddressesAndAnotherNameOthers()
    {
        var a = _ps.Run("New-DindClusterSpec lab").Single<DindClusterSpec>();
        var b = _ps.Run("New-DindClusterSpec lab").Single<DindClusterSpec>();
        var c = _ps.Run("New-DindClusterSpec lab2").Single<DindClusterSpec>();
        Assert.Equal(a.Subnet, b.Subnet);
        Assert.NotEqual(a.Subnet, c.Subnet);
        Assert.NotEqual(a.Nat64Pool, c.Nat64Pool);
    }

    [Fact]
    public void SpecBindsByPropertyNameFromThePipeline()
    {
        var r = _ps.Run("[pscustomobject]@{ ClusterName = 'piped'; Nodes = 2; Subnet = 'fd00:77::/48' } | New-DindClusterSpec");
        r.AssertSuccess();
        var spec = r.Single<DindClusterSpec>();
        Assert.Equal(("piped", 2, "fd00:77:0:10::/64"), (spec.ClusterName, spec.Nodes, spec.ManagementPrefix));
    }

    [Fact]
    public void AddressPlanListsEveryNodeAndSupportContainer()
    {
        var r = _ps.Run("New-DindClusterSpec lab -Nodes 3 -Subnet fd00:77::/48 -Dns64Upstream 198.51.100.53 | Get-DindAddressPlan");
        r.AssertSuccess();
        var rows = r.All<DindAddressAssignment>().ToList();
        Assert.Contains(rows, x => x.Role == "Dns64" && x.IPAddress == "fd00:77:0:10::100");
        Assert.Contains(rows, x => x.Role == "Nat64" && x.IPAddress == "fd00:77:0:10::200");
        Assert.Contains(rows, x => x.Role == "ControlPlane" && x.Name == "lab-node-1" && x.IPAddress == "fd00:77:0:10::1001" && x.Prefix == "fd00:77:0:40:1::/80");
        Assert.Contains(rows, x => x.Role == "Worker" && x.Name == "lab-node-3" && x.IPAddress == "fd00:77:0:10::1003" && x.Prefix == "fd00:77:0:40:3::/80");
        Assert.Contains(rows, x => x.Role == "KubeDns" && x.IPAddress == "fd00:77:0:30::a");
        Assert.Contains(rows, x => x.Role == "Dns64Upstream" && x.IPAddress == "198.51.100.53");
    }

    [Fact]
    public void FilteringRowsWithWhereObjectWorks()
    {
        var r = _ps.Run("New-DindClusterSpec lab -Nodes 5 -Subnet fd00:77::/48 | Get-DindAddressPlan | Where-Object Role -eq 'Worker'");
        r.AssertSuccess();
        Assert.Equal(4, r.Output.Count);
    }

    [Theory]
    [InlineData("New-DindClusterSpec -ClusterName 'Lab'", "InvalidClusterName")]
    [InlineData("New-DindClusterSpec -ClusterName 'a;rm -rf /'", "InvalidClusterName")]
    [InlineData("New-DindClusterSpec -ClusterName 'x$(id)'", "InvalidClusterName")]
    [InlineData("New-DindClusterSpec -ClusterName ('a' + [char]10 + 'b')", "InvalidClusterName")]
    [InlineData("New-DindClusterSpec -ClusterName '../etc'", "InvalidClusterName")]
    [InlineData("New-DindClusterSpec -ClusterName lab -Nodes 1022", "NodeCountExceedsBridgePorts")]
    [InlineData("New-DindClusterSpec -ClusterName lab -Subnet fd00:77::1/48", "PrefixHostBitsSet")]
    [InlineData("New-DindClusterSpec -ClusterName lab -Subnet 198.51.100.0/24", "InvalidSubnet")]
    [InlineData("New-DindClusterSpec -ClusterName lab -Nat64Prefix fd00:77:64::/80", "InvalidNat64PrefixLength")]
    [InlineData("New-DindClusterSpec -ClusterName lab -Nat64Prefix fd00:77:64:ff9b:ff00::/96", "Nat64PrefixUOctetNotZero")]
    [InlineData("New-DindClusterSpec -ClusterName lab -ServicePrefix fd00:77:30::/100", "ServicePrefixTooLarge")]
    [InlineData("New-DindClusterSpec -ClusterName lab -Subnet fd00:77::/48 -ServicePrefix fd00:77:0:10::/112", "SubnetOverlap")]
    [InlineData("New-DindClusterSpec -ClusterName lab -PodPrefix fd00:77:40::/56 -PodNodePrefixLength 80", "PodNodeMaskDifferenceTooLarge")]
    [InlineData("New-DindClusterSpec -ClusterName lab -Cni calico -CalicoBlockSize 112", "InvalidCalicoBlockSize")]
    [InlineData("New-DindClusterSpec -ClusterName lab -Dns64Upstream 127.0.0.1", "InvalidDns64Upstream")]
    [InlineData("New-DindClusterSpec -ClusterName lab -Nat64Pool 198.18.0.0/30", "Nat64PoolTooSmall")]
    [InlineData("New-DindClusterSpec -ClusterName lab -Nat64Pool 198.51.100.0/24 -Dns64Upstream 198.51.100.53", "Nat64PoolOverlapsDestination")]
    [InlineData("New-DindClusterSpec -ClusterName lab -KubernetesVersion 1.19", "UnsupportedKubernetesVersion")]
    [InlineData("New-DindClusterSpec -ClusterName lab -KubernetesVersion latest", "InvalidKubernetesVersion")]
    public void BadInputGetsItsStableErrorId(string script, string errorId)
    {
        var r = _ps.Run(script);
        // A cmdlet's terminating error ends its statement; a script run through AddScript reports it on the error stream.
        Assert.Empty(r.Output);
        Assert.Equal(errorId + ",Ipv6Dind.Commands.NewDindClusterSpecCommand", r.ErrorId);
    }

    [Fact]
    public void ErrorRecordsCarryCategoryTargetAndWhatWouldBeValid()
    {
        var r = _ps.Run("New-DindClusterSpec -ClusterName lab -Nat64Prefix fd00:77:64::/80");
        var error = r.Error;
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Equal("fd00:77:64::/80", error.TargetObject);
        Assert.Contains("Nat64Prefix", error.ToString());
        Assert.Contains("/96", error.ErrorDetails.RecommendedAction);
    }

    [Fact]
    public void OverlapWithTheHostsOwnAddressesIsRefused()
    {
        // Use one of this host's global IPv6 addresses (CI machines have fd00::2/64 on eth0), as the management range.
        var hostRange = File.Exists("/proc/net/if_inet6")
            ? File.ReadAllLines("/proc/net/if_inet6").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 6 && f[2] == "40" && (f[0].StartsWith("fd") || f[0].StartsWith("2")))
                .Select(f => new System.Net.IPAddress(Convert.FromHexString(f[0][..16] + new string('0', 16))) + "/64")
                .FirstOrDefault()
            : null;
        if (hostRange is null) return; // a host without a global IPv6 /64: nothing to collide with
        var r = _ps.Run($"New-DindClusterSpec -ClusterName lab -ManagementPrefix {hostRange}");
        Assert.Equal("SubnetOverlapsHost,Ipv6Dind.Commands.NewDindClusterSpecCommand", r.ErrorId);
        var skipped = _ps.Run($"New-DindClusterSpec -ClusterName lab -ManagementPrefix {hostRange} -SkipHostCheck");
        skipped.AssertSuccess();
    }
}
