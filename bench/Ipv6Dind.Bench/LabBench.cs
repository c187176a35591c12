using Ipv6Dind.TestSupport;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Images;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Bench;

public sealed record LabBenchOptions(IReadOnlyList<int> NodeCounts, int Runs, bool CheckGuard);

/// <summary>
/// Bring-up, reset and teardown of the network lab next to the floor: the same containers (1 DNS64, 1 NAT64, n nodes;
/// same images, specs, network) created and started bare, 8 at a time, the nodes removed and made again bare (what a
/// reset recreates), and everything removed in parallel, through the same IDockerApi in the same run. Medians of
/// interleaved runs; the figures are printed, never asserted.
/// </summary>
public static class LabBench
{
    private const string Upstream = "198.51.100.53"; // need not answer: DNS64 readiness asks named for version.bind
    /// <summary>The floor's ranges: a ULA of its own (never fd00::/64, the host's); its network is the first free fd00:b3c4:0:k::/64.</summary>
    private const string FloorSubnet = "fd00:b3c4::/48";

    /// <summary>The bench's cluster names: bench-N (lab) and bench-floor-N (floor), with a suffix "-k" when dockerd kept the objects of a name.</summary>
    private static readonly System.Text.RegularExpressions.Regex BenchName = new(@"^bench-(floor-)?[0-9]+(-[0-9]+)?$");

    private sealed class Names
    {
        private readonly HashSet<string> _stuck = new(StringComparer.Ordinal);
        public string Lab(int n) => Pick($"bench-{n}");
        public string Floor(int n) => Pick($"bench-floor-{n}");
        /// <summary>dockerd would not remove this name's objects (moby#42119: a stale endpoint count): use the next name.</summary>
        public void Stuck(string name) { lock (_stuck) _stuck.Add(name); }
        public IReadOnlyCollection<string> StuckNames { get { lock (_stuck) return _stuck.ToList(); } }

        private string Pick(string baseName)
        {
            lock (_stuck)
                for (var k = 1; ; k++)
                {
                    var name = k == 1 ? baseName : $"{baseName}-{k}";
                    if (!_stuck.Contains(name)) return name;
                }
        }
    }

    public static async Task<int> RunAsync(LabBenchOptions options)
    {
        using var cts = new CancellationTokenSource();
        void Stop(string why)
        {
            if (cts.IsCancellationRequested) return;
            Console.Error.WriteLine($"bench: {why}; stopping and removing what the bench created");
            cts.Cancel();
        }
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; Stop("Ctrl-C"); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Stop("SIGTERM"); });
        var ct = cts.Token;

        if (options.CheckGuard && EgressGuardProblem() is { } problem)
        {
            Console.Error.WriteLine($"bench: {problem}\n  Run the lab benchmark through bench/run (it installs the guard and removes it after), or pass --no-guard-check on a host without an uplink to protect.");
            Console.CancelKeyPress -= onCancel;
            return 2;
        }

        var timing = new TimingDockerApi(DockerApi.Connect());
        using var docker = new CountingDockerApi(timing, ownsInner: true);
        // Every bench-… cluster (this run's or a stopped run's) is removed, by label, before the first run and in finally.
        var names = new Names();
        try
        {
            var daemon = await docker.GetDaemonInfoAsync(ct).ConfigureAwait(false);
            Console.WriteLine();
            Console.WriteLine($"Lab bring-up/reset/teardown next to the floor (Docker {daemon.Version}, API {daemon.ApiVersion}, cgroup {daemon.CgroupVersion}, {Environment.ProcessorCount} CPUs, {DateTime.Now:yyyy-MM-dd HH:mm})");
            await EnsureImagesAsync(docker, ct).ConfigureAwait(false);
            await CleanupAsync(docker, names, ct).ConfigureAwait(false);

            // Warm-up, discarded: the first bring-up after dockerd starts is slower, and the bench's own code JITs.
            Console.WriteLine("  warm-up (N = 1, discarded) ...");
            var warmName = names.Lab(1);
            await LabUpAsync(docker, timing, warmName, 1, ct).ConfigureAwait(false);
            await LabResetAsync(docker, timing, warmName, ct).ConfigureAwait(false);
            await LabDownAsync(docker, timing, names, warmName, ct).ConfigureAwait(false);
            var warmFloor = await FloorUpAsync(docker, timing, names.Floor(1), 1, ct).ConfigureAwait(false);
            var warmReset = await FloorResetAsync(docker, timing, warmFloor.Handle!, ct).ConfigureAwait(false);
            await FloorDownAsync(docker, timing, names, warmReset.Handle!, ct).ConfigureAwait(false);

            var results = new List<SizeResult>();
            foreach (var n in options.NodeCounts)
            {
                var result = new SizeResult(n) { LoadBefore = LoadAverage() };
                for (var run = 0; run < options.Runs; run++)
                {
                    // Interleaved, alternating which goes first, so a drift of the machine hits both sides alike.
                    if (run % 2 == 0)
                    {
                        await LabPairAsync(docker, timing, names, n, result, ct).ConfigureAwait(false);
                        await FloorPairAsync(docker, timing, names, n, result, ct).ConfigureAwait(false);
                    }
                    else
                    {
                        await FloorPairAsync(docker, timing, names, n, result, ct).ConfigureAwait(false);
                        await LabPairAsync(docker, timing, names, n, result, ct).ConfigureAwait(false);
                    }
                    Console.WriteLine($"  N = {n,2} run {run + 1}/{options.Runs}: lab up {S(result.LabUp[^1].Ms)} reset {S(result.LabReset[^1].Ms)} down {S(result.LabDown[^1].Ms)} | floor up {S(result.FloorUp[^1].Ms)} reset {S(result.FloorReset[^1].Ms)} down {S(result.FloorDown[^1].Ms)}");
                }
                result.LoadAfter = LoadAverage();
                results.Add(result);
                PrintDetail(result);
            }
            PrintSummary(results, options.Runs);
            if (names.StuckNames.Count > 0)
                Console.WriteLine($"\n  dockerd kept the network of {string.Join(", ", names.StuckNames)} after all its containers were removed (\"has active endpoints\": a stale endpoint count, moby#42119); only a dockerd restart clears it.");
            return 0;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine("bench: stopped");
            return 130;
        }
        finally
        {
            // Fresh token: the cleanup must run even (especially) after Ctrl-C.
            using var cleanup = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            try { await CleanupAsync(docker, names, cleanup.Token).ConfigureAwait(false); }
            catch (Exception ex) { Console.Error.WriteLine($"bench: cleanup failed: {ex.Message}; left over: docker ps -a --filter label={LabLabels.Cluster}"); }
            Console.CancelKeyPress -= onCancel;
        }
    }

    // ------------------------------------------------------------------ one measurement each

    private sealed record Sample(
        double Ms,
        int ApiCalls,
        int Execs,
        IReadOnlyDictionary<string, int> Calls,
        IReadOnlyDictionary<string, TimingDockerApi.Entry> Timings,
        IReadOnlyList<TimingDockerApi.Call> Timeline,
        IReadOnlyList<StepSpan> Steps,
        MemoryFigures? Memory,
        FloorHandle? Handle = null,
        string? Failure = null);

    private sealed record MemoryFigures(double NodeAverageBytes, double? Dns64Bytes, double? Nat64Bytes, int NodesRead);

    /// <summary>One step of a bring-up or reset: when it ran, how long until its last container had started, how many execs started in it.</summary>
    private sealed record StepSpan(string Step, double StartMs, double EndMs, double? ContainersUpMs, int Execs)
    {
        public double Ms => EndMs - StartMs;
    }

    /// <summary>A step's start or end as the runner wrote it, on the timings' clock (StepLog).</summary>
    private readonly record struct StepEvent(string Step, bool Done, double AtMs);

    /// <summary>The floor's objects: DNS64 and NAT64 (kept by a reset) and the nodes with the spec each was made from (made again by it).</summary>
    private sealed record FloorHandle(string Name, string NetworkId, IReadOnlyList<string> ServiceIds, IReadOnlyList<FloorNode> Nodes)
    {
        public IEnumerable<string> ContainerIds => ServiceIds.Concat(Nodes.Select(node => node.Id));
    }

    private sealed record FloorNode(ContainerSpec Spec, string Id);

    private sealed class SizeResult(int nodes)
    {
        public int Nodes { get; } = nodes;
        public List<Sample> LabUp { get; } = new();
        public List<Sample> LabReset { get; } = new();
        public List<Sample> LabDown { get; } = new();
        public List<Sample> FloorUp { get; } = new();
        public List<Sample> FloorReset { get; } = new();
        public List<Sample> FloorDown { get; } = new();
        public string LoadBefore { get; init; } = "";
        public string LoadAfter { get; set; } = "";
    }

    /// <summary>The 1-minute load average: other work on the machine shows in every figure.</summary>
    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }

    private static async Task LabPairAsync(CountingDockerApi docker, TimingDockerApi timing, Names names, int n, SizeResult result, CancellationToken ct)
    {
        var name = names.Lab(n);
        result.LabUp.Add(await LabUpAsync(docker, timing, name, n, ct).ConfigureAwait(false));
        result.LabReset.Add(await LabResetAsync(docker, timing, name, ct).ConfigureAwait(false));
        result.LabDown.Add(await LabDownAsync(docker, timing, names, name, ct).ConfigureAwait(false));
    }

    private static async Task FloorPairAsync(CountingDockerApi docker, TimingDockerApi timing, Names names, int n, SizeResult result, CancellationToken ct)
    {
        var up = await FloorUpAsync(docker, timing, names.Floor(n), n, ct).ConfigureAwait(false);
        result.FloorUp.Add(up);
        // The reset made the nodes again: its handle carries their new ids, which the teardown removes.
        var reset = await FloorResetAsync(docker, timing, up.Handle!, ct).ConfigureAwait(false);
        result.FloorReset.Add(reset);
        result.FloorDown.Add(await FloorDownAsync(docker, timing, names, reset.Handle!, ct).ConfigureAwait(false));
    }

    private static async Task<Sample> LabUpAsync(CountingDockerApi docker, TimingDockerApi timing, string name, int n, CancellationToken ct)
    {
        // The runner's verbose lines, on the timings' clock, give each step's window (StepLog).
        var log = new StepLog(timing);
        var lab = new DindLab(docker, new OperationContext(ct, new Progress<DindProgress>(), log));
        var spec = new DindClusterSpec { ClusterName = name, Nodes = n, Dns64Upstream = new[] { Upstream } };
        docker.Reset();
        timing.Reset();
        await lab.CreateAsync(spec, new LabOptions()).ConfigureAwait(false);
        var sample = Measured(docker, timing, log);
        // After the clock stopped and the counts were taken: memory of what runs.
        var containers = await docker.ListContainersAsync(LabLabels.ClusterFilter(name), ct).ConfigureAwait(false);
        return sample with { Memory = ReadMemory(containers.Select(c => (c.Id, c.Labels.GetValueOrDefault(LabLabels.Role, "")))) };
    }

    /// <summary>
    /// Reset-DindCluster on the lab that is up (src/Ipv6Dind.Core/Lab/DindLab.Reset.cs: the nodes removed and made
    /// again, network, DNS64 and NAT64 kept), with the same seams as the bring-up.
    /// </summary>
    private static async Task<Sample> LabResetAsync(CountingDockerApi docker, TimingDockerApi timing, string name, CancellationToken ct)
    {
        var log = new StepLog(timing);
        var lab = new DindLab(docker, new OperationContext(ct, new Progress<DindProgress>(), log));
        docker.Reset();
        timing.Reset();
        await lab.ResetAsync(name, new LabOptions()).ConfigureAwait(false);
        return Measured(docker, timing, log);
    }

    /// <summary>The clock first, then the counts, then the step windows from the log's lines.</summary>
    private static Sample Measured(CountingDockerApi docker, TimingDockerApi timing, StepLog log)
    {
        var ms = timing.Now;
        var sample = Snapshot(docker, timing, ms, Array.Empty<StepSpan>());
        return sample with { Steps = Steps(log.Events, ms, sample.Timeline) };
    }

    private static async Task<Sample> LabDownAsync(CountingDockerApi docker, TimingDockerApi timing, Names names, string name, CancellationToken ct)
    {
        var lab = new DindLab(docker, new OperationContext(ct, new Progress<DindProgress>(), ConsoleLog.Instance));
        docker.Reset();
        timing.Reset();
        string? failure = null;
        try { await lab.RemoveAsync(name).ConfigureAwait(false); }
        catch (DindException ex) { failure = Failed(names, name, ex); }
        return Snapshot(docker, timing, timing.Now, Array.Empty<StepSpan>()) with { Failure = failure };
    }

    private static string Failed(Names names, string name, DindException ex)
    {
        names.Stuck(name);
        Console.Error.WriteLine($"  WARNING: teardown of '{name}' failed: {ex.Message}");
        return ex.Message;
    }

    /// <summary>
    /// The floor: the lab's own network and container specs (LabContainers), created and started 8 at a time. Bare:
    /// no execs, no waits, no listing. DNS64 and NAT64 do get their config file (one archive call each, in parallel
    /// with the rest): with the images' defaults named would prime from the public root servers through the uplink
    /// and tayga would use its built-in private IPv4 pool, both outside the ranges a lab may use.
    /// </summary>
    private static async Task<Sample> FloorUpAsync(CountingDockerApi docker, TimingDockerApi timing, string name, int n, CancellationToken ct)
    {
        // Planned before the clock starts, through the same planner and environment as the lab.
        var planner = new DindLab(docker, new OperationContext(ct, new Progress<DindProgress>(), ConsoleLog.Instance));
        var environment = await planner.GatherEnvironmentAsync(excludeCluster: null).ConfigureAwait(false);
        var taken = environment.Reserved.Select(r => Ipv6Prefix.TryParse(r.Prefix, out _)).Where(p => p is not null).ToList();
        var management = Enumerable.Range(0, 16).Select(k => Ipv6Prefix.TryParse($"fd00:b3c4:0:{k:x}::/64", out _)!)
            .FirstOrDefault(candidate => !taken.Any(t => t!.Overlaps(candidate)))
            ?? throw new InvalidOperationException("no free fd00:b3c4:0:k::/64 for the floor's network (k = 0..f are all taken)");
        var spec = SpecBuilder.Resolve(new DindClusterSpec
        {
            ClusterName = name,
            Nodes = n,
            Subnet = FloorSubnet,
            ManagementPrefix = management.ToString(),
            Dns64Upstream = new[] { Upstream },
        }, environment);
        var plan = AddressPlanner.PlanValidated(spec, environment);
        var networkLabels = LabLabels.For(spec.ClusterName, LabLabels.RoleNetwork);
        networkLabels[LabLabels.NetworkOnly] = "true";
        var network = new NetworkSpec(LabNames.Network(spec.ClusterName), plan.ManagementPrefix, plan.ManagementGateway, networkLabels);
        var containers = new List<(ContainerSpec Spec, (string Path, string Content)[] Files)>
        {
            (LabContainers.Dns64(spec, plan, ImageBuilder.ReferenceFor("dns64"), SpecYaml.Serialize(spec)), new[] { (LabContainers.Dns64Config, LabContainers.Bind9(plan).Content) }),
            (LabContainers.Nat64(spec, plan, ImageBuilder.ReferenceFor("nat64")), new[] { (LabContainers.Nat64Config, LabContainers.Tayga(plan).Content) }),
        };
        containers.AddRange(plan.NodeAddresses.Select(node => (LabContainers.Node(spec, node, ImageBuilder.ReferenceFor("node")), Array.Empty<(string, string)>())));

        docker.Reset();
        timing.Reset();
        var networkId = await docker.CreateNetworkAsync(network, ct).ConfigureAwait(false);
        // In parallel, bounded like the lab's own node steps (LabOptions.Parallelism, 8): unbounded, 50 starts at once
        // on 2 CPUs took dockerd past its 60 s call timeout, and a floor that fails measures nothing.
        var ids = new string[containers.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, containers.Count), new ParallelOptions { MaxDegreeOfParallelism = new LabOptions().Parallelism, CancellationToken = ct },
            async (i, _) =>
            {
                var c = containers[i];
                var id = await docker.CreateContainerAsync(c.Spec, ct).ConfigureAwait(false);
                foreach (var (path, content) in c.Files)
                    await docker.PutFileAsync(id, path, content, 420, ct).ConfigureAwait(false);
                await docker.StartContainerAsync(id, ct).ConfigureAwait(false);
                ids[i] = id;
            }).ConfigureAwait(false);
        var sample = Snapshot(docker, timing, timing.Now, Array.Empty<StepSpan>());
        var roles = ids.Select((id, i) => (id, containers[i].Spec.Labels.GetValueOrDefault(LabLabels.Role, "")));
        // containers[0..1] are DNS64 and NAT64, the rest the nodes (in plan order).
        var handle = new FloorHandle(name, networkId, ids.Take(2).ToList(), ids.Skip(2).Select((id, i) => new FloorNode(containers[i + 2].Spec, id)).ToList());
        return sample with { Memory = ReadMemory(roles), Handle = handle };
    }

    /// <summary>
    /// The reset floor: what Reset-DindCluster makes again (src/Ipv6Dind.Core/Lab/DindLab.Reset.cs: the nodes; the
    /// network, DNS64 and NAT64 stay), bare: the n node containers removed 8 at a time, then the same node specs
    /// created and started 8 at a time - the lab's order (remove-nodes, then nodes). The handle returned carries the
    /// new ids, so the floor's teardown removes these; a failure leaves them to the cleanup by label in RunAsync's finally.
    /// </summary>
    private static async Task<Sample> FloorResetAsync(CountingDockerApi docker, TimingDockerApi timing, FloorHandle floor, CancellationToken ct)
    {
        var bounded = new ParallelOptions { MaxDegreeOfParallelism = new LabOptions().Parallelism, CancellationToken = ct };
        docker.Reset();
        timing.Reset();
        await Parallel.ForEachAsync(floor.Nodes, bounded, async (node, _) => await docker.RemoveContainerAsync(node.Id, ct).ConfigureAwait(false)).ConfigureAwait(false);
        var ids = new string[floor.Nodes.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, floor.Nodes.Count), bounded, async (i, _) =>
            {
                var id = await docker.CreateContainerAsync(floor.Nodes[i].Spec, ct).ConfigureAwait(false);
                await docker.StartContainerAsync(id, ct).ConfigureAwait(false);
                ids[i] = id;
            }).ConfigureAwait(false);
        var sample = Snapshot(docker, timing, timing.Now, Array.Empty<StepSpan>());
        return sample with { Handle = floor with { Nodes = floor.Nodes.Select((node, i) => node with { Id = ids[i] }).ToList() } };
    }

    private static async Task<Sample> FloorDownAsync(CountingDockerApi docker, TimingDockerApi timing, Names names, FloorHandle floor, CancellationToken ct)
    {
        docker.Reset();
        timing.Reset();
        string? failure = null;
        try
        {
            await Task.WhenAll(floor.ContainerIds.Select(id => docker.RemoveContainerAsync(id, ct))).ConfigureAwait(false);
            await docker.RemoveNetworkAsync(floor.NetworkId, ct).ConfigureAwait(false);
        }
        catch (DindException ex) { failure = Failed(names, floor.Name, ex); }
        return Snapshot(docker, timing, timing.Now, Array.Empty<StepSpan>()) with { Failure = failure };
    }

    private static Sample Snapshot(CountingDockerApi docker, TimingDockerApi timing, double ms, IReadOnlyList<StepSpan> steps) =>
        new(ms, docker.ApiCalls, docker.Execs, docker.Calls, timing.Entries, timing.Timeline, steps, null);

    /// <summary>The listing after the last step (GetClustersAsync), a window of its own; never on the critical path.</summary>
    private const string Result = "result";
    /// <summary>Time before the first step that no step covers (Reset-DindCluster's lock, listing and image checks, which it does not mark as a step).</summary>
    private const string BeforeSteps = "(preflight)";
    /// <summary>How far apart two instants may be and still count as one: a step starts a little after the one it waits for ends (a thread hop).</summary>
    private const double StepToleranceMs = 5;

    /// <summary>
    /// Step windows from the runner's lines (StepLog): each step from its start to its end. A step with an end and no
    /// start (the preflight, which StepRunner.MarkDoneAsync only marks done) ran from the operation's start; time before
    /// the first step that no step covers is <see cref="BeforeSteps"/>; <see cref="Result"/> runs from the last end to
    /// the end. The bring-up and the reset are dependency graphs (src/Ipv6Dind.Core/Lab/DindLab.cs, NodeSteps), so
    /// windows overlap: a call counts in every window it started in (dns64's window also holds the nodes' starts and
    /// execs), so "containers up after" and the execs of steps side by side share calls and do not add up to the totals.
    /// </summary>
    private static IReadOnlyList<StepSpan> Steps(IReadOnlyList<StepEvent> events, double totalMs, IReadOnlyList<TimingDockerApi.Call> timeline)
    {
        var starts = new Dictionary<string, double>(StringComparer.Ordinal);
        var ends = new Dictionary<string, double>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var e in events)
        {
            if (!starts.ContainsKey(e.Step) && !ends.ContainsKey(e.Step)) order.Add(e.Step);
            (e.Done ? ends : starts).TryAdd(e.Step, e.AtMs);
        }
        // A step that never ended (the operation failed) is open until the end.
        var windows = order.Select(step => (Step: step, Start: starts.GetValueOrDefault(step, 0), End: ends.TryGetValue(step, out var end) ? end : totalMs)).ToList();
        if (windows.Count > 0 && windows.Min(w => w.Start) > StepToleranceMs)
            windows.Insert(0, (BeforeSteps, 0, windows.Min(w => w.Start)));
        windows.Add((Result, windows.Count == 0 ? 0 : windows.Max(w => w.End), totalMs));
        return windows.Select(w => Span(w.Step, w.Start, w.End, timeline)).ToList();
    }

    private static StepSpan Span(string step, double start, double end, IReadOnlyList<TimingDockerApi.Call> timeline)
    {
        var inside = timeline.Where(c => c.StartMs >= start && c.StartMs < end).ToList();
        var starts = inside.Where(c => c.Key == "StartContainer").ToList();
        return new StepSpan(step, start, end, starts.Count == 0 ? null : starts.Max(c => c.EndMs) - start, inside.Count(IsExec));
    }

    private static bool IsExec(TimingDockerApi.Call call) => call.Key.StartsWith("Exec ", StringComparison.Ordinal);

    /// <summary>
    /// The chain of steps that held the finish, first to last: from the step that ended last, back to the step that
    /// ended latest at or before (within <see cref="StepToleranceMs"/>) the current one's start, until none is left.
    /// A step that started with the current one (within the tolerance) is not taken: steps after the same dependency
    /// start together, and a short one beside it (host-rules without AAAA mode, about 0 ms) would otherwise be named
    /// as what it waited for; this also makes every move go back in time, so the walk ends. The path names what ran
    /// last, not the true dependency: routes starts with nodes (both after network) and waits inside for each node,
    /// so the path reads "network -> routes", with nodes beside routes.
    /// </summary>
    private static IReadOnlyList<StepSpan> CriticalPath(IReadOnlyList<StepSpan> steps)
    {
        var candidates = steps.Where(x => x.Step != Result).ToList();
        var path = new List<StepSpan>();
        for (var current = candidates.MaxBy(x => x.EndMs); current is not null;)
        {
            path.Add(current);
            var at = current;
            current = candidates.Where(x => x.EndMs <= at.StartMs + StepToleranceMs && x.StartMs < at.StartMs - StepToleranceMs).MaxBy(x => x.EndMs);
        }
        path.Reverse();
        return path;
    }

    /// <summary>Execs that started inside a window of the critical path (each once), per node: the median of the runs, each on its own path.</summary>
    private static double PathExecsPerNode(List<Sample> samples, int n) =>
        Med(samples.Select(s =>
        {
            var path = CriticalPath(s.Steps);
            return (double)s.Timeline.Count(c => IsExec(c) && path.Any(p => c.StartMs >= p.StartMs && c.StartMs < p.EndMs));
        }).ToList()) / n;

    // ------------------------------------------------------------------ preparation and cleanup

    private static async Task EnsureImagesAsync(IDockerApi docker, CancellationToken ct)
    {
        var roles = new[] { "dns64", "nat64", "node" };
        var missing = new List<string>();
        foreach (var role in roles)
            if (await docker.InspectImageAsync(ImageBuilder.ReferenceFor(role), ct).ConfigureAwait(false) is null)
                missing.Add(role);
        if (missing.Count == 0) return;
        Console.WriteLine($"  building the lab images ({string.Join(", ", missing)}); the first build takes about two minutes ...");
        await new ImageBuilder(docker, new OperationContext(ct, new Progress<DindProgress>(), ConsoleLog.Instance))
            .EnsureImagesAsync(roles, false).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes every object labelled with a bench cluster name (lab and floor alike, this run's or a stopped run's);
    /// none is fine. A name whose objects dockerd will not remove is reported and not used again in this run.
    /// </summary>
    private static async Task CleanupAsync(IDockerApi docker, Names names, CancellationToken ct)
    {
        var lab = new DindLab(docker, new OperationContext(ct, new Progress<DindProgress>(), ConsoleLog.Instance));
        var present = (await docker.ListContainersAsync(LabLabels.AnyCluster(), ct).ConfigureAwait(false)).Select(c => c.Labels[LabLabels.Cluster])
            .Concat((await docker.ListNetworksAsync(LabLabels.AnyCluster(), ct).ConfigureAwait(false)).Select(n => n.Labels[LabLabels.Cluster]))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var name in present.Where(x => BenchName.IsMatch(x)).OrderBy(x => x, StringComparer.Ordinal))
        {
            try
            {
                var removed = await lab.RemoveAsync(name).ConfigureAwait(false);
                Console.WriteLine($"  removed {removed} object(s) of '{name}'");
            }
            catch (DindException ex)
            {
                names.Stuck(name);
                Console.Error.WriteLine($"  WARNING: could not remove what is left of '{name}': {ex.Message}");
            }
        }
    }

    /// <summary>Null when an egress guard (a DROP of forwarded traffic to the uplink, iptables and ip6tables) is in place.</summary>
    private static string? EgressGuardProblem()
    {
        var uplink = Environment.GetEnvironmentVariable("IPV6DIND_UPLINK") is { Length: > 0 } u ? u : "eth0";
        if (!Directory.Exists($"/sys/class/net/{uplink}")) return null; // no uplink to protect
        foreach (var tool in new[] { "iptables", "ip6tables" })
        {
            string rules;
            try
            {
                var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in new[] { "-t", "mangle", "-S", "FORWARD" }) psi.ArgumentList.Add(a);
                using var p = Process.Start(psi)!;
                rules = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return $"{tool} is not installed, so no egress guard can be checked.";
            }
            var guarded = rules.Split('\n').Any(line => line.Contains($"-o {uplink} ", StringComparison.Ordinal) && line.TrimEnd().EndsWith("-j DROP", StringComparison.Ordinal));
            if (!guarded) return $"no egress guard: `{tool} -t mangle -S FORWARD` has no DROP of traffic forwarded to {uplink} (the lab's default routes lead to the uplink).";
        }
        return null;
    }

    // ------------------------------------------------------------------ memory (cgroup of each container, as docker stats counts it)

    private static MemoryFigures? ReadMemory(IEnumerable<(string Id, string Role)> containers)
    {
        var nodes = new List<double>();
        double? dns64 = null, nat64 = null;
        foreach (var (id, role) in containers)
        {
            var bytes = ContainerMemory(id);
            if (bytes is null) continue;
            if (role == LabLabels.RoleNode) nodes.Add(bytes.Value);
            else if (role == LabLabels.RoleDns64) dns64 = bytes;
            else if (role == LabLabels.RoleNat64) nat64 = bytes;
        }
        return nodes.Count == 0 && dns64 is null ? null : new MemoryFigures(nodes.Count == 0 ? double.NaN : nodes.Average(), dns64, nat64, nodes.Count);
    }

    /// <summary>Usage without inactive page cache (what docker stats shows); cgroup v1 first (this machine), then v2.</summary>
    private static double? ContainerMemory(string id)
    {
        foreach (var (dir, usageFile, inactiveKey) in new[]
        {
            ($"/sys/fs/cgroup/memory/docker/{id}", "memory.usage_in_bytes", "total_inactive_file"),
            ($"/sys/fs/cgroup/memory/system.slice/docker-{id}.scope", "memory.usage_in_bytes", "total_inactive_file"),
            ($"/sys/fs/cgroup/system.slice/docker-{id}.scope", "memory.current", "inactive_file"),
            ($"/sys/fs/cgroup/docker/{id}", "memory.current", "inactive_file"),
        })
        {
            var usagePath = Path.Combine(dir, usageFile);
            if (!File.Exists(usagePath)) continue;
            try
            {
                var usage = double.Parse(File.ReadAllText(usagePath).Trim(), CultureInfo.InvariantCulture);
                var inactive = File.ReadLines(Path.Combine(dir, "memory.stat"))
                    .Select(l => l.Split(' '))
                    .Where(f => f.Length == 2 && f[0] == inactiveKey)
                    .Select(f => double.Parse(f[1], CultureInfo.InvariantCulture))
                    .FirstOrDefault();
                return inactive < usage ? usage - inactive : usage;
            }
            catch (IOException) { return null; }
        }
        return null;
    }

    // ------------------------------------------------------------------ output

    private static void PrintDetail(SizeResult r)
    {
        var n = r.Nodes;
        double up = Med(r.LabUp), fup = Med(r.FloorUp), reset = Med(r.LabReset), freset = Med(r.FloorReset), down = Med(r.LabDown), fdown = Med(r.FloorDown);
        Console.WriteLine($"  N = {n}: medians of {r.LabUp.Count} (1-minute load average {r.LoadBefore} before, {r.LoadAfter} after, on {Environment.ProcessorCount} CPUs)");
        Console.WriteLine($"    bring-up  lab {S(up)}  floor {S(fup)}  ratio {up / fup:F2}x{Goal(up / fup, UpGoal(n))}");
        Console.WriteLine($"    reset     lab {S(reset)}  floor {S(freset)}  ratio {reset / freset:F2}x{Goal(reset / freset, ResetGoal(n))}");
        Console.WriteLine($"    teardown  lab {S(down)}  floor {S(fdown)}  ratio {down / fdown:F2}x{Goal(down / fdown, DownGoal(n))}");
        var failed = r.LabDown.Count(x => x.Failure is not null) + r.FloorDown.Count(x => x.Failure is not null);
        if (failed > 0)
            Console.WriteLine($"    {r.LabDown.Count(x => x.Failure is not null)} lab and {r.FloorDown.Count(x => x.Failure is not null)} floor teardown(s) failed (their time counts up to the failure): {r.LabDown.Concat(r.FloorDown).First(x => x.Failure is not null).Failure}");
        var calls = MedInt(r.LabUp, s => s.ApiCalls);
        var execs = MedInt(r.LabUp, s => s.Execs);
        Console.WriteLine($"    lab bring-up: {calls} Docker API calls + {execs} execs ({(double)calls / n:F1} calls and {(double)execs / n:F1} execs per node); floor: {MedInt(r.FloorUp, s => s.ApiCalls)} calls, {MedInt(r.FloorUp, s => s.Execs)} execs");
        Console.WriteLine($"      calls: {CallList(r.LabUp)}");
        Console.WriteLine($"      execs by command (count, summed time): {ExecList(r.LabUp)}");
        PrintSteps(r.LabUp, n);
        Console.WriteLine($"      mean time per call: lab {MeanCalls(r.LabUp)}; floor {MeanCalls(r.FloorUp)}");
        Console.WriteLine($"      floor: last container started at {S(Med(r.FloorUp.Select(s => s.Timeline.Where(c => c.Key == "StartContainer").Select(c => c.EndMs).DefaultIfEmpty(0).Max()).ToList()))}");
        var resetCalls = MedInt(r.LabReset, s => s.ApiCalls);
        var resetExecs = MedInt(r.LabReset, s => s.Execs);
        Console.WriteLine($"    lab reset: {resetCalls} Docker API calls + {resetExecs} execs ({(double)resetCalls / n:F1} calls and {(double)resetExecs / n:F1} execs per node); floor: {MedInt(r.FloorReset, s => s.ApiCalls)} calls, {MedInt(r.FloorReset, s => s.Execs)} execs");
        Console.WriteLine($"      calls: {CallList(r.LabReset)}");
        Console.WriteLine($"      execs by command (count, summed time): {ExecList(r.LabReset)}");
        PrintSteps(r.LabReset, n);
        Console.WriteLine($"      floor reset spans: {SpanList(r.FloorReset)}");
        Console.WriteLine($"    lab teardown: {MedInt(r.LabDown, s => s.ApiCalls)} calls ({CallList(r.LabDown)}); spans: {SpanList(r.LabDown)}");
        Console.WriteLine($"    floor teardown: {MedInt(r.FloorDown, s => s.ApiCalls)} calls; spans: {SpanList(r.FloorDown)}");
        Console.WriteLine($"    memory after bring-up: {MemoryText(r.LabUp)} (floor: {MemoryText(r.FloorUp)})");
    }

    /// <summary>The step windows of a bring-up or reset, its critical path and the execs per node on that path.</summary>
    private static void PrintSteps(List<Sample> samples, int n)
    {
        Console.WriteLine($"      steps (start-end, duration): {string.Join(" | ", StepList(samples))}");
        Console.WriteLine($"      critical path: {PathText(samples)}");
        Console.WriteLine($"      execs per node on the critical path: {PathExecsPerNode(samples, n):F1} (all execs: {(double)MedInt(samples, s => s.Execs) / n:F1} per node)");
    }

    /// <summary>
    /// The most frequent critical path of the runs (ties: the earliest run's), with the median duration of each of
    /// its steps over all runs.
    /// </summary>
    private static string PathText(List<Sample> samples)
    {
        var paths = samples.Select(s => CriticalPath(s.Steps).Select(x => x.Step).ToList()).ToList();
        var most = paths.GroupBy(p => string.Join(" -> ", p), StringComparer.Ordinal).OrderByDescending(g => g.Count()).First();
        var durations = most.First().Select(step => $"{step} {S(Med(samples.SelectMany(s => s.Steps).Where(x => x.Step == step).Select(x => x.Ms).ToList()))}");
        var share = samples.Count > 1 ? $"; {most.Count()} of {samples.Count} runs" : "";
        return $"{most.Key} ({string.Join(", ", durations)}){share}";
    }

    private static void PrintSummary(List<SizeResult> results, int runs)
    {
        Console.WriteLine();
        Console.WriteLine($"Summary (medians of {runs} interleaved run(s); goals: bring-up <= {UpGoal(1):0.0#}x the floor at N = 1 and <= {UpGoal(10):0.0#}x at N = 10 and 50, reset <= {ResetGoal(10):0.0#}x at N = 10, teardown <= {DownGoal(1):0.0#}x at every N)");
        Console.WriteLine();
        Console.WriteLine("| N | lab up | floor up | up ratio | lab reset | floor reset | reset ratio | lab down | floor down | down ratio | API calls + execs per bring-up | per node | memory per node | load |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            double up = Med(r.LabUp), fup = Med(r.FloorUp), reset = Med(r.LabReset), freset = Med(r.FloorReset), down = Med(r.LabDown), fdown = Med(r.FloorDown);
            var calls = MedInt(r.LabUp, s => s.ApiCalls);
            var execs = MedInt(r.LabUp, s => s.Execs);
            var mem = Med(r.LabUp.Where(s => s.Memory is not null).Select(s => s.Memory!.NodeAverageBytes).ToList());
            Console.WriteLine($"| {r.Nodes} | {S(up)} | {S(fup)} | **{up / fup:F2}x**{Goal(up / fup, UpGoal(r.Nodes))} | {S(reset)} | {S(freset)} | **{reset / freset:F2}x**{Goal(reset / freset, ResetGoal(r.Nodes))} | {S(down)} | {S(fdown)} | **{down / fdown:F2}x**{Goal(down / fdown, DownGoal(r.Nodes))} | {calls} + {execs} | {(double)calls / r.Nodes:F1} + {(double)execs / r.Nodes:F1} | {Mib(mem)} | {r.LoadBefore}-{r.LoadAfter} |");
        }
    }

    // The goals, lab over floor (printed beside the ratios, never asserted): a bring-up that runs its steps side by
    // side should cost little more than starting the same containers bare; a reset recreates only the nodes.
    private static double? UpGoal(int n) => n switch { 1 => 1.3, 10 or 50 => 1.15, _ => null };
    private static double? ResetGoal(int n) => n == 10 ? 1.3 : null;
    private static double? DownGoal(int n) => 1.0;

    private static string Goal(double ratio, double? goal) =>
        goal is not { } g ? "" : ratio <= g ? $" (goal <= {g:0.0#}x: met)" : $" (goal <= {g:0.0#}x: NOT met)";

    private static string CallList(List<Sample> samples) =>
        string.Join(", ", samples.SelectMany(s => s.Calls.Keys).Distinct().Where(k => k != "Exec").OrderBy(k => k, StringComparer.Ordinal)
            .Select(k => $"{k} {MedInt(samples, s => s.Calls.GetValueOrDefault(k))}"));

    private static string ExecList(List<Sample> samples) =>
        string.Join(", ", samples.SelectMany(s => s.Timings.Keys).Distinct().Where(k => k.StartsWith("Exec ", StringComparison.Ordinal)).OrderBy(k => k, StringComparer.Ordinal)
            .Select(k => $"{k[5..]} {MedInt(samples, s => s.Timings.TryGetValue(k, out var e) ? e.Count : 0)} ({S(Med(samples.Select(s => s.Timings.TryGetValue(k, out var e) ? e.SumMs : 0).ToList()))})"));

    private static IEnumerable<string> StepList(List<Sample> samples) =>
        samples[0].Steps.Select(st => st.Step).Select(step =>
        {
            var mine = samples.Select(s => s.Steps.FirstOrDefault(x => x.Step == step)).Where(x => x is not null).Select(x => x!).ToList();
            // Where it ran (median start and end, from the operation's start) as well as how long: the windows overlap.
            var text = $"{step} {Med(mine.Select(x => x.StartMs).ToList()) / 1000:F2}-{Med(mine.Select(x => x.EndMs).ToList()) / 1000:F2} s, {S(Med(mine.Select(x => x.Ms).ToList()))}";
            var parts = new List<string>();
            if (mine.Any(x => x.ContainersUpMs is not null))
                parts.Add($"containers up after {S(Med(mine.Select(x => x.ContainersUpMs ?? 0).ToList()))}");
            var execs = (int)Math.Round(Med(mine.Select(x => (double)x.Execs).ToList()));
            if (execs > 0) parts.Add($"{execs} exec{(execs == 1 ? "" : "s")}");
            return parts.Count == 0 ? text : $"{text} ({string.Join(", ", parts)})";
        });

    private static string MeanCalls(List<Sample> samples) =>
        string.Join(", ", new[] { "CreateNetwork", "CreateContainer", "PutFile", "StartContainer", "Exec" }
            .Select(key =>
            {
                var means = samples.Select(s =>
                {
                    var calls = s.Timeline.Where(c => key == "Exec" ? c.Key.StartsWith("Exec ", StringComparison.Ordinal) : c.Key == key).ToList();
                    return calls.Count == 0 ? double.NaN : calls.Average(c => c.EndMs - c.StartMs);
                }).Where(m => !double.IsNaN(m)).ToList();
                return means.Count == 0 ? null : $"{key} {S(Med(means))}";
            })
            .Where(t => t is not null));

    private static string SpanList(List<Sample> samples) =>
        string.Join(", ", samples.SelectMany(s => s.Timings.Keys).Distinct().OrderBy(k => Med(samples.Select(s => s.Timings.TryGetValue(k, out var e) ? e.FirstStartMs : 0).ToList()))
            .Select(k =>
            {
                var from = Med(samples.Select(s => s.Timings.TryGetValue(k, out var e) ? e.FirstStartMs : 0).ToList());
                var to = Med(samples.Select(s => s.Timings.TryGetValue(k, out var e) ? e.LastEndMs : 0).ToList());
                return $"{k} {from / 1000:F2}-{to / 1000:F2} s";
            }));

    private static string MemoryText(List<Sample> samples)
    {
        var read = samples.Where(s => s.Memory is not null).Select(s => s.Memory!).ToList();
        if (read.Count == 0) return "not readable (no cgroup memory files for the containers)";
        var dns64 = read.Where(m => m.Dns64Bytes is not null).Select(m => m.Dns64Bytes!.Value).ToList();
        var nat64 = read.Where(m => m.Nat64Bytes is not null).Select(m => m.Nat64Bytes!.Value).ToList();
        return $"{Mib(Med(read.Select(m => m.NodeAverageBytes).ToList()))} per node, DNS64 {Mib(Med(dns64))}, NAT64 {Mib(Med(nat64))}";
    }

    private static string Mib(double bytes) => double.IsNaN(bytes) ? "n/a" : $"{bytes / (1024 * 1024):F1} MiB";
    private static string S(double ms) => ms >= 1000 ? $"{ms / 1000:F2} s" : $"{ms:F0} ms";
    private static double Med(List<Sample> samples) => Med(samples.Select(s => s.Ms).ToList());
    private static int MedInt(List<Sample> samples, Func<Sample, int> f) => (int)Math.Round(Med(samples.Select(s => (double)f(s)).ToList()));

    private static double Med(List<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.OrderBy(v => v).ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>
    /// The log of a measured operation: StepRunner (src/Ipv6Dind.Core/Lab/StepRunner.cs) writes "Step '&lt;name&gt;':
    /// &lt;description&gt;." when a step starts and "Step '&lt;name&gt;' done." when it ends; both are recorded on the
    /// timings' clock (the calls' clock, so windows and calls line up). Warnings go to stderr, as with ConsoleLog.
    /// </summary>
    private sealed class StepLog(TimingDockerApi timing) : IDindLog
    {
        private static readonly System.Text.RegularExpressions.Regex Started = new(@"^Step '([^']+)': ");
        private static readonly System.Text.RegularExpressions.Regex Ended = new(@"^Step '([^']+)' done\.$");
        private readonly List<StepEvent> _events = new();

        public IReadOnlyList<StepEvent> Events { get { lock (_events) return _events.ToList(); } }

        public void Verbose(string message)
        {
            var at = timing.Now;
            var done = Ended.Match(message);
            var match = done.Success ? done : Started.Match(message);
            if (!match.Success) return;
            lock (_events) _events.Add(new StepEvent(match.Groups[1].Value, done.Success, at));
        }

        public void Warning(string message) => ConsoleLog.Instance.Warning(message);
        public void Debug(string message) { }
    }

    private sealed class ConsoleLog : IDindLog
    {
        public static readonly ConsoleLog Instance = new();
        public void Verbose(string message) { }
        public void Warning(string message) => Console.Error.WriteLine($"  WARNING: {message}");
        public void Debug(string message) { }
    }
}
