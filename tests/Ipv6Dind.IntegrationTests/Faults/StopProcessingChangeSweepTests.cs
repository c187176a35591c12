using Ipv6Dind.Core.Lab;
using Ipv6Dind.IntegrationTests.Lab;
using Xunit.Abstractions;

namespace Ipv6Dind.IntegrationTests.Faults;

/// <summary>
/// The Ctrl-C sweep (tests/Ipv6Dind.IntegrationTests/Faults/StopProcessingSweepTests.cs) of the operations that change
/// a lab: Reset-DindCluster, Add-DindNode, Remove-DindNode, Start-DindCluster, Set-Nat64Prefix. In the fault sweep's
/// test process (collection "sweep"), beside the other tests, as tests/run runs it; its labs use the simulated
/// world's resolver address as DNS64 upstream without needing it to answer (readiness asks named itself).
/// </summary>
[Collection("sweep")]
public sealed class StopProcessingChangeSweepTests : StopProcessingSweepBase
{
    public StopProcessingChangeSweepTests(SweepFixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    // ------------------------------------------------------------------ the other changes: the old state or the new one

    /// <summary>
    /// Ctrl-C at every target request of <paramref name="cmdlet"/> on a lab that <paramref name="arrange"/> makes from
    /// nothing: each case must end stopped (or completed), and the listing must show the state before or the state of
    /// a clean run (with <paramref name="nothingIsOld"/>, also nothing: Reset-DindCluster removes a lab it cannot
    /// rebuild). A case that changed the lab gets it made again from nothing before the next case.
    /// </summary>
    private async Task OldOrNewAsync(string command, string name, string cmdlet, Dictionary<string, object> parameters, Func<Task> arrange,
        bool nodeRoutes = false, bool nothingIsOld = false)
    {
        var daemonId = await _f.DaemonIdAsync();
        Task<List<string>> Listing() => LabListing.SnapshotAsync(_f.Docker, daemonId, name, nodeRoutes, hostWide: false);
        async Task Rebuild()
        {
            await _f.Lab().RemoveAsync(name);
            await arrange();
        }
        try
        {
            await _f.Lab().RemoveAsync(name);
            var nothing = await Listing();
            await arrange();
            var before = await Listing();
            var clean = Invoke(cmdlet, parameters);
            Assert.True(clean.Completed, $"clean run: {clean.State} {clean.Error?.Message} {string.Join("; ", clean.Errors)}");
            Assert.Equal(0, clean.Unparsed);
            var after = await Listing();
            var k = clean.Requests.Count;
            _out.WriteLine($"clean run, {k} requests:\n  " + string.Join("\n  ", clean.Requests));

            var problems = new List<string>();
            int stopped = 0, completed = 0;
            var changed = true;
            foreach (var target in Targets(clean.Requests))
            {
                if (changed) await Rebuild();
                var run = Invoke(cmdlet, parameters, stopAt: target);
                var now = await Listing();
                var where = $"{command}: stop at request {target}/{k} ({run.Hit ?? "not reached"})";
                if (run.Hung) problems.Add($"{where}: the pipeline did not end within {CaseTimeout}");
                if (run.Unparsed > 0) problems.Add($"{where}: the relay lost track of {run.Unparsed} connection(s)");
                var old = now.SequenceEqual(before) || (nothingIsOld && now.SequenceEqual(nothing));
                JudgeOldOrNew(problems, where, run, old, now.SequenceEqual(after), before, after, now, ref stopped, ref completed);
                // Anything but the state before is made again from nothing (its listing has the same lines as before).
                changed = !now.SequenceEqual(before);
            }
            Report(command, k, clean.Requests, stopped, completed, problems);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    private Task MakeLab(string name, int nodes) =>
        _f.Lab().CreateAsync(new DindClusterSpec { ClusterName = name, Nodes = nodes, Dns64Upstream = new[] { _f.Upstream } }, new LabOptions { NetworkOnly = true });

    [Fact]
    public Task ResetDindClusterNetworkLabOneNode() =>
        OldOrNewAsync("Reset-DindCluster (network lab, 1 node)", "it-cc-stop-rst", "Reset-DindCluster",
            new() { ["ClusterName"] = "it-cc-stop-rst", ["Parallelism"] = 1, ["Confirm"] = false }, () => MakeLab("it-cc-stop-rst", 1), nothingIsOld: true);

    [Fact]
    public Task AddDindNodeToAOneNodeLab() =>
        OldOrNewAsync("Add-DindNode (1 to a 1-node lab)", "it-cc-stop-add", "Add-DindNode",
            new() { ["ClusterName"] = "it-cc-stop-add", ["Nodes"] = 1, ["Parallelism"] = 1 }, () => MakeLab("it-cc-stop-add", 1), nodeRoutes: true);

    [Fact]
    public Task RemoveDindNodeOneOfTwo() =>
        OldOrNewAsync("Remove-DindNode (1 of 2)", "it-cc-stop-rmn", "Remove-DindNode",
            new() { ["ClusterName"] = "it-cc-stop-rmn", ["NodeName"] = LabNames.Node("it-cc-stop-rmn", 2), ["Confirm"] = false }, () => MakeLab("it-cc-stop-rmn", 2), nodeRoutes: true);

    [Fact]
    public Task StartDindClusterAfterStop() =>
        OldOrNewAsync("Start-DindCluster (network lab, 1 node, stopped)", "it-cc-stop-sta", "Start-DindCluster",
            new() { ["ClusterName"] = "it-cc-stop-sta", ["Parallelism"] = 1 }, async () => { await MakeLab("it-cc-stop-sta", 1); await _f.Lab().StopAsync("it-cc-stop-sta"); });

    [Fact]
    public Task SetNat64PrefixNetworkLabOneNode() =>
        OldOrNewAsync("Set-Nat64Prefix (network lab, 1 node)", "it-cc-stop-n64", "Set-Nat64Prefix",
            new() { ["ClusterName"] = "it-cc-stop-n64", ["Nat64Prefix"] = "fd9c:64:64:65::/96", ["Confirm"] = false },
            () => _f.Lab().CreateAsync(new DindClusterSpec { ClusterName = "it-cc-stop-n64", Nodes = 1, Dns64Upstream = new[] { _f.Upstream }, Nat64Prefix = "fd9c:64:64:64::/96" },
                new LabOptions { NetworkOnly = true }), nodeRoutes: true);
}
