using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Tests.Host;

public sealed class HostNetworkFactsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ipv6dind-facts-").FullName;

    public HostNetworkFactsTests()
    {
        // A fixture tree shaped like this lab machine's /proc and /etc (eth0 fd00::2/64 + 198.51.100.x route).
        Directory.CreateDirectory(Path.Combine(_root, "proc/net"));
        Directory.CreateDirectory(Path.Combine(_root, "etc"));
        Directory.CreateDirectory(Path.Combine(_root, "run/systemd/resolve"));
        File.WriteAllText(Path.Combine(_root, "proc/net/if_inet6"),
            "fd000000000000000000000000000002 04 40 00 82     eth0\n" +
            "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n" +
            "00000000000000000000000000000001 01 80 10 80       lo\n");
        File.WriteAllText(Path.Combine(_root, "proc/net/ipv6_route"),
            "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n" +
            "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0\n" +
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n" +
            "20010db8007700000000000000000000 30 00000000000000000000000000000000 00 00000000000000000000000000000000 00000400 00000002 00000000 00000003  br-lab\n");
        File.WriteAllText(Path.Combine(_root, "proc/net/route"),
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
            "eth0\t00000000\t016433C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
            "veth0\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
        File.WriteAllText(Path.Combine(_root, "etc/resolv.conf"), "# stub\nnameserver 127.0.0.53\noptions edns0\n");
        File.WriteAllText(Path.Combine(_root, "run/systemd/resolve/resolv.conf"), "nameserver 198.51.100.53\nnameserver 2001:db8::53\nnameserver fe80::1\n");
    }

    [Fact]
    public void ReadsAddressesAndRoutesButNotDefaultLinkLocalOrLoopback()
    {
        var env = HostNetworkFacts.Read(_root);
        var prefixes = env.Reserved.Select(r => r.Prefix).ToList();
        Assert.Contains("fd00::/64", prefixes);
        Assert.Contains("2001:db8:77::/48", prefixes);
        Assert.Contains("198.51.100.0/24", prefixes);
        Assert.DoesNotContain(prefixes, p => p.StartsWith("fe80") || p == "::/0" || p == "0.0.0.0/0" || p.StartsWith("::1"));
        Assert.Single(prefixes, p => p == "fd00::/64"); // address and route name the same range once
        Assert.All(env.Reserved, r => Assert.Equal(ReservationKind.Host, r.Kind));
    }

    [Fact]
    public void SkipsALoopbackStubResolverForTheRealUpstreams()
    {
        Assert.Equal(new[] { "198.51.100.53", "2001:db8::53" }, HostNetworkFacts.Resolvers(_root));
    }

    [Fact]
    public void MissingFilesGiveNoFacts()
    {
        var empty = Directory.CreateTempSubdirectory("ipv6dind-empty-").FullName;
        try
        {
            var env = HostNetworkFacts.Read(empty);
            Assert.Empty(env.Reserved);
            Assert.Empty(env.HostResolvers!);
        }
        finally { Directory.Delete(empty, true); }
    }

    public void Dispose() => Directory.Delete(_root, true);
}
