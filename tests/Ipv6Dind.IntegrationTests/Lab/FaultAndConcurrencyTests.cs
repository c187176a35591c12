using Ipv6Dind.TestSupport;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// Unattended use: a failure or Ctrl-C at each step of Reset-DindCluster, Set-Nat64Prefix and
/// Remove-DindCluster leaves the old state or nothing; two bring-ups at once, of the same name and of two names.
/// </summary>
[Collection("lab")]
public sealed class FaultAndConcurrencyTests
{
    private readonly LabFixture _f;
    public FaultAndConcurrencyTests(LabFixture fixture) => _f = fixture;

    private DindClusterSpec Spec(string name, int nodes = 1) => new() { ClusterName = name, Nodes = nodes, Dns64Upstream = new[] { _f.Upstream } };

    private static DindLab LabOver(IDockerApi docker, CancellationToken ct = default) =>
        new(docker, new OperationContext(ct, new Progress<DindProgress>(), NullLog.Instance));

    public static TheoryData<string> ResetSteps() => new(new[] { LabSteps.Nodes, LabSteps.Routes, LabSteps.Verify });

    [Theory]
    [MemberData(nameof(ResetSteps))]
    public async Task AResetThatFailsAfterAnyStepLeavesNothing(string step)
    {
        var name = "it-rf-" + step;
        await _f.Lab().CreateAsync(Spec(name), new LabOptions());
        var lab = _f.Lab();
        lab.AfterStep = (s, _) => s == step ? throw new InvalidOperationException($"injected failure after {s}") : Task.CompletedTask;
        var ex = await Assert.ThrowsAsync<DindException>(() => lab.ResetAsync(name, new LabOptions { LockWait = TimeSpan.FromSeconds(5) }));
        Assert.Contains($"'{step}'", ex.Message);
        Assert.Contains("removed entirely", ex.Message);
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Theory]
    [MemberData(nameof(ResetSteps))]
    public async Task AResetStoppedAfterAnyStepLeavesNothing(string step)
    {
        var name = "it-rc-" + step;
        await _f.Lab().CreateAsync(Spec(name, 2), new LabOptions());
        using var cts = new CancellationTokenSource();
        var lab = _f.Lab(cts.Token);
        lab.AfterStep = (s, _) => { if (s == step) cts.Cancel(); return Task.CompletedTask; };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => lab.ResetAsync(name, new LabOptions { LockWait = TimeSpan.FromSeconds(5) }));
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task ChangesWaitForTheClusterLockAndChangeNothingWhenTheWaitEnds()
    {
        const string name = "it-lock-add";
        try
        {
            await _f.Lab().CreateAsync(Spec(name), new LabOptions());
            // Another run (a nightly reset, say) holds the lab: Add-DindNode must not interleave with it.
            using (await ClusterLock.AcquireAsync(await _f.DaemonIdAsync(), name, "Reset-DindCluster", TimeSpan.Zero, CancellationToken.None))
            {
                var ex = await Assert.ThrowsAsync<DindException>(() => _f.Lab().AddNodesAsync(name, 1, new LabOptions { LockWait = TimeSpan.FromSeconds(1) }));
                Assert.Equal(ErrorIds.ClusterLocked, ex.ErrorId);
                Assert.Contains("Reset-DindCluster", ex.Message);
                Assert.Equal(new[] { name + "-node-1" }, (await _f.Lab().GetNodesAsync(name)).Select(n => n.NodeName));

                // Nor may an admin's Stop-DindCluster, Set-Dns64, Sync-DindRoute, Copy-DindImage or Remove-DindNode break into the rebuild.
                var waiting = _f.Lab();
                waiting.LockWait = TimeSpan.FromSeconds(1);
                foreach (var operation in new Func<Task>[]
                {
                    () => waiting.StopAsync(name),
                    () => waiting.SetDns64Async(name, allowAaaa: null, upstream: new[] { _f.Upstream }),
                    () => waiting.RemoveNodeAsync(name, name + "-node-1"),
                    () => waiting.SyncRoutesAsync(name, null),
                    () => waiting.CopyImagesAsync(name, new[] { "ipv6dind-test/tiny:1" }, null, 1),
                })
                    Assert.Equal(ErrorIds.ClusterLocked, (await Assert.ThrowsAsync<DindException>(operation)).ErrorId);
                Assert.Equal("Running", Assert.Single(await _f.Lab().GetClustersAsync(name)).State);
            }
            var added = await _f.Lab().AddNodesAsync(name, 1, new LabOptions { LockWait = TimeSpan.FromSeconds(1) });
            Assert.Equal(name + "-node-2", Assert.Single(added).NodeName);
        }
        finally
        {
            await _f.Lab().RemoveAsync(name);
        }
    }

    [Fact]
    public async Task AResetThatWorksKeepsNamesAndAddresses()
    {
        const string name = "it-rf-ok";
        try
        {
            await _f.Lab().CreateAsync(Spec(name, 2), new LabOptions());
            var before = (await _f.Lab().GetNodesAsync(name)).ToDictionary(n => n.NodeName, n => n.IPv6Address);
            var after = await _f.Lab().ResetAsync(name, new LabOptions { LockWait = TimeSpan.FromSeconds(5) });
            Assert.Equal("Running", after.State);
            Assert.Equal(before, (await _f.Lab().GetNodesAsync(name)).ToDictionary(n => n.NodeName, n => n.IPv6Address));
            var routes = await _f.Lab().GetRoutesAsync(name, null);
            Assert.All(routes, r => Assert.True(r.Present, r.ToString()));
        }
        finally
        {
            await _f.Lab().RemoveAsync(name);
        }
    }

    public static TheoryData<string> PrefixSteps() => new(new[] { LabSteps.Nat64, LabSteps.Dns64, LabSteps.Routes });

    [Theory]
    [MemberData(nameof(PrefixSteps))]
    public async Task ANat64PrefixMoveThatFailsAfterAnyStepRestoresTheOldPrefix(string step)
    {
        var name = "it-pf-" + step;
        try
        {
            var created = await _f.Lab().CreateAsync(Spec(name, 2), new LabOptions());
            var lab = _f.Lab();
            lab.AfterStep = (s, _) => s == step ? throw new InvalidOperationException($"injected failure after {s}") : Task.CompletedTask;
            var moved = created.Nat64Prefix.Replace(":64::/96", ":65::/96", StringComparison.Ordinal);
            Assert.NotEqual(created.Nat64Prefix, moved);
            await Assert.ThrowsAsync<InvalidOperationException>(() => lab.SetNat64PrefixAsync(name, moved));

            var after = (await _f.Lab().GetClustersAsync(name)).Single();
            Assert.Equal(created.Nat64Prefix, after.Nat64Prefix);
            Assert.Equal("Running", after.State);
            var routes = await _f.Lab().GetRoutesAsync(name, null);
            Assert.All(routes, r => Assert.True(r.Present, r.ToString()));
            Assert.Contains(routes, r => r.Destination == created.Nat64Prefix);
            var checks = await new LabTester(_f.Lab()).TestAsync(name, new LabTestOptions { ProbeName = "www.example.test", ProbeUrl = "http://www.example.test/" });
            var failed = checks.Where(c => c.Status == CheckStatus.Fail).Select(c => c.ToString()).ToList();
            Assert.True(failed.Count == 0, string.Join("\n", failed));
        }
        finally
        {
            await _f.Lab().RemoveAsync(name);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Theory]
    [MemberData(nameof(PrefixSteps))]
    public async Task ANat64PrefixMoveStoppedAfterAnyStepRestoresTheOldPrefix(string step)
    {
        var name = "it-pc-" + step;
        try
        {
            var created = await _f.Lab().CreateAsync(Spec(name), new LabOptions());
            using var cts = new CancellationTokenSource();
            var lab = _f.Lab(cts.Token);
            lab.AfterStep = (s, _) => { if (s == step) cts.Cancel(); return Task.CompletedTask; };
            var moved = created.Nat64Prefix.Replace(":64::/96", ":65::/96", StringComparison.Ordinal);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => lab.SetNat64PrefixAsync(name, moved));
            var after = (await _f.Lab().GetClustersAsync(name)).Single();
            Assert.Equal((created.Nat64Prefix, "Running"), (after.Nat64Prefix, after.State));
            Assert.All(await _f.Lab().GetRoutesAsync(name, null), r => Assert.True(r.Present, r.ToString()));
        }
        finally
        {
            await _f.Lab().RemoveAsync(name);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task WithADaemonOnAnotherHostTheHostSideChangesAreRefusedBeforeAnythingIsCreated()
    {
        const string name = "it-remote";
        // The local daemon, but reported as another machine's: what DOCKER_HOST=tcp://docker-host.example:2376 gives.
        using var remote = new FaultInjectingDockerApi(_f.Docker) { ReportedEndpoint = "tcp://docker-host.example:2376" };
        var lab = LabOver(remote);
        try
        {
            var aaaa = Spec(name);
            aaaa.AllowAaaa = true;
            var refused = await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(aaaa, new LabOptions()));
            Assert.Equal((ErrorIds.RemoteDockerHost, "AllowAaaa"), (refused.ErrorId, refused.ParameterName));
            Assert.Contains("tcp://docker-host.example:2376", refused.Message);
            Assert.Empty(await _f.LeftoversAsync(name));

            // A Kubernetes lab's API server is published on the Docker host's loopback: unreachable from here.
            var kubernetes = await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(Spec(name), new LabOptions { NetworkOnly = false }));
            Assert.Equal((ErrorIds.RemoteDockerHost, "NetworkOnly"), (kubernetes.ErrorId, kubernetes.ParameterName));
            Assert.Contains("ssh -L", kubernetes.RecommendedAction);
            Assert.Empty(await _f.LeftoversAsync(name));

            var noUpstream = Spec(name);
            noUpstream.Dns64Upstream = Array.Empty<string>();     // this machine's resolvers are not the Docker host's
            Assert.Equal(ErrorIds.Dns64UpstreamMissing, (await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(noUpstream, new LabOptions()))).ErrorId);
            Assert.Empty(await _f.LeftoversAsync(name));

            // A lab without AAAA mode works through it; host routes and AAAA mode stay refused, and nothing changed.
            await lab.CreateAsync(Spec(name), new LabOptions());
            Assert.Equal(ErrorIds.RemoteDockerHost, (await Assert.ThrowsAsync<DindException>(() => lab.SyncHostRoutesAsync(name))).ErrorId);
            Assert.Equal(ErrorIds.RemoteDockerHost, (await Assert.ThrowsAsync<DindException>(() => lab.SetDns64Async(name, true, null))).ErrorId);
            Assert.False((await lab.GetDns64Async(name)).AllowAaaa);
            Assert.Empty(await new HostFirewall().ListClusterAsync(name, default));
        }
        finally
        {
            await lab.RemoveAsync(name);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task ALocalNetworkLabIsConfiguredFromTheHostWithoutAnExec()
    {
        // This daemon is local and the tests run as root: DNS64 is asked from the host, NAT64's and the nodes' routes,
        // resolvers and masquerade rules are made from the host in their network namespaces, and the final check asks
        // the DNS64 from a socket made in the first node's namespace (src/Ipv6Dind.Core/Host/ContainerNetns.cs).
        const string name = "it-hostside";
        using var counting = new FaultInjectingDockerApi(_f.Docker);
        try
        {
            await LabOver(counting).CreateAsync(Spec(name, 2), new LabOptions());
            var execs = counting.Calls.Where(c => c.Method == "Exec").Select(c => string.Join(' ', ((IReadOnlyList<string>)c.Arguments[1]!).Take(2))).ToList();
            Assert.Empty(execs);
            Assert.Contains(counting.Calls, c => c.Method == "InspectContainer");     // the host-side way reads each sandbox
            var nodes = await _f.Lab().GetNodesAsync(name);
            foreach (var node in nodes)
            {
                var resolver = await _f.Docker.ExecAsync(node.ContainerId, new[] { "cat", "/etc/resolv.conf" }, null, null, default);
                Assert.Contains("nameserver " + (await _f.Lab().GetClustersAsync(name)).Single().Dns64Address, resolver.StandardOutput);
                var rules = await _f.Docker.ExecAsync(node.ContainerId, new[] { "ip6tables", "-t", "nat", "-S", "POSTROUTING" }, null, null, default);
                Assert.Contains("-j MASQUERADE", rules.StandardOutput);       // the host's rule is the one the node's own ip6tables lists
            }
            Assert.All(await _f.Lab().GetRoutesAsync(name, null), r => Assert.True(r.Present, $"{r.NodeName}: {r.Destination} missing"));

            // The bridge's gateway was made again without DAD before the first container joined (src/Ipv6Dind.Core/Host/LabBridge.cs).
            var network = Assert.Single(await _f.Docker.ListNetworksAsync(LabLabels.ClusterFilter(name), default));
            var cluster = (await _f.Lab().GetClustersAsync(name)).Single();
            var gateway = (await HostProcess.RunAsync("ip", new[] { "-6", "-o", "address", "show", "dev", LabBridge.BridgeName(network.Id)! }, TimeSpan.FromSeconds(10))).StdOut
                .Split('\n').Single(l => l.Contains(" " + cluster.ManagementPrefix.Replace("::/64", "::1/64") + " ", StringComparison.Ordinal));
            Assert.Contains(" nodad", gateway);
            Assert.DoesNotContain("tentative", gateway);
        }
        finally
        {
            await _f.Lab().RemoveAsync(name);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task ABringUpWhoseCreateAnswerWasLostLeavesNothing()
    {
        // The 4th container create of a 2-node lab (DNS64, NAT64 and the nodes start side by side, in no fixed order)
        // is done by the daemon, but the answer never reaches the caller, so the journal cannot list it: the sweep
        // by label removes it.
        const string name = "it-lost";
        using var lossy = new FaultInjectingDockerApi(_f.Docker).LoseAnswerOfNth("CreateContainer", 4);
        var ex = await Assert.ThrowsAsync<DindException>(() => LabOver(lossy).CreateAsync(Spec(name, 2), new LabOptions()));
        Assert.Equal(ErrorIds.DockerApiError, ex.ErrorId); // the failed call's own id, with the step in front
        Assert.Matches("^Step '(dns64|nat64|nodes)': Injected fault: CreateContainer call 4", ex.Message);
        Assert.Single(lossy.Injected);
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task ABringUpWhoseRollbackFailsSaysWhatIsLeft()
    {
        const string name = "it-stuck";
        using var stuck = new FaultInjectingDockerApi(_f.Docker)
            .FailNth("StartContainer", 2)
            .FailWhen(c => c.Method == "RemoveContainer");
        try
        {
            var ex = await Assert.ThrowsAsync<DindException>(() => LabOver(stuck).CreateAsync(Spec(name, 1), new LabOptions()));
            Assert.Contains("Not removed: container it-stuck-", ex.Message);
            Assert.Contains($"Remove-DindCluster {name} removes them", ex.Message);
            Assert.NotEmpty(await _f.LeftoversAsync(name));
        }
        finally
        {
            await _f.Lab().RemoveAsync(name);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task ARemovalStoppedMidwayIsFinishedByTheNextOne()
    {
        const string name = "it-rmc";
        await _f.Lab().CreateAsync(Spec(name, 2), new LabOptions());
        using var stopping = new FaultInjectingDockerApi(_f.Docker).FailNth("RemoveContainer", 2, _ => new OperationCanceledException("Ctrl-C"));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => LabOver(stopping).RemoveAsync(name));
        Assert.NotEmpty(await _f.LeftoversAsync(name));
        await _f.Lab().RemoveAsync(name);
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task ARemovalThatFailsMidwayIsFinishedByTheNextOne()
    {
        const string name = "it-rmf";
        await _f.Lab().CreateAsync(Spec(name, 2), new LabOptions());
        using var faulty = new FaultInjectingDockerApi(_f.Docker).FailNth("RemoveContainer", 2);
        await Assert.ThrowsAsync<DindException>(() => LabOver(faulty).RemoveAsync(name));
        Assert.NotEmpty(await _f.LeftoversAsync(name)); // the injected fault really stopped it midway
        await _f.Lab().RemoveAsync(name);
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task TwoBringUpsOfOneNameGiveOneClusterAndOneClusterExists()
    {
        const string name = "it-race";
        try
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
            {
                try { return (Cluster: await _f.Lab().CreateAsync(Spec(name), new LabOptions()), Error: (DindException?)null); }
                catch (DindException e) { return (Cluster: (DindCluster?)null, Error: e); }
            }));
            Assert.Single(results, r => r.Cluster is not null);
            Assert.Equal(ErrorIds.ClusterExists, Assert.Single(results, r => r.Error is not null).Error!.ErrorId);
            Assert.Equal("Running", (await _f.Lab().GetClustersAsync(name)).Single().State);
        }
        finally
        {
            await _f.Lab().RemoveAsync(name);
        }
    }

    [Fact]
    public async Task TwoBringUpsOfTwoNamesBothSucceedWithDisjointAddresses()
    {
        try
        {
            var both = await Task.WhenAll(
                _f.Lab().CreateAsync(Spec("it-par-a"), new LabOptions()),
                _f.Lab().CreateAsync(Spec("it-par-b"), new LabOptions()));
            Assert.All(both, c => Assert.Equal("Running", c.State));
            var a = Core.Addressing.Ipv6Prefix.Parse(both[0].Spec.Subnet);
            var b = Core.Addressing.Ipv6Prefix.Parse(both[1].Spec.Subnet);
            Assert.False(a.Overlaps(b), $"{a} overlaps {b}");
        }
        finally
        {
            await _f.Lab().RemoveAsync("it-par-a");
            await _f.Lab().RemoveAsync("it-par-b");
        }
    }

    [Fact]
    public async Task OfTwoConcurrentCreatesWithOverlappingPrefixesExactlyOneSucceeds()
    {
        // Both ask for the same management prefix: the overlap check and the network creation happen under the
        // daemon's address lock, so the second sees the first's network and fails with the overlap error.
        DindClusterSpec Overlapping(string name)
        {
            var spec = Spec(name);
            spec.ManagementPrefix = "fd00:77:ab:10::/64";
            return spec;
        }
        var outcomes = new List<object>();
        try
        {
            var runs = new[] { "it-ovl-a", "it-ovl-b" }.Select(n => Task.Run(async () =>
            {
                try { return (object)await _f.Lab().CreateAsync(Overlapping(n), new LabOptions()); }
                catch (DindException e) { return e; }
            })).ToArray();
            outcomes.AddRange(await Task.WhenAll(runs));
            var created = Assert.Single(outcomes.OfType<DindCluster>());
            var refused = Assert.Single(outcomes.OfType<DindException>());
            Assert.Contains(refused.ErrorId, new[] { ErrorIds.SubnetOverlapsCluster, ErrorIds.SubnetOverlapsDockerNetwork });
            Assert.Equal("Running", created.State);
            var loser = created.ClusterName == "it-ovl-a" ? "it-ovl-b" : "it-ovl-a";
            Assert.Empty(await _f.LeftoversAsync(loser));
        }
        finally
        {
            await _f.Lab().RemoveAsync("it-ovl-a");
            await _f.Lab().RemoveAsync("it-ovl-b");
        }
    }
}
