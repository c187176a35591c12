using System.Net;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Tests.Addressing;

public class Rfc6052Tests
{
    // RFC 6052 section 2.4, Table 1: 192.0.2.33 under each prefix length (pure computation, nothing is sent).
    [Theory]
    [InlineData("2001:db8::/32", "2001:db8:c000:221::")]
    [InlineData("2001:db8:100::/40", "2001:db8:1c0:2:21::")]
    [InlineData("2001:db8:122::/48", "2001:db8:122:c000:2:2100::")]
    [InlineData("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::")]
    [InlineData("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0")]
    [InlineData("2001:db8:122:344::/96", "2001:db8:122:344::c000:221")]
    public void EmbedsAndExtractsTheRfcExamplesForAllSixLengths(string prefix, string expected)
    {
        var p = Ipv6Prefix.Parse(prefix);
        var v4 = IPAddress.Parse("192.0.2.33");
        var v6 = Rfc6052.Embed(p, v4);
        Assert.Equal(IPAddress.Parse(expected), v6);
        Assert.Equal(v4, Rfc6052.Extract(p, v6));
    }

    [Theory]
    [InlineData(32)]
    [InlineData(40)]
    [InlineData(48)]
    [InlineData(56)]
    [InlineData(64)]
    [InlineData(96)]
    public void RoundTripsManyAddressesAndNeverTouchesTheUOctet(int length)
    {
        var p = SpecDefaults.Carve(Ipv6Prefix.Parse("fd00:77::/48"), 0x64, 64).SubPrefix(length < 64 ? 64 : length, 0);
        if (length < 64) p = Ipv6Prefix.Containing(IPAddress.Parse("2001:db8:77::"), length);
        var random = new Random(length);
        for (var i = 0; i < 500; i++)
        {
            var bytes = new byte[4];
            random.NextBytes(bytes);
            var v4 = new IPAddress(bytes);
            var v6 = Rfc6052.Embed(p, v4);
            Assert.Equal(0, v6.GetAddressBytes()[8]);
            Assert.True(p.Contains(v6));
            Assert.Equal(v4, Rfc6052.Extract(p, v6));
        }
    }

    [Fact]
    public void WellKnownPrefixGivesTheUsualForm()
    {
        Assert.Equal("64:ff9b::c633:6450", Rfc6052.Embed(Rfc6052.WellKnownPrefix, IPAddress.Parse("198.51.100.80")).ToString());
    }

    [Theory]
    [InlineData("fd00:77:64::/80", "not an RFC 6052 prefix length")]
    [InlineData("fd00:77:64:ff9b:ff00::/96", "u' octet")]
    public void ProblemsAreNamed(string prefix, string fragment)
    {
        Assert.Contains(fragment, Rfc6052.Problem(Ipv6Prefix.Parse(prefix)));
    }

    [Fact]
    public void ExtractRefusesAnAddressOutsideThePrefix()
    {
        Assert.Throws<ArgumentException>(() => Rfc6052.Extract(Rfc6052.WellKnownPrefix, IPAddress.Parse("fd00:77::1")));
    }
}
