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
    private static readonly TimeSpan Alone = TimeSpan.FromSeconds(5);

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
        using var newNodeRouted = new ManualResetEventSlim();
        using var oldNodeRouted = new ManualResetEventSlim();
        var alone = false;
        using var gated = new FaultInjectingDockerApi(docker)
            .BeforeCall(c => c.Method == "Exec", c =>
            {
                var container = ContainerOf(docker, c);
                if (container == LabNames.Node("grow", 2)) newNodeRouted.Set();
                if (container == LabNames.Node("grow", 1)) oldNodeRouted.Set();
            }, once: false)
            .BeforeCall(c => c.Method == "StartContainer" && ContainerOf(docker, c) == LabNames.Node("grow", 3), _ =>
            {
                var deadline = DateTime.UtcNow + Alone;
                if (!newNodeRouted.Wait(Remaining(deadline)) || !oldNodeRouted.Wait(Remaining(deadline))) Volatile.Write(ref alone, true);
            });

        var added = await InMemoryLab.Lab(gated).AddNodesAsync("grow", 2, new LabOptions { NetworkOnly = true });

        Assert.False(alone, "node 3 started without node 2 (new) and node 1 (there before) both being routed beside it");
        Assert.Equal(new[] { LabNames.Node("grow", 2), LabNames.Node("grow", 3) }, added.Select(n => n.NodeName));
        await AssertRoutedAndRunningAsync(docker, "grow");
    }

    private static TimeSpan Remaining(DateTime deadline) => deadline - DateTime.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;

    [Fact]
    public async Task AddRoutesEachNewNodeAfterItsOwnStartAndEveryNodeEndsWithTheNewPlan()
    {
        using var docker = InMemoryLab.NewDaemon();
        await InMemoryLab.Lab(docker).CreateAsync(InMemoryLab.Spec("order", 2), new LabOptions { NetworkOnly = true });
        var trace = new Trace(docker);
        using var api = trace.Api;

        await InMemoryLab.Lab(api).AddNodesAsync("order", 2, new LabOptions { NetworkOnly = true });

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
}
