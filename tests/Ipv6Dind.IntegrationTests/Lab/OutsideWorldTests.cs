using System.Net;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// The simulated outside world (network namespace, dnsmasq, http.server). All traffic goes to the namespace the
/// fixture creates, through its veth. Names differ from <see cref="OutsideWorld.DefaultName"/> so a running demo is
/// never touched.
/// </summary>
public sealed class OutsideWorldTests
{
    private const string TestName = "ipv6dind-ow-t";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Serves_dns_and_http_then_stop_removes_everything()
    {
        var world = new OutsideWorld();
        string work;
        try
        {
            await world.StartAsync(TestName);
            Assert.True(world.IsRunning);
            Assert.Equal(TestName + "-h", world.HostInterface);
            Assert.Contains(TestName, await NetnsNamesAsync());
            Assert.True(await LinkExistsAsync(world.HostInterface!));
            work = world.WorkDirectory!;
            Assert.True(Directory.Exists(work));

            // A over UDP to 198.51.100.53.
            Assert.Equal([IPAddress.Parse("198.51.100.80")], await world.ResolveOnHostAsync(OutsideWorld.WwwName));
            // The same over IPv6 to 2001:db8:5e5e::53.
            var overV6 = await world.QueryOnHostAsync(OutsideWorld.WwwName, DnsRecordType.A, IPAddress.Parse(OutsideWorld.ResolverAddress6));
            Assert.Equal(DnsProbe.NoError, overV6.ResponseCode);
            Assert.Equal([IPAddress.Parse(OutsideWorld.WwwAddress4)], overV6.Addresses);

            // AAAA of an A-only name: NOERROR without answers (NODATA), not REFUSED — what bind9's DNS64 needs.
            var wwwAaaa = await world.QueryOnHostAsync(OutsideWorld.WwwName, DnsRecordType.AAAA);
            Assert.Equal("NOERROR", wwwAaaa.ResponseCodeName);
            Assert.Equal(0, wwwAaaa.AnswerCount);

            // The dual-stack name for allow-AAAA mode.
            var dualAaaa = await world.QueryOnHostAsync(OutsideWorld.DualName, DnsRecordType.AAAA);
            Assert.Equal(DnsProbe.NoError, dualAaaa.ResponseCode);
            Assert.Equal([IPAddress.Parse("2001:db8:5e5e::80")], dualAaaa.Addresses);
            Assert.Equal([IPAddress.Parse("198.51.100.80")], await world.ResolveOnHostAsync(OutsideWorld.DualName));

            // Unknown names, in the zone and outside it: answered locally (NXDOMAIN), never forwarded, never REFUSED.
            Assert.Equal("NXDOMAIN", (await world.QueryOnHostAsync(OutsideWorld.MissingName, DnsRecordType.A)).ResponseCodeName);
            Assert.Equal("NXDOMAIN", (await world.QueryOnHostAsync("nothing.invalid", DnsRecordType.AAAA)).ResponseCodeName);

            // HTTP from the host, IPv4 and IPv6.
            using (var http = world.CreateHttpClient())
            {
                Assert.Contains(OutsideWorld.Marker, await http.GetStringAsync(OutsideWorld.HttpUrl4));
                Assert.Contains(OutsideWorld.Marker, await http.GetStringAsync(OutsideWorld.HttpUrl6));
            }

            // Nothing in the namespace asked the host's resolver: the servers' getfqdn() stayed in /etc/netns hosts.
            var log = await File.ReadAllTextAsync(world.DnsmasqLogPath!);
            Assert.DoesNotContain("in-addr.arpa", log);
            Assert.DoesNotContain("ip6.arpa", log);
        }
        finally
        {
            await world.DisposeAsync();
        }

        Assert.False(world.IsRunning);
        Assert.DoesNotContain(TestName, await NetnsNamesAsync());
        Assert.False(await LinkExistsAsync(TestName + "-h"));
        Assert.False(Directory.Exists(work));
        Assert.False(Directory.Exists("/etc/netns/" + TestName));
        Assert.Empty(await GuardRulesAsync(TestName));

        // Safe twice; and no traffic once stopped (the veth is gone, the default route must not be tried).
        await world.DisposeAsync();
        await world.StopAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => world.ResolveOnHostAsync(OutsideWorld.WwwName));
        Assert.Throws<InvalidOperationException>(() => world.CreateHttpClient());
    }

    [Fact]
    public async Task Starting_twice_is_idempotent_and_a_new_instance_replaces_leftovers()
    {
        await using var first = new OutsideWorld();
        await first.StartAsync(TestName);
        var work = first.WorkDirectory;
        await first.StartAsync(TestName); // no-op
        Assert.Equal(work, first.WorkDirectory);
        Assert.Equal([IPAddress.Parse(OutsideWorld.WwwAddress4)], await first.ResolveOnHostAsync(OutsideWorld.WwwName));
        await Assert.ThrowsAsync<InvalidOperationException>(() => first.StartAsync(TestName + "x"));

        // A second instance of the same name, as after a killed test run: the first one's things are removed first.
        await using var second = new OutsideWorld();
        await second.StartAsync(TestName);
        Assert.False(Directory.Exists(work));
        Assert.Equal([IPAddress.Parse(OutsideWorld.WwwAddress4)], await second.ResolveOnHostAsync(OutsideWorld.WwwName));
        Assert.Single(await NetnsNamesAsync(), n => n == TestName);

        // Stopping the replaced instance leaves the newer one alone.
        await first.StopAsync();
        Assert.Contains(TestName, await NetnsNamesAsync());
        Assert.Equal([IPAddress.Parse(OutsideWorld.WwwAddress4)], await second.ResolveOnHostAsync(OutsideWorld.WwwName));
        using (var http = second.CreateHttpClient())
        {
            Assert.Contains(OutsideWorld.Marker, await http.GetStringAsync(OutsideWorld.HttpUrl4));
        }
        Assert.NotEmpty(await GuardRulesAsync(TestName));

        await second.StopAsync();
        Assert.DoesNotContain(TestName, await NetnsNamesAsync());
        Assert.False(await LinkExistsAsync(TestName + "-h"));
        Assert.Empty(await GuardRulesAsync(TestName));
    }

    [Fact]
    public async Task A_bare_leftover_namespace_and_veth_are_removed_and_long_names_get_short_interfaces()
    {
        const string longName = "ipv6dind-outside-world-long-test";
        var stem = OutsideWorld.InterfaceStem(longName);
        Assert.True((stem + "-h").Length <= 15);

        // What a run killed before it wrote its state would leave: a namespace holding the veth's other end.
        await OutsideWorld.RemoveLeftoversAsync(longName);
        await HostProcess.RunAsync("ip", ["netns", "add", longName], Timeout, default);
        await HostProcess.RunAsync("ip", ["link", "add", stem + "-h", "type", "veth", "peer", "name", stem + "-n", "netns", longName], Timeout, default);

        await using var world = new OutsideWorld();
        await world.StartAsync(longName);
        Assert.Equal(stem + "-h", world.HostInterface);
        Assert.Equal(stem + "-n", world.NamespaceInterface);
        Assert.Equal([IPAddress.Parse(OutsideWorld.WwwAddress4)], await world.ResolveOnHostAsync(OutsideWorld.WwwName));

        await world.StopAsync();
        Assert.DoesNotContain(longName, await NetnsNamesAsync());
        Assert.False(await LinkExistsAsync(stem + "-h"));
    }

    private static async Task<List<string>> NetnsNamesAsync()
    {
        var list = await HostProcess.RunAsync("ip", ["netns", "list"], Timeout, default);
        // "name (id: 3)" or "name"
        return list.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2)[0].Trim())
            .ToList();
    }

    private static async Task<bool> LinkExistsAsync(string name) =>
        (await HostProcess.TryRunAsync("ip", ["link", "show", "dev", name], Timeout, default)).Succeeded;

    private static async Task<List<string>> GuardRulesAsync(string name)
    {
        var rules = new List<string>();
        foreach (var tool in new[] { "iptables", "ip6tables" })
        {
            var r = await HostProcess.TryRunAsync(tool, ["-w", "-t", "mangle", "-S", "FORWARD"], Timeout, default);
            rules.AddRange(r.StdOut.Split('\n').Where(l => l.Contains("ipv6dind-outside-world-" + name + " ", StringComparison.Ordinal)
                                                            || l.EndsWith("ipv6dind-outside-world-" + name, StringComparison.Ordinal)));
        }
        return rules;
    }
}
