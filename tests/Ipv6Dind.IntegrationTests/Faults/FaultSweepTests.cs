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
[Collection("lab")]
public sealed class FaultSweepTests
{
    private readonly LabFixture _f;
    private readonly ITestOutputHelper _out;

    public FaultSweepTests(LabFixture fixture, ITestOutputHelper output)
    {
        _f = fixture;
        _out = output;
    }

    public static TheoryData<FaultKind> Kinds() => new(Enum.GetValues<FaultKind>());

    private static readonly LabOptions Sweep = new()
    {
        Parallelism = 1,                               // call k is the same call in every run
        LockWait = TimeSpan.FromSeconds(5),
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
        await LabListing.SnapshotAsync(_f.Docker, await _f.DaemonIdAsync(), cluster, nodeRoutes);

    private static string Diff(IReadOnlyList<string> expected, IReadOnlyList<string> actual) =>
        "missing: " + string.Join(" | ", expected.Except(actual)) + " ;; extra: " + string.Join(" | ", actual.Except(expected));

    // ------------------------------------------------------------------------------------------------ the driver

    /// <summary>
    /// Sweeps <paramref name="act"/> over every call index for one fault kind. <paramref name="arrange"/> brings the
    /// lab to its "before" state (none for New); <paramref name="restore"/> undoes a run that succeeded.
    /// </summary>
    private async Task SweepAsync(string command, string cluster, FaultKind kind, Func<DindLab, Task> act,
        Func<Task>? arrange = null, Func<Task>? restore = null, bool nodeRoutes = false, bool oldOrNothing = true)
    {
        if (arrange is not null) await arrange();
        var before = await SnapshotAsync(cluster, nodeRoutes);

        // The clean run: K, and the state after a success.
        var (clean, counted) = Faulty(0, kind);
        await act(clean);
        var after = await SnapshotAsync(cluster, nodeRoutes);
        var k = counted.Count;
        Assert.True(k > 0, "the clean run made no outside call");
        if (restore is not null) await restore();
        Assert.True(before.SequenceEqual(await SnapshotAsync(cluster, nodeRoutes)), "restore after the clean run: " + Diff(before, await SnapshotAsync(cluster, nodeRoutes)));

        var problems = new List<string>();
        var failed = 0;
        for (var target = 1; target <= k; target++)
        {
            var (lab, plan) = Faulty(target, kind);
            Exception? error = null;
            try { await act(lab); }
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
                if (oldOrNothing && !now.SequenceEqual(before))
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
        var report = $"fault sweep: {command}: {kind}: {k} cases (K = {k} calls: {string.Join(", ", counted.Calls.Select(c => c[(c.IndexOf(' ') + 1)..].Split(' ')[0]).GroupBy(c => c).Select(g => $"{g.Count()} {g.Key}"))}), {failed} failed as expected, {k - failed} absorbed, {problems.Count} problem(s)";
        _out.WriteLine(report);
        SweepReport.Add(report);
        Assert.True(problems.Count == 0, report + "\n" + string.Join("\n", problems));
    }

    // ------------------------------------------------------------------------------------------------ the operations

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task NewDindClusterNetworkLabTwoNodes(FaultKind kind)
    {
        var name = "it-sw-new-" + kind.ToString().ToLowerInvariant();
        try
        {
            await SweepAsync("New-DindCluster (network lab, 2 nodes)", name, kind,
                act: lab => lab.CreateAsync(Spec(name, 2), Sweep),
                restore: () => _f.Lab().RemoveAsync(name));
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task NewDindClusterNetworkLabWithAaaaMode(FaultKind kind)
    {
        var name = "it-sw-new6-" + kind.ToString().ToLowerInvariant()[..2];
        try
        {
            await SweepAsync("New-DindCluster -AllowAaaa (network lab, 1 node)", name, kind,
                act: lab => lab.CreateAsync(Spec(name, 1, aaaa: true), Sweep),
                restore: () => _f.Lab().RemoveAsync(name));
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task SetDns64AllowAaaa(FaultKind kind)
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

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RemoveDindClusterAaaaMode(FaultKind kind)
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
}

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
