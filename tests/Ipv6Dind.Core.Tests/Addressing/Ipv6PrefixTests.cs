using System.Net;
using System.Numerics;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Tests.Addressing;

public class Ipv6PrefixTests
{
    [Theory]
    [InlineData("FD00:0077:0000:0010:0000::/64", "fd00:77:0:10::/64")]
    [InlineData(" 2001:DB8::/32 ", "2001:db8::/32")]
    [InlineData("::/0", "::/0")]
    [InlineData("fd00:77::1/128", "fd00:77::1/128")]
    public void ParsesAndNormalisesToCanonicalText(string text, string canonical)
    {
        Assert.Equal(canonical, Ipv6Prefix.Parse(text).ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("fd00:77::", "no prefix length")]
    [InlineData("fd00:77::/129", "between 0 and 128")]
    [InlineData("fd00:77::/-1", "between 0 and 128")]
    [InlineData("198.51.100.0/24", "not an IPv6 address")]
    [InlineData("fd00:77::1/64", "host bits are set")]
    [InlineData("fe80::1%eth0/64", "not an IPv6 address")]
    [InlineData("fd00:zz::/64", "not an IPv6 address")]
    public void RejectsWithAReason(string text, string reason)
    {
        Assert.Null(Ipv6Prefix.TryParse(text, out var why));
        Assert.Contains(reason, why);
    }

    [Fact]
    public void ContainsAndOverlaps()
    {
        var a = Ipv6Prefix.Parse("fd00:77::/48");
        var b = Ipv6Prefix.Parse("fd00:77:0:10::/64");
        var c = Ipv6Prefix.Parse("fd00:78::/48");
        Assert.True(a.Contains(b));
        Assert.False(b.Contains(a));
        Assert.True(a.Overlaps(b) && b.Overlaps(a));
        Assert.False(a.Overlaps(c));
        Assert.True(a.Contains(IPAddress.Parse("fd00:77:0:ffff::1")));
        Assert.False(a.Contains(IPAddress.Parse("fd00:77:ffff::1")));
        Assert.False(a.Contains(IPAddress.Parse("198.51.100.1")));
    }

    [Fact]
    public void SplitIsLazyAndStartsAtOnceEvenForTwoToTheThirtyTwo()
    {
        var p = Ipv6Prefix.Parse("fd00:77::/48");
        var first = p.Split(80).Take(3).Select(x => x.ToString()).ToArray();
        Assert.Equal(new[] { "fd00:77::/80", "fd00:77:0:0:1::/80", "fd00:77:0:0:2::/80" }, first);
        Assert.Equal(BigInteger.One << 32, p.SubPrefixCount(80));
        var skipped = p.Split(80, (BigInteger.One << 32) - 1).ToArray();
        Assert.Equal("fd00:77:0:ffff:ffff::/80", Assert.Single(skipped).ToString());
    }

    [Fact]
    public void SubPrefixByIndexMatchesTheSplit()
    {
        var p = Ipv6Prefix.Parse("2001:db8:40::/72");
        var split = p.Split(80).Take(10).ToList();
        for (var i = 0; i < 10; i++) Assert.Equal(split[i], p.SubPrefix(80, i));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.SubPrefix(80, 256));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.SubPrefix(64, 0));
    }

    [Fact]
    public void AddressArithmetic()
    {
        var mgmt = Ipv6Prefix.Parse("fd00:77:0:10::/64");
        Assert.Equal("fd00:77:0:10::100", mgmt.AddressAt(0x100).ToString());
        Assert.Equal("fd00:77:0:10:ffff:ffff:ffff:ffff", mgmt.LastAddress.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => Ipv6Prefix.Parse("fd00::/127").AddressAt(2));
    }
}
