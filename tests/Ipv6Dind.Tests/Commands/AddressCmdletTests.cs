using System.Management.Automation;
using Ipv6Dind;

namespace Ipv6Dind.Tests.Commands;

public sealed class AddressCmdletTests : IClassFixture<ModuleFixture>
{
    private readonly ModuleSession _ps;
    public AddressCmdletTests(ModuleFixture fixture) => _ps = fixture.Session;

    [Fact]
    public void ConvertsBothWaysThroughThePipeline()
    {
        var r = _ps.Run("'198.51.100.80','198.51.100.53' | ConvertTo-Nat64Address -Nat64Prefix fd00:77:0:64::/96 | ConvertFrom-Nat64Address");
        r.AssertSuccess();
        var back = r.All<Nat64Address>().ToList();
        Assert.Equal(new[] { "198.51.100.80", "198.51.100.53" }, back.Select(b => b.IPv4Address));
        Assert.Equal("fd00:77:0:64::c633:6450", back[0].IPv6Address);
        Assert.All(back, b => Assert.Equal("fd00:77:0:64::/96", b.Prefix));
    }

    [Fact]
    public void DefaultPrefixIsTheWellKnownOne()
    {
        var r = _ps.Run("ConvertTo-Nat64Address 198.51.100.80");
        Assert.Equal("64:ff9b::c633:6450", r.Single<Nat64Address>().IPv6Address);
    }

    [Fact]
    public void BindsPrefixByPropertyNameFromASpec()
    {
        var r = _ps.Run("New-DindClusterSpec lab -Subnet fd00:77::/48 -SkipHostCheck | ForEach-Object { [pscustomobject]@{ IPv4Address = '198.51.100.80'; Nat64Prefix = $_.Nat64Prefix } } | ConvertTo-Nat64Address");
        r.AssertSuccess();
        Assert.Equal("fd00:77:0:64::c633:6450", r.Single<Nat64Address>().IPv6Address);
    }

    [Theory]
    [InlineData("ConvertTo-Nat64Address 198.51.100", "InvalidIPv4Address")]
    [InlineData("ConvertTo-Nat64Address 198.51.100.80 -Nat64Prefix fd00:77::/80", "InvalidNat64PrefixLength")]
    [InlineData("ConvertTo-Nat64Address 198.51.100.80 -Nat64Prefix fd00:77:0:64:100::/96", "Nat64PrefixUOctetNotZero")]
    [InlineData("ConvertTo-Nat64Address 198.51.100.80 -Nat64Prefix nonsense", "InvalidNat64Prefix")]
    [InlineData("ConvertFrom-Nat64Address fd00:77::1 -Nat64Prefix 64:ff9b::/96", "AddressOutsideNat64Prefix")]
    [InlineData("ConvertFrom-Nat64Address 198.51.100.80", "InvalidIPv6Address")]
    [InlineData("Split-Ipv6Prefix fd00:77::/48 -SubnetLength 40", "InvalidSubnetLength")]
    [InlineData("Split-Ipv6Prefix fd00:77::1/48 -SubnetLength 64", "PrefixHostBitsSet")]
    [InlineData("Split-Ipv6Prefix 198.51.100.0/24 -SubnetLength 25", "InvalidPrefix")]
    public void BadInputGetsItsErrorId(string script, string errorId)
    {
        var r = _ps.Run(script);
        Assert.Empty(r.Output);
        Assert.StartsWith(errorId + ",", r.ErrorId);
    }

    [Fact]
    public void ABadAddressInAListIsNonTerminating()
    {
        var r = _ps.Run("ConvertTo-Nat64Address 198.51.100.80, bogus, 198.51.100.53");
        Assert.Equal(2, r.Output.Count);
        Assert.Single(r.Errors);
        Assert.Equal(ErrorCategory.InvalidArgument, r.Errors[0].CategoryInfo.Category);
        Assert.Equal("bogus", r.Errors[0].TargetObject);
    }

    [Fact]
    public void SplitStreamsLikeSipcalc()
    {
        var r = _ps.Run("Split-Ipv6Prefix 2001:db8:77:100::/56 -SubnetLength 60 -First 3");
        r.AssertSuccess();
        var subnets = r.All<Ipv6Subnet>().ToList();
        Assert.Equal(new[] { "2001:db8:77:100::/60", "2001:db8:77:110::/60", "2001:db8:77:120::/60" }, subnets.Select(s => s.Prefix));
        Assert.Equal("2001:db8:77:10f:ffff:ffff:ffff:ffff", subnets[0].LastAddress);
    }

    [Fact]
    public void SplittingA48Into80sStartsAtOnceAndSkipsWithoutEnumerating()
    {
        // 2^32 sub-prefixes: only lazy streaming and index arithmetic make these return.
        var r = _ps.Run("Split-Ipv6Prefix fd00:77::/48 80 -First 1");
        Assert.Equal("fd00:77::/80", r.Single<Ipv6Subnet>().Prefix);
        var last = _ps.Run("Split-Ipv6Prefix fd00:77::/48 80 -Skip 4294967295");
        Assert.Equal("fd00:77:0:ffff:ffff::/80", last.Single<Ipv6Subnet>().Prefix);
        // A downstream stop after 1000 items returns at once: nothing upstream enumerated 2^32 prefixes first.
        var pipelineStop = _ps.Run("$n = 0; try { Split-Ipv6Prefix fd00:77::/48 80 | ForEach-Object { $n++; if ($n -ge 1000) { throw 'enough' } } } catch { }; $n");
        Assert.Equal(1000, (int)pipelineStop.Output.Last().BaseObject);
    }

    [Fact]
    public void TotalCountIsReported()
    {
        var r = _ps.Run("Split-Ipv6Prefix fd00:77::/48 -SubnetLength 64 -First 0 -IncludeTotalCount | ForEach-Object { \"$_\" }");
        Assert.Contains("65536", (string)Assert.Single(r.Output).BaseObject);
    }
}
