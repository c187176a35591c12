using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.TestSupport;

namespace Ipv6Dind.Lab.Tests;

/// <summary>
/// Add-DindNode and Start-DindCluster as dependency graphs on the in-memory daemon: which steps run side by side, and
/// that no call comes before what it needs. The graph of New- and Reset-DindCluster is in BringUpTests.cs.
/// </summary>
public sealed class DayTwoGraphTests
{
    /// <summary>How long an operation of a few milliseconds may take before it counts as hung (steps waiting for each other).</summary>
    private static readonly TimeSpan Hung = TimeSpan.FromSeconds(30);

    /// <summary>The name of a call's container, asked as the call starts (a container ID means nothing to a reader).</summary>
    private static string? ContainerOf(InMemoryDockerApi docker, DockerCall call) =>
        call.Target is { Length: 64 } id ? docker.InspectContainerAsync(id, default).GetAwaiter().GetResult()?.Name : call.Target;

    /// <summary>Every call with the name of its container, in the order they started.</summary>
    private sealed class Trace
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, string?> _containers = new();
        public FaultInjectingDockerApi Api { get; }

        public Trace(InMemoryDockerApi docker)
        {
            // A few milliseconds a call, so that the steps beside each other really interleave.
            Api = new FaultInjectingDockerApi(docker) { Latency = TimeSpan.FromMilliseconds(3) };
            Api.BeforeCall(_ => true, call => _containers[call.Sequence] = ContainerOf(docker, call), once: false);
        }

        public IReadOnlyList<(int Sequence, string Method, string? Container, IReadOnlyList<string> Argv)> Calls =>
            Api.Calls.Select(c => (c.Sequence, c.Method, _containers[c.Sequence],
                c.Method == "Exec" ? (IReadOnlyList<string>)c.Arguments[1]! : Array.Empty<string>())).ToList();

        public override string ToString() => string.Join("\n", Calls.Select(c => $"{c.Sequence} {c.Method} {c.Container} {string.Join(' ', c.Argv.Take(3))}"));

        public int One(string method, string container, params string[] argv)
        {
            var matches = Calls.Where(c => c.Method == method && c.Container == container && c.Argv.Take(argv.Length).SequenceEqual(argv)).ToList();
            if (matches.Count != 1)
                throw new Xunit.Sdk.XunitException($"{matches.Count} calls {method} {container} {string.Join(' ', argv)}, not one:\n{this}");
            return matches[0].Sequence;
        }

        public IReadOnlyList<int> All(string method, string container) =>
            Calls.Where(c => c.Method == method && c.Container == container).Select(c => c.Sequence).ToList();
    }

    /// <summary>Every planned route of every node present, none stale (Get-DindRoute), and every container running.</summary>
    private static async Task AssertRoutedAndRunningAsync(InMemoryDockerApi docker, string cluster)
    {
        var lab = InMemoryLab.Lab(docker);
        var routes = await lab.GetRoutesAsync(cluster, null);
        Assert.NotEmpty(routes);
        Assert.All(routes, r => Assert.True(r.Present && r.Kind != DindRoute.StaleKind, $"{r.NodeName} {r.Destination} via {r.Gateway}: {r.Kind}, present {r.Present}"));
        Assert.All(await docker.ListContainersAsync(LabLabels.ClusterFilter(cluster), default), c => Assert.True(c.Running, $"{c.Name} is {c.State}"));
    }

    // ------------------------------------------------------------------------------------------------ Add-DindNode

    [Fact]
    public async Task AddRoutesANewNodeWhileTheNextStartsAndTheExistingNodesBesideTheStarts()
    {
        // The start of node 3 waits (up to 5 s) until node 2 (new, started beside it) and node 1 (there before) are being
        // routed: only an Add-DindNode that routes each new node as it runs and the existing nodes beside the starts
        // gets both there; in sequence (nodes, then routes, then route-existing) node 3's start would wait out the 5 s alone.
        using var docker = InMemoryLab.NewDaemon();
        await InMemoryLab.Lab(docker).CreateAsync(InMemoryLab.Spec("grow", 1), new LabOptions { NetworkOnly = true });
        using var gate = new Gate(docker, LabNames.Node("grow", 3), LabNames.Node("grow", 2), LabNames.Node("grow", 1));

        var added = await InMemoryLab.Lab(gate.Api).AddNodesAsync("grow", 2, new LabOptions { NetworkOnly = true });

        Assert.False(gate.Alone, "node 3 started without node 2 (new) and node 1 (there before) both being routed beside it");
        Assert.Equal(new[] { LabNames.Node("grow", 2), LabNames.Node("grow", 3) }, added.Select(n => n.NodeName));
        await AssertRoutedAndRunningAsync(docker, "grow");
    }

    /// <summary>
    /// A daemon on which the start of one container waits (up to 5 s) until an exec has begun in each of the others:
    /// <see cref="Alone"/> says whether it waited in vain, which is what a run in sequence does.
    /// </summary>
    private sealed class Gate : IDisposable
    {
        private readonly Dictionary<string, ManualResetEventSlim> _execs;
        private int _alone;

        public Gate(InMemoryDockerApi docker, string gatedStart, params string[] execsBeside)
        {
            _execs = execsBeside.ToDictionary(c => c, _ => new ManualResetEventSlim(), StringComparer.Ordinal);
            Api = new FaultInjectingDockerApi(docker)
                .BeforeCall(c => c.Method == "Exec", c =>
                {
                    if (ContainerOf(docker, c) is { } container && _execs.TryGetValue(container, out var seen)) seen.Set();
                }, once: false)
                .BeforeCall(c => c.Method == "StartContainer" && ContainerOf(docker, c) == gatedStart, _ =>
                {
                    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
                    if (!_execs.Values.All(seen => seen.Wait(Max(deadline - DateTime.UtcNow, TimeSpan.Zero)))) Interlocked.Exchange(ref _alone, 1);
                });
        }

        public FaultInjectingDockerApi Api { get; }
        public bool Alone => Volatile.Read(ref _alone) == 1;

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

        public void Dispose()
        {
            Api.Dispose();
            foreach (var seen in _execs.Values) seen.Dispose();
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(LabOptions.DefaultParallelism)]
    public async Task AddRoutesEachNewNodeAfterItsOwnStartAndEveryNodeEndsWithTheNewPlan(int parallelism)
    {
        using var docker = InMemoryLab.NewDaemon();
        await InMemoryLab.Lab(docker).CreateAsync(InMemoryLab.Spec("order", 2), new LabOptions { NetworkOnly = true });
        var trace = new Trace(docker);
        using var api = trace.Api;

        await InMemoryLab.Lab(api).AddNodesAsync("order", 2, new LabOptions { NetworkOnly = true, Parallelism = parallelism }).WaitAsync(Hung);

        foreach (var node in new[] { LabNames.Node("order", 3), LabNames.Node("order", 4) })
        {
            var started = trace.One("StartContainer", node);
            Assert.True(trace.One("CreateContainer", node) < started, $"{node} started before its create:\n{trace}");
            // The resolver, the route batch and the pod masquerade rule come after the node's own start.
            var execs = trace.All("Exec", node);
            Assert.Equal(3, execs.Count);
            Assert.True(execs.All(e => e > started), $"{node} configured before its start:\n{trace}");
            trace.One("Exec", node, "ip", "-batch", "-");
        }
        // The nodes there before get one reconciling batch each (their table read first), with the new pod prefixes.
        foreach (var node in new[] { LabNames.Node("order", 1), LabNames.Node("order", 2) })
            Assert.True(trace.One("Exec", node, "ip", "-6", "route") < trace.One("Exec", node, "ip", "-batch", "-"), trace.ToString());
        // Get-DindRoute plans from the four nodes that exist now: every route of each is there, none stale.
        Assert.Equal(4, (await InMemoryLab.Lab(docker).GetNodesAsync("order")).Count);
        await AssertRoutedAndRunningAsync(docker, "order");
    }

    // ------------------------------------------------------------------------------------------------ Start-DindCluster

    [Fact]
    public async Task StartWaitsForDns64AndRoutesANodeWhileTheNextStarts()
    {
        // The start of node 2 waits (up to 5 s) until DNS64 is asked whether it answers and node 1 is being routed: only
        // a Start-DindCluster that starts the nodes beside the wait for DNS64 and configures each container as it runs
        // gets both there; in sequence (every start, then the wait, then the routes) node 2's start would wait alone.
        using var docker = InMemoryLab.NewDaemon();
        await InMemoryLab.Lab(docker).CreateAsync(InMemoryLab.Spec("resume", 2), new LabOptions { NetworkOnly = true });
        await InMemoryLab.Lab(docker).StopAsync("resume");
        using var gate = new Gate(docker, LabNames.Node("resume", 2), LabNames.Dns64("resume"), LabNames.Node("resume", 1));

        await InMemoryLab.Lab(gate.Api).StartAsync("resume");

        Assert.False(gate.Alone, "node 2 started without DNS64 being waited for and node 1 being routed beside it");
        await AssertRoutedAndRunningAsync(docker, "resume");
    }

    [Theory]
    [InlineData(2)]     // the least that runs steps side by side: the starts still get a slot beside the routes step waiting for them
    [InlineData(LabOptions.DefaultParallelism)]
    public async Task StartConfiguresEachContainerAfterItsOwnStartAndStartsEachOnce(int parallelism)
    {
        using var docker = InMemoryLab.NewDaemon();
        await InMemoryLab.Lab(docker).CreateAsync(InMemoryLab.Spec("order", 3), new LabOptions { NetworkOnly = true });
        await InMemoryLab.Lab(docker).StopAsync("order");
        var trace = new Trace(docker);
        using var api = trace.Api;

        await InMemoryLab.Lab(api).StartAsync("order", parallelism).WaitAsync(Hung);

        var containers = new[] { LabNames.Dns64("order"), LabNames.Nat64("order") }.Concat(Enumerable.Range(1, 3).Select(i => LabNames.Node("order", i)));
        foreach (var container in containers)
        {
            var started = trace.One("StartContainer", container);
            var execs = trace.All("Exec", container);
            Assert.NotEmpty(execs);     // DNS64 asked, NAT64's device routed, each node's resolver and routes
            Assert.True(execs.All(e => e > started), $"{container} asked or configured before its start:\n{trace}");
        }
        Assert.Equal(5, trace.Calls.Count(c => c.Method == "StartContainer"));
        await AssertRoutedAndRunningAsync(docker, "order");
    }
}
