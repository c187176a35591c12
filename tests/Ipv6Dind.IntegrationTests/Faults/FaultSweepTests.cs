using System.Runtime.CompilerServices;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.IntegrationTests.Lab;
using Xunit.Abstractions;

namespace Ipv6Dind.IntegrationTests.Faults;

/// <summary>
/// The exhaustive fault sweep, in the style of SQLite's I/O-error tests: a clean run of an operation counts its K
/// outside calls (Docker API calls, execs, host commands, in the order they start, parallelism 1); then for every
/// k in 1..K the operation runs again with call k failing, with call k done but its answer lost, and with Ctrl-C
/// arriving as call k starts. After each case one listing (<see cref="SnapshotAsync"/>: containers, networks and
/// volumes - anonymous ones included -, the module's host ip6tables rules, host routes of proto 166, node routes,
/// the cluster's lock file, temp folders) must equal the state before, or the state of a clean run when the
/// operation succeeded anyway. The number of cases per operation goes to the test output and to the sweep report
/// (tests/run prints it).
/// </summary>
[Collection("sweep")]
public sealed class FaultSweepTests
{
    private readonly SweepFixture _f;
    private readonly ITestOutputHelper _out;

    public FaultSweepTests(SweepFixture fixture, ITestOutputHelper output)
    {
        _f = fixture;
        _out = output;
    }

    /// <summary>
    /// The fault kinds of one operation, run at the same time, each on a cluster of its own (the listing is per
    /// cluster). Every kind when the in-memory daemon cannot run the operation (<paramref name="everyKind"/>: host
    /// commands of AAAA mode, the Kubernetes phase's execs into the kubeadm double), or with IPV6DIND_SWEEP=all.
    /// Otherwise only the lost answers: a call that fails, or Ctrl-C as it starts, never reaches the daemon, so those
    /// cases are the module's own logic, which tests/Ipv6Dind.Lab.Tests/FaultSweepTests.cs sweeps at every call on the
    /// in-memory daemon in milliseconds; a lost answer is where the real daemon's own behaviour (work done, answer
    /// gone, sometimes finished later) matters.
    /// </summary>
    private static async Task AllKindsAsync(Func<FaultKind, Task> sweep, bool everyKind = false, [CallerMemberName] string test = "")
    {
        var kinds = everyKind || Environment.GetEnvironmentVariable("IPV6DIND_SWEEP") == "all"
            ? Enum.GetValues<FaultKind>()
            : new[] { FaultKind.LoseAnswer };
        if (kinds.Length < Enum.GetValues<FaultKind>().Length)
            SweepReport.Add($"fault sweep: {test}: Fail and Cancel run on the in-memory daemon (tests/Ipv6Dind.Lab.Tests); IPV6DIND_SWEEP=all runs them here too");
        var runs = kinds.Select(k => Task.Run(() => sweep(k))).ToList();
        try { await Task.WhenAll(runs); }
        catch
        {
            var failures = runs.Where(r => r.IsFaulted).SelectMany(r => r.Exception!.InnerExceptions).Select(e => e.Message);
            throw new Xunit.Sdk.XunitException(string.Join("\n\n", failures));
        }
    }

    private static readonly LabOptions Sweep = new()
    {
        Parallelism = 1,                               // call k is the same call in every run
        // The other test process's bring-ups hold the daemon's address lock for a while on a busy machine; waiting
        // for it is not the fault under test.
        LockWait = TimeSpan.FromMinutes(2),
        ReadyTimeout = TimeSpan.FromSeconds(30),
        RollbackBudget = TimeSpan.FromSeconds(60),
    };

    private DindClusterSpec Spec(string name, int nodes, bool aaaa = false) =>
        new() { ClusterName = name, Nodes = nodes, Dns64Upstream = new[] { _f.Upstream }, AllowAaaa = aaaa };

    private (DindLab Lab, FaultPlan Plan) Faulty(int target, FaultKind kind)
    {
        var cancel = new CancellationTokenSource();
        var plan = new FaultPlan(target, kind, cancel);
        var runner = new SweepHostRunner(plan);
        var lab = new DindLab(new SweepDockerApi(_f.Docker, plan), new OperationContext(cancel.Token, new Progress<DindProgress>(), NullLog.Instance), new HostFirewall(runner));
        return (lab, plan);
    }

    // ------------------------------------------------------------------------------------------------ the listing

    /// <summary>Everything of <paramref name="cluster"/> an operation could leave or change, one line each, sorted.</summary>
    private async Task<List<string>> SnapshotAsync(string cluster, bool nodeRoutes = false) =>
        // Cluster-scoped: tests/run runs the sweep beside the other lab tests, whose host routes and volumes are theirs.
        await LabListing.SnapshotAsync(_f.Docker, await _f.DaemonIdAsync(), cluster, nodeRoutes, hostWide: false);

    /// <summary>Calls that change nothing (listings, inspections, reads, ip6tables -C and -save).</summary>
    private static bool IsReadOnly(string call)
    {
        var what = call[(call.IndexOf(' ') + 1)..];
        return what.StartsWith("GetDaemonInfo", StringComparison.Ordinal) || what.StartsWith("List", StringComparison.Ordinal)
            || what.StartsWith("Inspect", StringComparison.Ordinal) || what.StartsWith("GetFile", StringComparison.Ordinal)
            || what.StartsWith("PathExists", StringComparison.Ordinal) || what.StartsWith("GetLogs", StringComparison.Ordinal)
            || what.StartsWith("host ip6tables-save", StringComparison.Ordinal) || (what.StartsWith("host ip6tables ", StringComparison.Ordinal) && what.Contains(" -C ", StringComparison.Ordinal));
    }

    private static string Diff(IReadOnlyList<string> expected, IReadOnlyList<string> actual) =>
        "missing: " + string.Join(" | ", expected.Except(actual)) + " ;; extra: " + string.Join(" | ", actual.Except(expected));

    // ------------------------------------------------------------------------------------------------ the driver

    /// <summary>
    /// Sweeps <paramref name="act"/> over every call index for one fault kind. <paramref name="arrange"/> brings the
    /// lab to its "before" state (none for New); <paramref name="restore"/> undoes a run that succeeded.
    /// </summary>
    private async Task SweepAsync(string command, string cluster, FaultKind kind, Func<DindLab, Task> act,
        Func<Task>? arrange = null, Func<Task>? restore = null, bool nodeRoutes = false, bool oldOrNothing = true,
        bool nothingIsOld = false, Func<DindLab, DindLab>? configure = null, string? stepsFrom = null)
    {
        var nothing = await SnapshotAsync(cluster, nodeRoutes);
        if (arrange is not null) await arrange();
        var before = await SnapshotAsync(cluster, nodeRoutes);

        // The clean run: K, and the state after a success.
        var (clean, counted) = Faulty(0, kind);
        await act(configure?.Invoke(clean) ?? clean);
        var after = await SnapshotAsync(cluster, nodeRoutes);
        var k = counted.Count;
        Assert.True(k > 0, "the clean run made no outside call");
        if (restore is not null) await restore();
        Assert.True(before.SequenceEqual(await SnapshotAsync(cluster, nodeRoutes)), "restore after the clean run: " + Diff(before, await SnapshotAsync(cluster, nodeRoutes)));

        var problems = new List<string>();
        var failed = 0;
        var same = 0;
        for (var target = 1; target <= k; target++)
        {
            // A call without side effects whose answer is lost is exactly that call failing: the Fail sweep's case.
            if (kind == FaultKind.LoseAnswer && IsReadOnly(counted.Calls[target - 1]))
            {
                same++;
                continue;
            }
            var (lab, plan) = Faulty(target, kind);
            Exception? error = null;
            try { await act(configure?.Invoke(lab) ?? lab); }
            catch (Exception e) { error = e; }
            var now = await SnapshotAsync(cluster, nodeRoutes);
            var where = $"{command} {kind} at call {target}/{k} ({plan.Hit ?? "not reached"})";
            if (error is null)
            {
                if (!now.SequenceEqual(after)) problems.Add($"{where}: succeeded, but not as a clean run does: {Diff(after, now)}");
                if (restore is not null) await restore();
            }
            else
            {
                failed++;
                if (kind == FaultKind.Cancel ? error is not OperationCanceledException : error is not DindException)
                    problems.Add($"{where}: unexpected {error.GetType().Name}: {error.Message}");
                // From the first call of its steps on (the network's creation), a bring-up's error names the step.
                var firstStep = stepsFrom is null ? 0 : counted.Calls.TakeWhile(c => !c.Contains(" " + stepsFrom, StringComparison.Ordinal)).Count() + 1;
                if (stepsFrom is not null && kind != FaultKind.Cancel && target >= firstStep && !error.Message.Contains("Step '", StringComparison.Ordinal))
                    problems.Add($"{where}: the error does not name the step: {error.Message}");
                // Reset-DindCluster removes the whole lab when it cannot rebuild it: nothing is an old state too.
                if (oldOrNothing && !now.SequenceEqual(before) && !(nothingIsOld && now.SequenceEqual(nothing)))
                    problems.Add($"{where}: failed ({error.Message}) and left: {Diff(before, now)}");
                if (!oldOrNothing)
                {
                    // Removal cannot restore what it removed: a second run must finish the job.
                    await _f.Lab().RemoveAsync(cluster);
                    var rest = await SnapshotAsync(cluster, nodeRoutes);
                    if (!rest.SequenceEqual(after)) problems.Add($"{where}: failed ({error.Message}); a second removal left: {Diff(after, rest)}");
                }
            }
            // Whatever a case left, the next starts from the same state.
            if (!(await SnapshotAsync(cluster, nodeRoutes)).SequenceEqual(before))
            {
                if (arrange is null) await _f.Lab().RemoveAsync(cluster);
                else
                {
                    await _f.Lab().RemoveAsync(cluster);
                    await arrange();
                }
                before = await SnapshotAsync(cluster, nodeRoutes);
            }
        }
        var report = $"fault sweep: {command}: {kind}: {k} cases{(same > 0 ? $" ({same} lost answers of read-only calls are their Fail cases)" : "")} (K = {k} calls: {string.Join(", ", counted.Calls.Select(c => c[(c.IndexOf(' ') + 1)..].Split(' ')[0]).GroupBy(c => c).Select(g => $"{g.Count()} {g.Key}"))}), {failed} failed as expected, {k - failed - same} absorbed, {problems.Count} problem(s)";
        _out.WriteLine(report);
        SweepReport.Add(report);
        Assert.True(problems.Count == 0, report + "\n" + string.Join("\n", problems));
    }

    // ------------------------------------------------------------------------------------------------ the operations

    [Fact]
    public Task NewDindClusterNetworkLabTwoNodes() => AllKindsAsync(NewDindClusterNetworkLabTwoNodesCase);

    private async Task NewDindClusterNetworkLabTwoNodesCase(FaultKind kind)
    {
        var name = "it-sw-new-" + kind.ToString().ToLowerInvariant();
        try
        {
            await SweepAsync("New-DindCluster (network lab, 2 nodes)", name, kind,
                act: lab => lab.CreateAsync(Spec(name, 2), Sweep),
                restore: () => _f.Lab().RemoveAsync(name), stepsFrom: "CreateNetwork");
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Fact]
    public Task NewDindClusterNetworkLabWithAaaaMode() => AllKindsAsync(NewDindClusterNetworkLabWithAaaaModeCase, everyKind: true);

    private async Task NewDindClusterNetworkLabWithAaaaModeCase(FaultKind kind)
    {
        var name = "it-sw-new6-" + kind.ToString().ToLowerInvariant()[..2];
        try
        {
            await SweepAsync("New-DindCluster -AllowAaaa (network lab, 1 node)", name, kind,
                act: lab => lab.CreateAsync(Spec(name, 1, aaaa: true), Sweep),
                restore: () => _f.Lab().RemoveAsync(name), stepsFrom: "CreateNetwork");
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Fact]
    public Task SetDns64AllowAaaa() => AllKindsAsync(SetDns64AllowAaaaCase, everyKind: true);

    private async Task SetDns64AllowAaaaCase(FaultKind kind)
    {
        var name = "it-sw-dns-" + kind.ToString().ToLowerInvariant()[..2];
        try
        {
            await SweepAsync("Set-Dns64 -AllowAaaa (1 node)", name, kind,
                arrange: () => _f.Lab().CreateAsync(Spec(name, 1), new LabOptions()),
                act: lab => lab.SetDns64Async(name, true, null),
                restore: () => _f.Lab().SetDns64Async(name, false, null),
                nodeRoutes: true);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Fact]
    public Task RemoveDindClusterAaaaMode() => AllKindsAsync(RemoveDindClusterAaaaModeCase, everyKind: true);

    private async Task RemoveDindClusterAaaaModeCase(FaultKind kind)
    {
        var name = "it-sw-rm-" + kind.ToString().ToLowerInvariant()[..2];
        try
        {
            // The state before is the lab; after a failure, a second Remove-DindCluster must leave nothing.
            await SweepAsync("Remove-DindCluster (AAAA mode, 1 node)", name, kind,
                arrange: () => _f.Lab().CreateAsync(Spec(name, 1, aaaa: true), new LabOptions()),
                act: lab => lab.RemoveAsync(name),
                restore: () => _f.Lab().CreateAsync(Spec(name, 1, aaaa: true), new LabOptions()),
                oldOrNothing: false);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Fact]
    public Task ResetDindClusterNetworkLab() => AllKindsAsync(ResetDindClusterNetworkLabCase);

    private async Task ResetDindClusterNetworkLabCase(FaultKind kind)
    {
        var name = "it-sw-rs-" + kind.ToString().ToLowerInvariant()[..2];
        try
        {
            await SweepAsync("Reset-DindCluster (network lab, 1 node)", name, kind,
                arrange: () => _f.Lab().CreateAsync(Spec(name, 1), new LabOptions()),
                act: lab => lab.ResetAsync(name, Sweep),
                nodeRoutes: true, nothingIsOld: true);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Fact]
    public Task SetNat64PrefixMovesThePrefix() => AllKindsAsync(SetNat64PrefixMovesThePrefixCase);

    private async Task SetNat64PrefixMovesThePrefixCase(FaultKind kind)
    {
        var name = "it-sw-n64-" + kind.ToString().ToLowerInvariant()[..2];
        string? old = null;
        try
        {
            await SweepAsync("Set-Nat64Prefix (1 node)", name, kind,
                arrange: async () => old = (await _f.Lab().CreateAsync(Spec(name, 1), new LabOptions())).Nat64Prefix,
                // One prefix per fault kind: the three kinds run at once, and two clusters may not share a prefix.
                act: lab => lab.SetNat64PrefixAsync(name, $"fd00:64:77:{(int)kind + 1}::/96"),
                restore: () => _f.Lab().SetNat64PrefixAsync(name, old!),
                nodeRoutes: true);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Fact]
    public Task AddDindNodeToAOneNodeLab() => AllKindsAsync(AddDindNodeToAOneNodeLabCase);

    private async Task AddDindNodeToAOneNodeLabCase(FaultKind kind)
    {
        var name = "it-sw-add-" + kind.ToString().ToLowerInvariant()[..2];
        try
        {
            await SweepAsync("Add-DindNode (1 node to 1)", name, kind,
                arrange: () => _f.Lab().CreateAsync(Spec(name, 1), new LabOptions()),
                act: lab => lab.AddNodesAsync(name, 1, Sweep),
                restore: () => _f.Lab().RemoveNodeAsync(name, name + "-node-2"),
                nodeRoutes: true);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Fact]
    public Task RemoveDindNodeFromATwoNodeLab() => AllKindsAsync(RemoveDindNodeFromATwoNodeLabCase);

    private async Task RemoveDindNodeFromATwoNodeLabCase(FaultKind kind)
    {
        var name = "it-sw-rmn-" + kind.ToString().ToLowerInvariant()[..2];
        try
        {
            await SweepAsync("Remove-DindNode (1 of 2)", name, kind,
                arrange: () => _f.Lab().CreateAsync(Spec(name, 2), new LabOptions()),
                act: lab => lab.RemoveNodeAsync(name, name + "-node-2"),
                restore: () => _f.Lab().AddNodesAsync(name, 1, new LabOptions()),
                nodeRoutes: true);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Fact]
    public Task StartDindClusterAfterStop() => AllKindsAsync(StartDindClusterAfterStopCase);

    private async Task StartDindClusterAfterStopCase(FaultKind kind)
    {
        var name = "it-sw-st-" + kind.ToString().ToLowerInvariant()[..2];
        try
        {
            await SweepAsync("Start-DindCluster (1 node, stopped)", name, kind,
                arrange: async () => { await _f.Lab().CreateAsync(Spec(name, 1), new LabOptions()); await _f.Lab().StopAsync(name); },
                act: lab => lab.StartAsync(name, Sweep.Parallelism),
                restore: () => _f.Lab().StopAsync(name),
                nodeRoutes: true);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Fact]
    public Task NewDindClusterKubernetesOneNodeAgainstTheDoubles() => AllKindsAsync(NewDindClusterKubernetesOneNodeAgainstTheDoublesCase, everyKind: true);

    private async Task NewDindClusterKubernetesOneNodeAgainstTheDoublesCase(FaultKind kind)
    {
        // kubeadm, kubelet and containerd are the test doubles of the node image (tests/…/Kubernetes/KubeDoubleImage.cs);
        // the API server is the C# fake. What is swept is the module's side: every Docker call and exec it makes.
        var name = "it-sw-k8-" + kind.ToString().ToLowerInvariant()[..2];
        var image = await Kubernetes.KubeDoubleImage.EnsureKubernetesNodeAsync(_f.Docker);
        await using var fake = await Ipv6Dind.FakeKubeApi.FakeKubeApiServer.StartWithNodesAsync(new[] { name + "-node-1" }, readyAfterPolls: 1);
        try
        {
            await SweepAsync("New-DindCluster (Kubernetes, 1 node, doubles)", name, kind,
                act: lab => lab.CreateAsync(new DindClusterSpec { ClusterName = name, Nodes = 1, NodeImage = image, Dns64Upstream = new[] { _f.Upstream } },
                    Sweep with { NetworkOnly = false, KubernetesReadyTimeout = TimeSpan.FromSeconds(30), KubeadmTimeout = TimeSpan.FromSeconds(60) }),
                restore: () => _f.Lab().RemoveAsync(name),
                configure: lab =>
                {
                    lab.ConnectKubernetes = (_, _) => Ipv6Dind.Core.Kubernetes.KubernetesApiFactory.FromKubeconfig(fake.Kubeconfig, null,
                        new Ipv6Dind.Core.Kubernetes.KubernetesApiOptions { PollInterval = TimeSpan.FromMilliseconds(200) });
                    return lab;
                });
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }
}

/// <summary>
/// What the sweep needs: the images and a Docker client. Not the simulated outside world - a bring-up checks its
/// DNS64 with version.bind, which bind9 answers itself - so the sweep can run in a test process of its own beside
/// the other lab tests (tests/run does), on clusters whose names no other test uses. Its clusters carry the run
/// label of <see cref="LabFixture"/> and are removed by it at the end.
/// </summary>
public sealed class SweepFixture : IAsyncLifetime, ILabFixture
{
    public IDockerApi Docker { get; private set; } = null!;
    public string Upstream => OutsideWorld.ResolverAddress4;

    public async Task InitializeAsync()
    {
        _ = LabFixture.RunId;     // marks this process's objects with the run label
        Docker = DockerApi.Connect();
        await LabFixture.RemoveDeadRunsAsync(Docker);
        await new Ipv6Dind.Core.Images.ImageBuilder(Docker, OperationContext.None).EnsureImagesAsync(new[] { "dns64", "nat64", "node" }, force: false);
    }

    public async Task DisposeAsync()
    {
        var mine = new Dictionary<string, string> { [LabFixture.RunLabel] = LabFixture.RunId };
        foreach (var name in (await Docker.ListNetworksAsync(mine, default)).Select(n => n.Labels[LabLabels.Cluster]).Distinct())
            await Lab().RemoveAsync(name);
        Docker.Dispose();
    }

    public DindLab Lab(CancellationToken ct = default) => new(Docker, new OperationContext(ct, new Progress<DindProgress>(), NullLog.Instance));

    public async Task<string> DaemonIdAsync() => (await Docker.GetDaemonInfoAsync(default)).Id;
}

[CollectionDefinition("sweep")]
public sealed class SweepCollection : ICollectionFixture<SweepFixture> { }

/// <summary>The sweep's one-line summaries, also written to the file tests/run prints at the end.</summary>
public static class SweepReport
{
    public static readonly string File = Environment.GetEnvironmentVariable("IPV6DIND_SWEEP_REPORT") ?? Path.Combine(Path.GetTempPath(), "ipv6dind-fault-sweep.txt");
    private static readonly object Gate = new();

    public static void Add(string line)
    {
        lock (Gate) System.IO.File.AppendAllText(File, line + "\n");
    }
}
