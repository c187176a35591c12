using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// The network lab against the real daemon, bind9, tayga and the simulated outside world: bring-up, every check,
/// routes, AAAA mode both ways, two clusters side by side, a failure injected after each step, and removal that
/// leaves nothing behind.
/// </summary>
[Collection("lab")]
public sealed class LabEndToEndTests
{
    private readonly LabFixture _f;
    public LabEndToEndTests(LabFixture fixture) => _f = fixture;

    private string New(string name, int nodes, string extra = "") =>
        $"New-DindCluster {name} -Nodes {nodes} -NetworkOnly -Dns64Upstream {_f.Upstream} {extra}";

    private const string Probes = "-ProbeName www.example.test -ProbeUrl http://www.example.test/ -AaaaProbeName dual.example.test";

    private void AssertAllChecksPass(string cluster, int nodes)
    {
        var r = _f.Ps.Run($"Test-DindCluster {cluster} {Probes}");
        r.AssertSuccess();
        var checks = r.All<CheckResult>().ToList();
        var failed = checks.Where(c => c.Status == CheckStatus.Fail).Select(c => $"{c.Target} {c.Check}: {c.Detail}").ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed));
        foreach (var check in new[] { "Dns64Synthesis", "Nat64Reachability", "ForcedSynthesis", "Routes", "Ipv6Only" })
            Assert.Contains(checks, c => c.Check == check || (check == "ForcedSynthesis" && c.Check == "AaaaMode"));
        if (nodes > 1)
        {
            Assert.Equal(nodes, checks.Count(c => c.Check == "NodeToNode"));
            Assert.Equal(nodes, checks.Count(c => c.Check == "PodToPod" && c.Status == CheckStatus.Pass));
        }
    }

    [Fact]
    public async Task OneNodeLabResolvesAndReachesTheIpv4WorldThenLeavesNothing()
    {
        const string name = "it-one";
        var r = _f.Ps.Run(New(name, 1));
        r.AssertSuccess();
        var cluster = r.Single<DindCluster>();
        Assert.Equal(("Running", 1), (cluster.State, cluster.Nodes));
        AssertAllChecksPass(name, 1);

        // The demo's proof: the node fetches an IPv4-only page by name, through DNS64 and NAT64.
        var curl = _f.Ps.Run($"Invoke-DindCommand {name} {name}-node-1 curl -sS --max-time 5 http://www.example.test/");
        curl.AssertSuccess();
        Assert.Contains(OutsideWorld.Marker, curl.Single<DindCommandResult>().Output);

        _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false").AssertSuccess();
        Assert.Empty(await _f.LeftoversAsync(name));
        _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false").AssertSuccess(); // again: not an error
    }

    [Fact]
    public async Task AJumboMtuLabCarriesLargePacketsBetweenNodesAndThroughTayga()
    {
        // -Mtu 9000: the network's links, tayga's tun device (made by the NAT64 image's start script before tayga reads
        // it) and the spec of record all say 9000, and a packet that big crosses the lab unfragmented (ping -M do), node
        // to node and through tayga to the IPv4 world, whose veth pair is raised to 9000 for this test only.
        const string name = "it-jumbo";
        var world = _f.World;
        async Task WorldMtu(int mtu)
        {
            await HostProcess.RunAsync("ip", new[] { "link", "set", "dev", world.HostInterface!, "mtu", mtu.ToString() }, TimeSpan.FromSeconds(10));
            await HostProcess.RunAsync("ip", new[] { "-n", world.Name!, "link", "set", "dev", world.NamespaceInterface!, "mtu", mtu.ToString() }, TimeSpan.FromSeconds(10));
        }
        try
        {
            await WorldMtu(9000);
            var r = _f.Ps.Run(New(name, 2, "-Mtu 9000"));
            r.AssertSuccess();
            var cluster = r.Single<DindCluster>();
            var nodes = await _f.Lab().GetNodesAsync(name);
            async Task<string> Exec(string container, params string[] argv)
            {
                var result = await _f.Docker.ExecAsync(container, argv, null, null, default);
                Assert.True(result.ExitCode == 0, $"{string.Join(' ', argv)} in {container}: {result.StandardOutput} {result.StandardError}");
                return result.StandardOutput;
            }
            foreach (var node in nodes)
                Assert.Contains("mtu 9000 ", await Exec(node.ContainerId, "ip", "-o", "link", "show", "dev", "eth0"));
            Assert.Contains("mtu 9000 ", await Exec(name + "-nat64", "ip", "-o", "link", "show", "dev", LabContainers.Nat64Device));
            Assert.Equal(9000, cluster.Spec.Mtu);        // the spec of record: Reset, Add-DindNode and Set-Nat64Prefix plan from it

            // 8952 bytes of ICMPv6 payload + 8 + 40 = 9000: the largest packet the links carry, refused at 1500.
            await Exec(nodes[0].ContainerId, "ping", "-6", "-n", "-c", "1", "-W", "2", "-M", "do", "-s", "8952", nodes[1].IPv6Address);
            var target = _f.Ps.Run($"ConvertTo-Nat64Address {OutsideWorld.HttpAddress4} -Nat64Prefix {cluster.Nat64Prefix}").Single<Nat64Address>();
            await Exec(nodes[0].ContainerId, "ping", "-6", "-n", "-c", "1", "-W", "2", "-M", "do", "-s", "8952", target.IPv6Address);
            AssertAllChecksPass(name, 2);       // PodToPod included: the probe pods' CNI configuration has the MTU too

            // A new translator (Set-Nat64Prefix) is planned from the spec of record: same MTU, same large packets.
            const string moved = "fd00:64:9000:1::/96";
            _f.Ps.Run($"Set-Nat64Prefix {name} -Nat64Prefix {moved} -Confirm:$false").AssertSuccess();
            Assert.Contains("mtu 9000 ", await Exec(name + "-nat64", "ip", "-o", "link", "show", "dev", LabContainers.Nat64Device));
            var movedTarget = _f.Ps.Run($"ConvertTo-Nat64Address {OutsideWorld.HttpAddress4} -Nat64Prefix {moved}").Single<Nat64Address>();
            await Exec(nodes[0].ContainerId, "ping", "-6", "-n", "-c", "1", "-W", "2", "-M", "do", "-s", "8952", movedTarget.IPv6Address);
        }
        finally
        {
            _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false");
            await WorldMtu(1500);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task ThreeNodeLabRoutesEveryPodPrefixAndSyncRepairsAMissingRoute()
    {
        const string name = "it-three";
        try
        {
            _f.Ps.Run(New(name, 3)).AssertSuccess();
            AssertAllChecksPass(name, 3);

            var routes = _f.Ps.Run($"Get-DindCluster {name} | Get-DindNode | Get-DindRoute");
            routes.AssertSuccess();
            var all = routes.All<DindRoute>().ToList();
            Assert.Equal(3 * 3, all.Count); // per node: two other pod prefixes + NAT64
            Assert.All(all, x => Assert.True(x.Present, x.ToString()));

            var victim = all.First(x => x.NodeName == $"{name}-node-2" && x.Kind == "Pod");
            _f.Ps.Run($"Invoke-DindCommand {name} {name}-node-2 ip -6 route del {victim.Destination}").AssertSuccess();
            var missing = _f.Ps.Run($"Get-DindRoute {name} | Where-Object {{ -not $_.Present }}");
            Assert.Equal(victim.Destination, missing.Single<DindRoute>().Destination);

            var sync = _f.Ps.Run($"Get-DindRoute {name} | Where-Object {{ -not $_.Present }} | Sync-DindRoute -PassThru");
            sync.AssertSuccess();
            Assert.All(sync.All<DindRoute>(), x => Assert.True(x.Present));
            Assert.All(sync.All<DindRoute>(), x => Assert.Equal($"{name}-node-2", x.NodeName));
        }
        finally
        {
            _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false");
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task AaaaModeUsesRealAaaaAndItsHostRulesGoWithTheCluster()
    {
        const string name = "it-aaaa";
        try
        {
            _f.Ps.Run(New(name, 1, "-AllowAaaa")).AssertSuccess();
            var checks = _f.Ps.Run($"Test-DindCluster {name} {Probes}").All<CheckResult>().ToList();
            Assert.Contains(checks, c => c.Check == "AaaaMode" && c.Status == CheckStatus.Pass);
            Assert.DoesNotContain(checks, c => c.Status == CheckStatus.Fail);
            Assert.Equal(3, (await new Core.Host.HostFirewall().ListClusterAsync(name, default)).Count);

            var direct = _f.Ps.Run($"Invoke-DindCommand {name} {name}-node-1 curl -sS --max-time 5 http://dual.example.test/");
            direct.AssertSuccess();
            Assert.Contains(OutsideWorld.Marker, direct.Single<DindCommandResult>().Output);
        }
        finally
        {
            _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false");
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task TwoClustersSideBySideShareNothingAndRemovingOneLeavesTheOtherWorking()
    {
        try
        {
            _f.Ps.Run(New("it-a", 2)).AssertSuccess();
            _f.Ps.Run(New("it-b", 2)).AssertSuccess();
            var both = _f.Ps.Run("Get-DindCluster it-a, it-b").All<DindCluster>().ToList();
            Assert.Equal(2, both.Count);
            // A missing name among them is a non-terminating error: the lab that exists is still listed.
            var partial = _f.Ps.Run("Get-DindCluster it-a, it-nosuch");
            Assert.Equal("it-a", Assert.Single(partial.All<DindCluster>()).ClusterName);
            Assert.StartsWith("ClusterNotFound,", partial.ErrorId);
            var a = Core.Addressing.AddressPlanner.Plan(both[0].Spec);
            var b = Core.Addressing.AddressPlanner.Plan(both[1].Spec);
            foreach (var (x, y) in new[] { (a.ManagementPrefix, b.ManagementPrefix), (a.PodPrefix, b.PodPrefix), (a.ServicePrefix, b.ServicePrefix), (a.Nat64Prefix, b.Nat64Prefix) })
                Assert.False(Core.Addressing.Ipv6Prefix.Parse(x).Overlaps(Core.Addressing.Ipv6Prefix.Parse(y)), $"{x} overlaps {y}");

            _f.Ps.Run("Remove-DindCluster it-a -Confirm:$false").AssertSuccess();
            Assert.Empty(await _f.LeftoversAsync("it-a"));
            AssertAllChecksPass("it-b", 2);
        }
        finally
        {
            _f.Ps.Run("Remove-DindCluster it-a, it-b -Confirm:$false");
        }
    }

    public static TheoryData<string> Steps() => new(LabSteps.All);

    [Theory]
    [MemberData(nameof(Steps))]
    public async Task AFailureAfterAnyStepRemovesEverythingAlreadyCreated(string step)
    {
        var name = "it-fail-" + step.Replace("-", "");
        if (name.Length > 32) name = name[..32];
        var lab = _f.Lab();
        lab.AfterStep = (s, _) => s == step ? throw new InvalidOperationException($"injected failure after {s}") : Task.CompletedTask;
        var spec = new DindClusterSpec { ClusterName = name, Nodes = 2, Dns64Upstream = new[] { _f.Upstream }, AllowAaaa = true };
        var ex = await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(spec, new LabOptions()));
        Assert.Equal(ErrorIds.ClusterBringUpFailed, ex.ErrorId);
        Assert.Contains($"'{step}'", ex.Message);
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Theory]
    [MemberData(nameof(Steps))]
    public async Task CancellingAfterAnyStepRemovesEverythingAlreadyCreated(string step)
    {
        var name = "it-cancel-" + step.Replace("-", "");
        if (name.Length > 32) name = name[..32];
        using var cts = new CancellationTokenSource();
        var lab = _f.Lab(cts.Token);
        lab.AfterStep = (s, _) => { if (s == step) cts.Cancel(); return Task.CompletedTask; };
        var spec = new DindClusterSpec { ClusterName = name, Nodes = 2, Dns64Upstream = new[] { _f.Upstream } };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => lab.CreateAsync(spec, new LabOptions()));
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task BadInputIsRefusedBeforeAnythingIsCreated()
    {
        _f.Ps.Run(New("it-dup", 1)).AssertSuccess();
        try
        {
            var dup = _f.Ps.Run(New("it-dup", 1));
            Assert.StartsWith("ClusterExists,", dup.ErrorId);

            var image = _f.Ps.Run(New("it-noimage", 1, "-NodeImage ipv6dind/missing:0"));
            Assert.StartsWith("ImageNotFound,", image.ErrorId);
            Assert.Empty(await _f.LeftoversAsync("it-noimage"));

            var bad = _f.Ps.Run(New("it-badnat", 1, "-Nat64Prefix fd00:77:64::/80"));
            Assert.StartsWith("InvalidNat64PrefixLength,", bad.ErrorId);
            Assert.Empty(await _f.LeftoversAsync("it-badnat"));

            // Overlap with an existing cluster's ranges, as New-DindCluster sees it (Docker labels, not just host routes).
            var existing = _f.Ps.Run("Get-DindCluster it-dup").Single<DindCluster>();
            var overlap = _f.Ps.Run($"New-DindClusterSpec it-overlap -Nodes 1 -Dns64Upstream {_f.Upstream} -Subnet {existing.Spec.Subnet} -SkipHostCheck | New-DindCluster -NetworkOnly");
            Assert.StartsWith("SubnetOverlapsCluster,", overlap.ErrorId);
            Assert.Empty(await _f.LeftoversAsync("it-overlap"));
        }
        finally
        {
            _f.Ps.Run("Remove-DindCluster it-dup -Confirm:$false");
        }
    }

    [Fact]
    public void DockerUnreachableIsAClearErrorAndCreatesNothing()
    {
        var r = _f.Ps.Run($"$env:DOCKER_HOST = 'unix:///run/ipv6dind-no-such.sock'; try {{ {New("it-nodocker", 1)} }} finally {{ $env:DOCKER_HOST = $null }}");
        Assert.StartsWith("DockerUnreachable,", r.ErrorId);
    }
}
