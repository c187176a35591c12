using System.Globalization;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;
using Ipv6Dind.IntegrationTests.Docker;
using Ipv6Dind.IntegrationTests.Lab;
using Ipv6Dind.Tests;
using Xunit.Abstractions;

namespace Ipv6Dind.IntegrationTests.Host;

/// <summary>The test-owned second dockerd, once per class; removed (with any leftover of a killed run) before and after.</summary>
public sealed class TestDockerdFixture : IAsyncLifetime
{
    public TestDockerd Daemon { get; } = new();
    public ModuleSession Ps { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // "ip6tables": false is what keeps this daemon off the host's firewall even after Set-DockerIpv6Prefix
        // (which keeps the file's ip6tables setting).
        await Daemon.StartAsync("{\n  \"debug\": false,\n  \"ip6tables\": false,\n  \"labels\": [\"io.ipv6dind.test=host-tooling\"]\n}\n");
        Ps = new ModuleSession();
    }

    public async Task DisposeAsync()
    {
        Ps?.Dispose();
        try { await RemoveOwnMasqueradeRulesAsync(Daemon); }
        finally { await Daemon.DisposeAsync(); }
    }

    /// <summary>The tagged MASQUERADE rules for this test's own ULAs (fd00:d1d:&lt;id&gt;::/48); an admin's rule is not ours.</summary>
    public static async Task<IReadOnlyList<HostRule>> OwnMasqueradeRulesAsync(TestDockerd daemon) =>
        (await new HostFirewall().ListByCommentAsync(DockerIpv6Prefix.MasqueradeComment, default))
            .Where(r => r.Specification.Any(a => a.StartsWith($"fd00:d1d:{daemon.Id}:", StringComparison.Ordinal))).ToList();

    public static async Task RemoveOwnMasqueradeRulesAsync(TestDockerd daemon)
    {
        var own = await OwnMasqueradeRulesAsync(daemon);
        if (own.Count > 0) await new HostFirewall().RemoveAsync(own, default);
    }
}

/// <summary>
/// Host tooling against real things: the test-owned dockerd (restarts), the host's ip6tables (the tagged MASQUERADE
/// rule), the host's routing table (proto 166 routes via dummy links the test makes), the host's conntrack hashsize
/// (written and restored) and containers of the main daemon (the refused in-container write). Addresses: the test
/// daemon's bridge 198.18.200.1/24, ULAs fd00:d1d:&lt;id&gt;::/48. No traffic is sent anywhere.
/// </summary>
[Collection("docker")]
public sealed class HostToolingTests : IClassFixture<TestDockerdFixture>
{
    private readonly DockerFixture _docker;
    private readonly TestDockerd _d;
    private readonly ModuleSession _ps;
    private readonly ITestOutputHelper _out;

    public HostToolingTests(DockerFixture docker, TestDockerdFixture daemon, ITestOutputHelper output)
    {
        _docker = docker;
        _d = daemon.Daemon;
        _ps = daemon.Ps;
        _out = output;
    }

    private string DaemonArgs => $"-ConfigPath '{_d.ConfigFile}' -PidFile '{_d.PidFile}' -DockerHost '{_d.DockerHost}' -DaemonLogPath '{_d.LogFile}' -Confirm:$false";

    private async Task<(bool Ipv6, IReadOnlyList<string> BridgeSubnets)> DaemonIpv6Async()
    {
        using var api = _d.Api();
        var info = await api.GetDaemonInfoAsync(default);
        var bridge = (await api.ListNetworksAsync(null, default)).Single(n => n.Name == "bridge");
        return (info.Ipv6Default, bridge.Subnets);
    }

    [Fact]
    public async Task Enable_merges_daemon_json_restarts_the_daemon_with_its_own_argv_and_adds_then_removes_the_tagged_rule()
    {
        var prefix = $"fd00:d1d:{_d.Id}:1::/64";
        // Another dockerd's rule on the same host, tagged alike (a second daemon with its own daemon.json): it must survive.
        var other = DockerIpv6Prefix.MasqueradeRule(DockerIpv6Prefix.Validate($"fd00:d1d:{_d.Id}:99::/64"));
        var pidBefore = _d.Pid;
        try
        {
            await new HostFirewall().EnsureAsync(new[] { other }, default);
            var r = _ps.Run($"Enable-DockerIpv6 {prefix} -NoIp6Tables -Masquerade -Restart -PassThru {DaemonArgs}");
            r.AssertSuccess();
            var s = r.Single<DockerIpv6Settings>();
            _out.WriteLine($"{s.RestartMethod}; backup {s.BackupPath}");
            Assert.True(s.Changed);
            Assert.True(s.Restarted);
            Assert.StartsWith($"SIGTERM {pidBefore}, then started {_d.Argv[0]} -H {_d.DockerHost}", s.RestartMethod);
            Assert.NotEqual(pidBefore, _d.Pid);
            Assert.True(File.Exists(s.BackupPath));
            Assert.Contains("\"labels\"", File.ReadAllText(_d.ConfigFile));   // the other keys survived

            var (ipv6, subnets) = await DaemonIpv6Async();
            Assert.True(ipv6, _d.Tail());
            Assert.Contains(prefix, subnets);

            var rules = await TestDockerdFixture.OwnMasqueradeRulesAsync(_d);
            Assert.Equal(2, rules.Count);
            var rule = Assert.Single(rules, x => x.Specification.Contains(prefix));
            Assert.Equal(("nat", "POSTROUTING"), (rule.Table, rule.Chain));
            Assert.Contains("MASQUERADE", rule.Specification);

            var off = _ps.Run($"Enable-DockerIpv6 {prefix} -NoIp6Tables -Masquerade:$false -Restart -PassThru {DaemonArgs}");
            off.AssertSuccess();
            var after = off.Single<DockerIpv6Settings>();
            Assert.False(after.Changed);
            Assert.False(after.Restarted);     // daemon.json did not change: no restart
            var left = Assert.Single(await TestDockerdFixture.OwnMasqueradeRulesAsync(_d));   // exactly this daemon's rule went
            Assert.Contains($"fd00:d1d:{_d.Id}:99::/64", left.Specification);
        }
        finally
        {
            await TestDockerdFixture.RemoveOwnMasqueradeRulesAsync(_d);
        }
    }

    [Fact]
    public async Task Set_prefix_from_a_delegation_restarts_through_DaemonCommand_only_when_it_changed()
    {
        var delegated = $"fd00:d1d:{_d.Id}:200::/56";
        var expected = $"fd00:d1d:{_d.Id}:200::/80";
        var command = "@(" + string.Join(", ", _d.Argv.Select(a => $"'{a}'")) + ")";
        var pidBefore = _d.Pid;

        var r = _ps.Run($"Set-DockerIpv6Prefix {delegated} -Restart -PassThru -DaemonCommand {command} {DaemonArgs}");
        r.AssertSuccess();
        var s = r.Single<DockerIpv6Settings>();
        Assert.Equal(expected, s.FixedCidrV6);
        Assert.False(s.Ip6Tables);          // kept as the file had it
        Assert.True(s.Restarted, _d.Tail());
        var pidAfter = _d.Pid;
        Assert.NotEqual(pidBefore, pidAfter);
        Assert.Contains(expected, (await DaemonIpv6Async()).BridgeSubnets);

        var again = _ps.Run($"Set-DockerIpv6Prefix {delegated} -Restart -PassThru -DaemonCommand {command} {DaemonArgs}");
        again.AssertSuccess();
        Assert.False(again.Single<DockerIpv6Settings>().Restarted);
        Assert.Equal(pidAfter, _d.Pid);
    }

    [Fact]
    public async Task A_daemon_json_with_a_syntax_error_is_left_untouched_and_the_daemon_keeps_running()
    {
        var original = File.ReadAllText(_d.ConfigFile);
        var pid = _d.Pid;
        try
        {
            File.WriteAllText(_d.ConfigFile, original.TrimEnd().TrimEnd('}') + ",\n}\n");   // a trailing comma
            var broken = File.ReadAllText(_d.ConfigFile);
            var r = _ps.Run($"Enable-DockerIpv6 fd00:d1d:{_d.Id}:3::/64 -NoIp6Tables -Restart -PassThru {DaemonArgs}");
            Assert.StartsWith("InvalidDaemonJson,", r.ErrorId);
            Assert.Equal(broken, File.ReadAllText(_d.ConfigFile));
            Assert.Equal(pid, _d.Pid);
            await _d.WaitAsync();
        }
        finally
        {
            File.WriteAllText(_d.ConfigFile, original);
        }
    }

    [Fact]
    public async Task Host_routes_are_tagged_replaced_and_removed_exactly()
    {
        var link = "ipv6dtd" + _d.Id;
        var other = "ipv6dto" + _d.Id;
        var management = $"fd00:d1d:{_d.Id}:10::/64";
        var otherManagement = $"fd00:d1d:{_d.Id}:11::/64";
        var routes = new HostRoutes();
        async Task<string> Show() => (await HostProcess.RunAsync("ip", new[] { "-6", "route", "show", "proto", "166" }, TimeSpan.FromSeconds(10))).StdOut;
        try
        {
            // veth pairs stand in for clusters' bridges (this kernel has no dummy links); the peer end only gives carrier.
            foreach (var (name, address) in new[] { (link, $"fd00:d1d:{_d.Id}:10::1/64"), (other, $"fd00:d1d:{_d.Id}:11::1/64") })
            {
                var peer = name.Replace("ipv6dt", "ipv6dp", StringComparison.Ordinal);
                await HostProcess.RunAsync("ip", new[] { "link", "add", name, "type", "veth", "peer", "name", peer }, TimeSpan.FromSeconds(10));
                await HostProcess.RunAsync("ip", new[] { "address", "add", address, "dev", name, "nodad" }, TimeSpan.FromSeconds(10));
                await HostProcess.RunAsync("ip", new[] { "link", "set", peer, "up" }, TimeSpan.FromSeconds(10));
                await HostProcess.RunAsync("ip", new[] { "link", "set", name, "up" }, TimeSpan.FromSeconds(10));
            }
            var planned = new[]
            {
                new HostRoute($"fd00:d1d:{_d.Id}:40:1::/80", $"fd00:d1d:{_d.Id}:10::1001", "n1", "Pod"),
                new HostRoute($"fd00:d1d:{_d.Id}:40:2::/80", $"fd00:d1d:{_d.Id}:10::1002", "n2", "Pod"),
                new HostRoute($"fd00:d1d:{_d.Id}:30::/112", $"fd00:d1d:{_d.Id}:10::1001", "n1", "Service"),
            };
            // Another cluster's route of ours, and a route of someone else's to the same kind of place.
            await routes.EnsureAsync(otherManagement, new[] { new HostRoute($"fd00:d1d:{_d.Id}:41:1::/80", $"fd00:d1d:{_d.Id}:11::1001", "x", "Pod") }, default);
            await HostProcess.RunAsync("ip", new[] { "-6", "route", "add", $"fd00:d1d:{_d.Id}:50::/64", "via", $"fd00:d1d:{_d.Id}:10::2000" }, TimeSpan.FromSeconds(10));

            await routes.EnsureAsync(management, planned, default);
            var listed = await routes.ListAsync(management, default);
            Assert.Equal(planned.Select(p => (p.Destination, p.Gateway)).OrderBy(p => p.Destination, StringComparer.Ordinal), listed);
            _out.WriteLine(await Show());

            // A node removed: its route goes, the rest stays; a second run changes nothing.
            await routes.EnsureAsync(management, planned.Where(p => p.NodeName != "n2").ToList(), default);
            await routes.EnsureAsync(management, planned.Where(p => p.NodeName != "n2").ToList(), default);
            Assert.Equal(2, (await routes.ListAsync(management, default)).Count);

            Assert.Equal(2, await routes.RemoveAsync(management, default));
            Assert.Empty(await routes.ListAsync(management, default));
            Assert.Single(await routes.ListAsync(otherManagement, default));       // the other cluster's route is untouched
            var unrelated = await HostProcess.RunAsync("ip", new[] { "-6", "route", "show", $"fd00:d1d:{_d.Id}:50::/64" }, TimeSpan.FromSeconds(10));
            Assert.Contains("via", unrelated.StdOut);                             // someone else's route is untouched

            // When the link into a cluster goes (its bridge is removed), the kernel drops our routes through it.
            await HostProcess.RunAsync("ip", new[] { "link", "del", other }, TimeSpan.FromSeconds(10));
            Assert.Empty(await routes.ListAsync(otherManagement, default));
        }
        finally
        {
            await HostProcess.TryRunAsync("ip", new[] { "link", "del", link }, TimeSpan.FromSeconds(10));
            await HostProcess.TryRunAsync("ip", new[] { "link", "del", other }, TimeSpan.FromSeconds(10));
        }
        Assert.DoesNotContain($"fd00:d1d:{_d.Id}:", await Show());
    }

    [Fact]
    public void Repair_writes_the_hashsize_on_the_host_and_the_original_is_restored()
    {
        var original = ConntrackHashsize.ReadLong(ConntrackHashsize.HashsizePath);
        Assert.NotNull(original);
        // A CPU count for which kube-proxy's defaults want twice the current hashsize (a multiple of 512, as the kernel keeps it).
        var cpus = (int)(original!.Value * 2 * 4 / ConntrackHashsize.DefaultMaxPerCore);
        try
        {
            var r = _ps.Run($"Repair-ConntrackHashsize -CpuCount {cpus} -Confirm:$false");
            r.AssertSuccess();
            var s = r.Single<ConntrackStatus>();
            Assert.Equal(original, s.PreviousHashsize);
            Assert.Equal(original * 2, s.CurrentHashsize);
            Assert.False(s.NeedsRepair);
            Assert.Equal(original * 2, ConntrackHashsize.ReadLong(ConntrackHashsize.HashsizePath));
        }
        finally
        {
            new ConntrackHashsizeWriter().WriteOnHost(original.Value);
        }
        Assert.Equal(original, ConntrackHashsize.ReadLong(ConntrackHashsize.HashsizePath));
    }

    [Fact]
    public async Task The_write_inside_a_container_is_refused_with_its_reason()
    {
        var before = ConntrackHashsize.ReadLong(ConntrackHashsize.HashsizePath)!.Value;
        var writer = new ConntrackHashsizeWriter();

        // Docker's default: /sys read-only in the container (the docker fixture's node container).
        var ro = await Assert.ThrowsAsync<DindException>(() => writer.WriteInContainerAsync(_docker.Api, _docker.ContainerId, before, default));
        Assert.Equal(ErrorIds.ConntrackHashsizeReadOnly, ro.ErrorId);

        // kube-proxy's case: the parameter writable (bound in, as a privileged container has /sys), but the writer is
        // in the container's own network namespace: Linux answers EOPNOTSUPP.
        var id = await _docker.Api.CreateContainerAsync(new ContainerSpec(_docker.Cluster + "-conntrack", _docker.NodeImage, _docker.Labels)
        {
            Command = new[] { "sleep", "infinity" },
            Network = _docker.NetworkName,
            Binds = new[] { "/sys/module/nf_conntrack/parameters:/sys/module/nf_conntrack/parameters" },
        }, default);
        try
        {
            await _docker.Api.StartContainerAsync(id, default);
            var ex = await Assert.ThrowsAsync<DindException>(() => writer.WriteInContainerAsync(_docker.Api, id, before * 2, default));
            Assert.Equal(ErrorIds.ConntrackHashsizeNotSupported, ex.ErrorId);
            Assert.Contains("initial network namespace", ex.Message);
            _out.WriteLine(ex.Message);
        }
        finally
        {
            await _docker.Api.RemoveContainerAsync(id, default);
        }
        Assert.Equal(before, ConntrackHashsize.ReadLong(ConntrackHashsize.HashsizePath));
    }

    [Fact]
    public void Test_DindHost_judges_this_host()
    {
        var r = _ps.Run("Test-DindHost");
        r.AssertSuccess();
        var checks = r.All<CheckResult>().ToList();
        foreach (var c in checks) _out.WriteLine($"{c.Status} {c.Target} {c.Check}: {c.Detail}");
        Assert.Equal(CheckStatus.Pass, checks.Single(c => c.Check == "Docker").Status);
        Assert.Equal(CheckStatus.Pass, checks.Single(c => c.Check == "Ipv6Forwarding").Status);
        Assert.Equal(CheckStatus.Pass, checks.Single(c => c.Check == "DockerIp6Tables").Status);
        Assert.All(checks.Where(c => c.Check == "KernelModule"), c => Assert.Equal(CheckStatus.Pass, c.Status));
        // This machine kind's sandbox lacks CAP_SYS_RESOURCE in the bounding set (--privileged fails: docs/design/README.md, "Docker and kernel facts").
        var privileged = checks.Single(c => c.Check == "Privileged");
        if (privileged.Status == CheckStatus.Warn) Assert.Contains("CAP_SYS_RESOURCE", privileged.Detail);
    }
}
