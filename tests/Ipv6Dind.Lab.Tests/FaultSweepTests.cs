using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.TestSupport;
using Xunit.Abstractions;

namespace Ipv6Dind.Lab.Tests;

/// <summary>
/// The fault sweep of tests/Ipv6Dind.IntegrationTests/Faults/FaultSweepTests.cs, on the in-memory daemon: a clean run
/// of an operation counts its K Docker calls (execs included, nodes one at a time so that call k is the same call in
/// every run); then for every k in 1..K the operation runs again, with call k failing (a DindException), separately
/// with the operation's token cancelled as call k starts, and with call k done but its answer lost (the state before
/// is arranged once, each case runs on a <see cref="InMemoryDockerApi.Fork"/> of it). After each case the daemon's
/// snapshot (with the cluster's lock file) must be the one before the operation - or, when the operation
/// succeeded anyway, the one of a clean run; Reset-DindCluster may also leave nothing of the cluster, and after a
/// failed Remove-DindCluster a second removal must leave nothing. K per operation goes to the test output.
/// </summary>
public sealed class FaultSweepTests
{
    private readonly ITestOutputHelper _out;

    public FaultSweepTests(ITestOutputHelper output) => _out = output;

    public enum Fault
    {
        /// <summary>Call k fails with a DindException before it reaches the daemon.</summary>
        Fail,
        /// <summary>Ctrl-C as call k starts: the operation's token is cancelled, the call goes on with it.</summary>
        Cancel,
        /// <summary>Call k reaches the daemon and does its work, then fails (a connection lost while the answer was on its way).</summary>
        LoseAnswer,
        /// <summary>
        /// Ctrl-C as call k starts, its request already on its way: a call given the operation's (now cancelled) token
        /// returns at once, and the daemon carries the request out after the operation and its rollback returned.
        /// </summary>
        CancelLate,
    }

    /// <param name="Arrange">Brings a fresh daemon to the state before the operation (none for New).</param>
    /// <param name="Act">The operation, on a lab over the faulty daemon; the bare daemon is there for reads that must not count.</param>
    /// <param name="OldOrNothing">Whether a failure must leave the old state (false: Remove-DindCluster, which a second run finishes).</param>
    /// <param name="NothingIsOld">Whether a failure may also leave nothing of the cluster (Reset-DindCluster removes a lab it cannot rebuild).</param>
    /// <param name="StepsFrom">From the first call of this method on, a failure's message names the bring-up step.</param>
    private sealed record Operation(string Command, Func<DindLab, Task>? Arrange, Func<DindLab, InMemoryDockerApi, Task> Act,
        bool OldOrNothing = true, bool NothingIsOld = false, string? StepsFrom = null);

    private const string Cluster = "sweep";

    private static readonly Dictionary<string, Operation> Operations = new(StringComparer.Ordinal)
    {
        ["New"] = new("New-DindCluster (network lab, 2 nodes)", null,
            (lab, _) => lab.CreateAsync(InMemoryLab.Spec(Cluster, 2), InMemoryLab.Serial), StepsFrom: "CreateNetwork"),
        ["AddNode"] = new("Add-DindNode (1 to a 1-node lab)", lab => Create(lab, 1),
            (lab, _) => lab.AddNodesAsync(Cluster, 1, InMemoryLab.Serial)),
        ["RemoveNode"] = new("Remove-DindNode (1 of 2)", lab => Create(lab, 2),
            (lab, _) => lab.RemoveNodeAsync(Cluster, LabNames.Node(Cluster, 2))),
        ["Reset"] = new("Reset-DindCluster (network lab, 2 nodes)", lab => Create(lab, 2),
            (lab, _) => lab.ResetAsync(Cluster, InMemoryLab.Serial), NothingIsOld: true),
        ["SetNat64Prefix"] = new("Set-Nat64Prefix (1 node)", lab => Create(lab, 1), async (lab, docker) =>
        {
            // Another /96 inside the cluster's own /48, which the plan already chose clear of the host's ranges.
            var old = (await InMemoryLab.Lab(docker).GetClustersAsync(Cluster)).Single().Nat64Prefix;
            await lab.SetNat64PrefixAsync(Cluster, old.Replace(":64::/96", ":65::/96", StringComparison.Ordinal));
        }),
        ["Start"] = new("Start-DindCluster after Stop (1 node)", async lab => { await Create(lab, 1); await lab.StopAsync(Cluster); },
            (lab, _) => lab.StartAsync(Cluster, InMemoryLab.Serial.Parallelism)),
        ["Remove"] = new("Remove-DindCluster (1 node)", lab => Create(lab, 1),
            (lab, _) => lab.RemoveAsync(Cluster), OldOrNothing: false),
    };

    private static Task Create(DindLab lab, int nodes) => lab.CreateAsync(InMemoryLab.Spec(Cluster, nodes), new LabOptions { NetworkOnly = true });

    public static TheoryData<string, Fault> Cases()
    {
        var data = new TheoryData<string, Fault>();
        foreach (var operation in Operations.Keys)
            foreach (var fault in Enum.GetValues<Fault>())
                data.Add(operation, fault);
        return data;
    }

    private sealed record Arranged(InMemoryDockerApi Docker, List<string> Nothing, List<string> Before);

    private static async Task<Arranged> ArrangeAsync(Operation operation)
    {
        var docker = InMemoryLab.NewDaemon();
        var nothing = await InMemoryLab.StateAsync(docker, Cluster);
        if (operation.Arrange is not null) await operation.Arrange(InMemoryLab.Lab(docker));
        return new Arranged(docker, nothing, await InMemoryLab.StateAsync(docker, Cluster));
    }

    private static string Describe(DockerCall? call) => call is null ? "not reached" : call.Method switch
    {
        "Exec" => $"Exec {Short(call.Target)} {string.Join(' ', ((IReadOnlyList<string>)call.Arguments[1]!).Take(3))}",
        _ => $"{call.Method} {Short(call.Target)}".TrimEnd(),
    };

    private static string Short(string? id) => id is { Length: 64 } ? id[..12] : id ?? "";

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AFaultAtAnyCallLeavesTheStateBeforeOrAfter(string name, Fault fault)
    {
        var operation = Operations[name];

        var (arranged, nothing, before) = await ArrangeAsync(operation);

        // The clean run: K, and the state after a success.
        using var clean = await InMemoryLab.ForkAsync(arranged, Cluster);
        Assert.Equal(before, await InMemoryLab.StateAsync(clean, Cluster));
        using var counter = new FaultInjectingDockerApi(clean);
        await operation.Act(InMemoryLab.Lab(counter), clean);
        var calls = counter.Calls;
        var k = calls.Count;
        var after = await InMemoryLab.StateAsync(clean, Cluster);
        Assert.True(k > 0, "the clean run made no Docker call");
        var firstStep = operation.StepsFrom is null ? 0 : calls.First(c => c.Method == operation.StepsFrom).Sequence;

        var problems = new List<string>();
        var failed = 0;
        for (var target = 1; target <= k; target++)
        {
            using var docker = await InMemoryLab.ForkAsync(arranged, Cluster);
            using var cancel = new CancellationTokenSource();
            using var faulty = new FaultInjectingDockerApi(docker);
            if (fault == Fault.Fail) faulty.FailCall(target);
            else if (fault == Fault.LoseAnswer) faulty.LoseAnswerOfCall(target);
            else if (fault == Fault.Cancel) faulty.CancelAtCall(target, cancel);
            else faulty.CancelAtCallAndFinishLate(target, cancel);
            var host = new RefusingHost();
            Exception? error = null;
            try { await operation.Act(InMemoryLab.Lab(faulty, cancel.Token, host), docker); }
            catch (Exception e) { error = e; }
            await faulty.FinishLateCallsAsync();
            var now = await InMemoryLab.StateAsync(docker, Cluster);
            await InMemoryLab.ForgetLocksAsync(docker, Cluster);
            var where = $"{operation.Command} {fault} at call {target}/{k} ({Describe(faulty.Calls.ElementAtOrDefault(target - 1))})";
            if (host.Attempts.Count > 0) problems.Add($"{where}: ran host commands: {string.Join("; ", host.Attempts)}");
            if (!Judge(problems, where, operation, fault, error, target >= firstStep, now, (nothing, before, after))) continue;
            failed++;
            if (!operation.OldOrNothing)
            {
                // A removal cannot restore what it removed: a second run must finish the job.
                await InMemoryLab.Lab(docker).RemoveAsync(Cluster);
                var rest = await InMemoryLab.StateAsync(docker, Cluster);
                await InMemoryLab.ForgetLocksAsync(docker, Cluster);
                if (!rest.SequenceEqual(after)) problems.Add($"{where}: failed ({error.Message}); a second removal left: {InMemoryLab.Diff(after, rest)}");
            }
        }
        await InMemoryLab.ForgetLocksAsync(arranged, Cluster);
        await InMemoryLab.ForgetLocksAsync(clean, Cluster);
        var byMethod = string.Join(", ", calls.GroupBy(c => c.Method).Select(g => $"{g.Count()} {g.Key}"));
        var report = $"fault sweep (in memory): {operation.Command}: {fault}: K = {k} calls ({byMethod}), {failed} failed as expected, {k - failed} absorbed, {problems.Count} problem(s)";
        _out.WriteLine(report);
        Assert.True(problems.Count == 0, report + "\n" + string.Join("\n", problems));
    }
    /// <summary>
    /// One case's verdict, added to <paramref name="problems"/>: a success must end as a clean run does; a failure must
    /// be the expected exception, name the step once the steps began (<paramref name="inSteps"/>), and leave the state
    /// before (or nothing, where the operation allows it). Returns whether the operation failed.
    /// </summary>
    private static bool Judge(List<string> problems, string where, Operation operation, Fault fault, Exception? error, bool inSteps,
        List<string> now, (List<string> Nothing, List<string> Before, List<string> After) states)
    {
        if (error is null)
        {
            if (!now.SequenceEqual(states.After)) problems.Add($"{where}: succeeded, but not as a clean run does: {InMemoryLab.Diff(states.After, now)}");
            return false;
        }
        if (fault is Fault.Cancel or Fault.CancelLate ? error is not OperationCanceledException : error is not DindException)
            problems.Add($"{where}: unexpected {error.GetType().Name}: {error.Message}");
        if (fault is not (Fault.Cancel or Fault.CancelLate) && operation.StepsFrom is not null && inSteps && !error.Message.Contains("Step '", StringComparison.Ordinal))
            problems.Add($"{where}: the error does not name the step: {error.Message}");
        if (operation.OldOrNothing && !now.SequenceEqual(states.Before) && !(operation.NothingIsOld && now.SequenceEqual(states.Nothing)))
            problems.Add($"{where}: failed ({error.Message}) and left: {InMemoryLab.Diff(states.Before, now)}");
        return true;
    }

    // -------------------------------------------------------------------------------------- the bring-up's graph

    public static TheoryData<string, Fault> GraphCases()
    {
        var data = new TheoryData<string, Fault>();
        foreach (var operation in new[] { "New", "Reset", "AddNode", "Start" })
            foreach (var fault in Enum.GetValues<Fault>())
                data.Add(operation, fault);
        return data;
    }

    /// <summary>
    /// The graphs with the default parallelism: New-DindCluster and Reset-DindCluster, where DNS64, NAT64 and the nodes
    /// start side by side and each node is routed as soon as it runs; Add-DindNode, where the new nodes start, each is
    /// routed as it runs and the existing nodes are routed beside them; Start-DindCluster, where the nodes start beside
    /// DNS64 and NAT64, DNS64 is waited for and each container is configured as it runs. The calls come in no fixed
    /// order, so a call is named by what it does - method, container (by name), the exec's first words - and how many
    /// such calls came before it, and every call of the clean run gets each fault. The verdicts of the sweep above: a
    /// success ends as a clean run does; a failure leaves the state before - New: nothing; Reset: the old lab, or
    /// nothing; Add-DindNode: the old lab (the new containers removed, the existing nodes' routes as they were);
    /// Start-DindCluster: the stopped lab (each container it started stopped again, which takes what was re-applied).
    /// </summary>
    [Theory]
    [MemberData(nameof(GraphCases))]
    public async Task AFaultAtAnyCallOfTheBringUpsGraphLeavesTheStateBeforeOrNothing(string name, Fault fault)
    {
        var parallel = InMemoryLab.Serial with { Parallelism = LabOptions.DefaultParallelism };
        var operation = name switch
        {
            "New" => new Operation("New-DindCluster (network lab, 2 nodes, steps side by side)", null,
                (lab, _) => lab.CreateAsync(InMemoryLab.Spec(Cluster, 2), parallel), StepsFrom: "CreateNetwork"),
            "Reset" => new Operation("Reset-DindCluster (network lab, 2 nodes, steps side by side)", lab => Create(lab, 2),
                (lab, _) => lab.ResetAsync(Cluster, parallel), NothingIsOld: true),
            "AddNode" => new Operation("Add-DindNode (2 to a 2-node lab, steps side by side)", lab => Create(lab, 2),
                (lab, _) => lab.AddNodesAsync(Cluster, 2, parallel)),
            "Start" => new Operation("Start-DindCluster after Stop (2 nodes, steps side by side)", async lab => { await Create(lab, 2); await lab.StopAsync(Cluster); },
                (lab, _) => lab.StartAsync(Cluster, parallel.Parallelism)),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not an operation of the graph sweep"),
        };
        var (arranged, nothing, before) = await ArrangeAsync(operation);

        using var clean = await InMemoryLab.ForkAsync(arranged, Cluster);
        using var counter = new FaultInjectingDockerApi(clean) { Latency = Latency };
        var names = new Namer(clean);
        var signatures = new System.Collections.Concurrent.ConcurrentDictionary<int, string>();
        counter.BeforeCall(_ => true, call => signatures[call.Sequence] = names.Signature(call), once: false);   // named as it starts: a removed container has no name after
        await operation.Act(InMemoryLab.Lab(counter), clean);
        var after = await InMemoryLab.StateAsync(clean, Cluster);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var cases = counter.Calls.Select(c => signatures[c.Sequence]).Select(sig => (Signature: sig, Occurrence: counts[sig] = counts.GetValueOrDefault(sig) + 1)).ToList();
        var networkCreated = cases.FindIndex(c => c.Signature.StartsWith("CreateNetwork", StringComparison.Ordinal));

        var problems = new List<string>();
        var failed = 0;
        for (var i = 0; i < cases.Count; i++)
        {
            var (signature, occurrence) = cases[i];
            using var docker = await InMemoryLab.ForkAsync(arranged, Cluster);
            using var cancel = new CancellationTokenSource();
            using var faulty = new FaultInjectingDockerApi(docker) { Latency = Latency };
            var namer = new Namer(docker);
            var seen = 0;
            bool Which(DockerCall call) => namer.Signature(call) == signature && ++seen == occurrence;
            if (fault == Fault.Fail) faulty.FailCall(Which);
            else if (fault == Fault.LoseAnswer) faulty.LoseAnswerOfCall(Which);
            else faulty.CancelAtCall(Which, cancel, finishLate: fault == Fault.CancelLate);
            Exception? error = null;
            try { await operation.Act(InMemoryLab.Lab(faulty, cancel.Token, new RefusingHost()), docker); }
            catch (Exception e) { error = e; }
            await faulty.FinishLateCallsAsync();
            var now = await InMemoryLab.StateAsync(docker, Cluster);
            await InMemoryLab.ForgetLocksAsync(docker, Cluster);
            var where = $"{operation.Command} {fault} at '{signature}' #{occurrence} (case {i + 1}/{cases.Count})";
            if (seen < occurrence)
            {
                problems.Add($"{where}: the call never came (the runs differ in what they call)");
                continue;
            }
            if (Judge(problems, where, operation, fault, error, i >= networkCreated, now, (nothing, before, after))) failed++;
        }
        await InMemoryLab.ForgetLocksAsync(arranged, Cluster);
        await InMemoryLab.ForgetLocksAsync(clean, Cluster);
        var report = $"fault sweep (in memory, steps side by side): {operation.Command}: {fault}: {cases.Count} calls, {failed} failed as expected, {cases.Count - failed} absorbed, {problems.Count} problem(s)";
        _out.WriteLine(report);
        Assert.True(problems.Count == 0, report + "\n" + string.Join("\n", problems));
    }

    // Every call takes a few milliseconds, so that the steps beside each other really overlap (and a fault meets a
    // sibling half-way).
    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(3);

    /// <summary>Names a call by what it does, the same in every run: container IDs (random) become container names (asked as the call starts).</summary>
    private sealed class Namer(InMemoryDockerApi docker)
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);

        public string Signature(DockerCall call)
        {
            var target = call.Target is { Length: 64 } id ? _names.GetOrAdd(id, key => docker.InspectContainerAsync(key, default).GetAwaiter().GetResult()?.Name ?? "(gone)") : call.Target ?? "";
            return call.Method == "Exec"
                ? $"Exec {target} {string.Join(' ', ((IReadOnlyList<string>)call.Arguments[1]!).Take(3))}"
                : $"{call.Method} {target}".TrimEnd();
        }
    }
}
