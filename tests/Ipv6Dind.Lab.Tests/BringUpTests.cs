using System.Net;

using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.TestSupport;

namespace Ipv6Dind.Lab.Tests;

/// <summary>New-DindCluster and Remove-DindCluster of a network lab on the in-memory daemon: what is made, and in which order.</summary>
public sealed class BringUpTests
{
    [Fact]
    public async Task ATwoNodeNetworkLabComesUpAsPlannedIsSeenByTheReadsAndGoesAwayWhole()
    {
        using var docker = InMemoryLab.NewDaemon();
        var host = new RefusingHost();
        var lab = InMemoryLab.Lab(docker, host: host);

        var cluster = await lab.CreateAsync(InMemoryLab.Spec("mem", 2), new LabOptions { NetworkOnly = true });
        var plan = AddressPlanner.PlanValidated(cluster.Spec, PlanEnvironment.Empty);

        Assert.Equal(("Running", 2, true), (cluster.State, cluster.Nodes, cluster.NetworkOnly));
        var network = Assert.Single(await docker.ListNetworksAsync(LabLabels.ClusterFilter("mem"), default));
        Assert.Equal(LabNames.Network("mem"), network.Name);
        Assert.Equal(new[] { plan.ManagementPrefix }, network.Subnets);
        Assert.Equal(LabLabels.RoleNetwork, network.Labels[LabLabels.Role]);
        Assert.Equal("true", network.Labels[LabLabels.NetworkOnly]);

        var expected = new List<(string Name, string Role, string Address, string? Index)>
        {
            (LabNames.Dns64("mem"), LabLabels.RoleDns64, plan.Dns64Address, null),
            (LabNames.Nat64("mem"), LabLabels.RoleNat64, plan.Nat64Address, null),
        };
        expected.AddRange(plan.NodeAddresses.Select(n => (n.NodeName, LabLabels.RoleNode, n.IPv6Address, (string?)n.Index.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Assert.Equal(expected.Select(e => e.Name).Order(), (await docker.ListContainersAsync(LabLabels.ClusterFilter("mem"), default)).Select(c => c.Name).Order());
        foreach (var (name, role, address, index) in expected)
        {
            var c = await docker.InspectContainerAsync(name, default);
            Assert.NotNull(c);
            Assert.True(c.Running, $"{name} is {c.State}");
            Assert.Equal(("mem", role), (c.Labels[LabLabels.Cluster], c.Labels[LabLabels.Role]));
            Assert.Equal(index, c.Labels.GetValueOrDefault(LabLabels.NodeIndex));
            Assert.Equal(IPAddress.Parse(address), IPAddress.Parse(c.Networks[network.Name].Ipv6!));
        }
        Assert.Equal(LabContainers.Bind9(plan).Content, await docker.GetFileAsync(LabNames.Dns64("mem"), LabContainers.Dns64Config, default));
        Assert.Equal(LabContainers.Tayga(plan).Content, await docker.GetFileAsync(LabNames.Nat64("mem"), LabContainers.Nat64Config, default));
        var masquerade = LabContainers.Nat64MasqueradeRule(plan).Select(a => a == "-A" ? "-C" : a).Prepend("iptables").ToArray();
        Assert.Equal(0, (await docker.ExecAsync(LabNames.Nat64("mem"), masquerade, null, null, default)).ExitCode);

        foreach (var node in plan.NodeAddresses)
        {
            var table = await docker.ExecAsync(node.NodeName, new[] { "ip", "-6", "route", "show" }, null, null, default);
            Assert.Equal(LabContainers.PlannedRoutes(plan, node).Select(r => (r.Destination, r.Gateway)).ToHashSet(), DindLab.ParseRoutes(table.StandardOutput));
            Assert.Equal(LabContainers.ResolvConf(plan), await docker.GetFileAsync(node.NodeName, "/etc/resolv.conf", default));
        }

        // The reads of Get-DindCluster, Get-DindNode and Get-DindRoute see the same lab.
        Assert.Equal("mem", Assert.Single(await lab.GetClustersAsync(null)).ClusterName);
        var nodes = await lab.GetNodesAsync("mem");
        Assert.Equal(plan.NodeAddresses.Select(n => (n.NodeName, n.IPv6Address, "running")), nodes.Select(n => (n.NodeName, n.IPv6Address, n.State)));
        var routes = await lab.GetRoutesAsync("mem", null);
        Assert.Equal(plan.NodeAddresses.Sum(n => LabContainers.PlannedRoutes(plan, n).Count()), routes.Count);
        Assert.All(routes, r => Assert.True(r.Present && r.Kind != DindRoute.StaleKind, $"{r.NodeName} {r.Destination} via {r.Gateway}: {r.Kind}, present {r.Present}"));

        Assert.Equal(expected.Count + 1, await lab.RemoveAsync("mem"));     // the containers and the network
        Assert.Empty(docker.Snapshot());
        Assert.Empty(await InMemoryLab.StateAsync(docker, "mem"));      // the lock file went too
        Assert.Empty(await lab.GetClustersAsync(null));
        Assert.Empty(host.Attempts);
    }

    [Fact]
    public async Task TheBringUpMakesTheNetworkFirstRoutesEachNodeAfterItsStartAndChecksDns64FromANodeLast()
    {
        using var docker = InMemoryLab.NewDaemon();
        using var recorder = new FaultInjectingDockerApi(docker);
        // Nodes in parallel (the default): the constraints hold whatever order the nodes go in.
        await InMemoryLab.Lab(recorder).CreateAsync(InMemoryLab.Spec("order", 3), new LabOptions { NetworkOnly = true });

        var calls = recorder.Calls;
        await InMemoryLab.ForgetLocksAsync(docker, "order");
        var names = (await docker.ListContainersAsync(null, default)).ToDictionary(c => c.Id, c => c.Name);
        string? ContainerOf(DockerCall call) =>
            call.Method == "CreateContainer" ? call.Target : call.Target is { } t && names.TryGetValue(t, out var n) ? n : null;
        bool IsExec(DockerCall call, string container, params string[] argv) =>
            call.Method == "Exec" && ContainerOf(call) == container && ((IReadOnlyList<string>)call.Arguments[1]!).Take(argv.Length).SequenceEqual(argv);
        int One(Func<DockerCall, bool> what, string description) =>
            calls.Where(what).Select(c => c.Sequence).SingleOrDefault() is > 0 and var n ? n : throw new Xunit.Sdk.XunitException($"not exactly one call: {description}");
        int Started(string container) => One(c => c.Method == "StartContainer" && ContainerOf(c) == container, "start of " + container);
        int Created(string container) => One(c => c.Method == "CreateContainer" && ContainerOf(c) == container, "create of " + container);
        var trace = string.Join("\n", calls.Select(c => $"{c.Sequence} {c.Method} {ContainerOf(c) ?? c.Target}"));

        var nodes = Enumerable.Range(1, 3).Select(i => LabNames.Node("order", i)).ToList();
        var network = One(c => c.Method == "CreateNetwork", "network create");
        Assert.True(calls.Where(c => c.Method == "CreateContainer").All(c => c.Sequence > network), "a container before the network:\n" + trace);
        foreach (var node in nodes)
        {
            var batch = One(c => IsExec(c, node, "ip", "-batch", "-"), "route batch of " + node);
            Assert.True(batch > Started(node), $"{node} routed before its start:\n" + trace);
            Assert.True(Created(node) < Started(node), $"{node} started before its create:\n" + trace);
        }
        // Configuration files are in place before their container starts; readiness is asked of a started DNS64 and NAT64.
        foreach (var put in calls.Where(c => c.Method == "PutFile"))
            Assert.True(put.Sequence < Started(ContainerOf(put)!), $"file {put.Arguments[1]} put into a started {ContainerOf(put)}:\n" + trace);
        Assert.True(calls.Where(c => IsExec(c, LabNames.Dns64("order"), "dig")).All(c => c.Sequence > Started(LabNames.Dns64("order"))), trace);
        Assert.True(calls.Where(c => IsExec(c, LabNames.Nat64("order"), "ip", "-batch")).All(c => c.Sequence > Started(LabNames.Nat64("order"))), trace);
        // The check that a node resolves through DNS64 comes after every node is routed.
        var verify = calls.Last(c => c.Method == "Exec" && nodes.Contains(ContainerOf(c) ?? "") && IsExec(c, ContainerOf(c)!, "dig")).Sequence;
        Assert.True(nodes.All(n => One(c => IsExec(c, n, "ip", "-batch", "-"), "route batch of " + n) < verify), "verified before every node was routed:\n" + trace);
        // ... and after DNS64 answered and NAT64 was set up (they start beside the nodes: every address is planned).
        Assert.True(calls.Where(c => IsExec(c, LabNames.Dns64("order"), "dig")).All(c => c.Sequence < verify), "verified before DNS64 answered:\n" + trace);
        Assert.True(calls.Where(c => ContainerOf(c) == LabNames.Nat64("order") && c.Method == "Exec").All(c => c.Sequence < verify), "verified before NAT64 was set up:\n" + trace);
    }

    private sealed class Recorder : Ipv6Dind.Core.Diagnostics.IDindLog, IProgress<Ipv6Dind.Core.Diagnostics.DindProgress>
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Verbose { get; } = new();
        public System.Collections.Concurrent.ConcurrentQueue<Ipv6Dind.Core.Diagnostics.DindProgress> Progress { get; } = new();
        void Ipv6Dind.Core.Diagnostics.IDindLog.Verbose(string message) => Verbose.Enqueue(message);
        public void Warning(string message) => Verbose.Enqueue("WARNING " + message);
        public void Debug(string message) { }
        public void Report(Ipv6Dind.Core.Diagnostics.DindProgress value) => Progress.Enqueue(value);
    }

    [Fact]
    public async Task NewResetAddRemoveNodeAndStartTellEveryStepInOrderAndTheirProgressBarOnlyMovesForwardToACompletedEnd()
    {
        using var docker = InMemoryLab.NewDaemon();
        var create = new Recorder();
        var lab = new DindLab(docker, new Ipv6Dind.Core.Diagnostics.OperationContext(default, create, create), new Ipv6Dind.Core.Host.HostFirewall(new RefusingHost()))
        {
            Locality = new Ipv6Dind.Core.Host.DaemonLocalityResult(false, docker.Endpoint, null, "in-memory daemon"),
        };
        // With parallelism 1 the steps run in their list order (the graph of the default is the next test).
        await lab.CreateAsync(InMemoryLab.Spec("steps", 2), new LabOptions { NetworkOnly = true, Parallelism = 1 });

        var told = create.Verbose.Where(l => l.StartsWith("Step '", StringComparison.Ordinal) && l.EndsWith("' done.", StringComparison.Ordinal))
            .Select(l => l[6..^7]).ToList();
        Assert.Equal(LabSteps.All, told);
        foreach (var step in LabSteps.All.Skip(1))      // each step also says what it does as it starts
            Assert.Contains(create.Verbose, l => l.StartsWith($"Step '{step}': ", StringComparison.Ordinal));
        AssertForwardToCompleted(create.Progress, "New-DindCluster");

        var reset = new Recorder();
        var again = new DindLab(docker, new Ipv6Dind.Core.Diagnostics.OperationContext(default, reset, reset), new Ipv6Dind.Core.Host.HostFirewall(new RefusingHost()))
        {
            Locality = new Ipv6Dind.Core.Host.DaemonLocalityResult(false, docker.Endpoint, null, "in-memory daemon"),
        };
        await again.ResetAsync("steps", new LabOptions { NetworkOnly = true, Parallelism = 1 });
        var resetSteps = reset.Verbose.Where(l => l.StartsWith("Step '", StringComparison.Ordinal) && l.EndsWith("' done.", StringComparison.Ordinal)).Select(l => l[6..^7]);
        Assert.Equal(new[] { LabSteps.RemoveNodes, LabSteps.Nodes, LabSteps.Routes, LabSteps.Verify }, resetSteps);
        AssertForwardToCompleted(reset.Progress, "Reset-DindCluster");

        var add = new Recorder();
        var grow = new DindLab(docker, new Ipv6Dind.Core.Diagnostics.OperationContext(default, add, add), new Ipv6Dind.Core.Host.HostFirewall(new RefusingHost()))
        {
            Locality = new Ipv6Dind.Core.Host.DaemonLocalityResult(false, docker.Endpoint, null, "in-memory daemon"),
        };
        await grow.AddNodesAsync("steps", 1, new LabOptions { NetworkOnly = true, Parallelism = 1 });
        var addSteps = add.Verbose.Where(l => l.StartsWith("Step '", StringComparison.Ordinal) && l.EndsWith("' done.", StringComparison.Ordinal)).Select(l => l[6..^7]);
        Assert.Equal(new[] { LabSteps.Nodes, LabSteps.Routes, LabSteps.RouteExisting }, addSteps);
        AssertForwardToCompleted(add.Progress, "Add-DindNode");

        var remove = new Recorder();
        var shrink = new DindLab(docker, new Ipv6Dind.Core.Diagnostics.OperationContext(default, remove, remove), new Ipv6Dind.Core.Host.HostFirewall(new RefusingHost()))
        {
            Locality = new Ipv6Dind.Core.Host.DaemonLocalityResult(false, docker.Endpoint, null, "in-memory daemon"),
        };
        await shrink.RemoveNodeAsync("steps", LabNames.Node("steps", 3));
        var removeSteps = remove.Verbose.Where(l => l.StartsWith("Step '", StringComparison.Ordinal) && l.EndsWith("' done.", StringComparison.Ordinal)).Select(l => l[6..^7]);
        Assert.Equal(new[] { LabSteps.Routes, LabSteps.RemoveNodes }, removeSteps);
        AssertForwardToCompleted(remove.Progress, "Remove-DindNode");

        await again.StopAsync("steps");
        var start = new Recorder();
        var resume = new DindLab(docker, new Ipv6Dind.Core.Diagnostics.OperationContext(default, start, start), new Ipv6Dind.Core.Host.HostFirewall(new RefusingHost()))
        {
            Locality = new Ipv6Dind.Core.Host.DaemonLocalityResult(false, docker.Endpoint, null, "in-memory daemon"),
        };
        await resume.StartAsync("steps", parallelism: 1);
        var startSteps = start.Verbose.Where(l => l.StartsWith("Step '", StringComparison.Ordinal) && l.EndsWith("' done.", StringComparison.Ordinal)).Select(l => l[6..^7]);
        Assert.Equal(new[] { LabSteps.StartContainers, LabSteps.Nodes, LabSteps.Dns64, LabSteps.Routes, LabSteps.HostRules }, startSteps);
        AssertForwardToCompleted(start.Progress, "Start-DindCluster");
        await again.RemoveAsync("steps");
    }

    [Fact]
    public async Task NewStartsDns64Nat64AndTheNodesSideBySideAndNoStepStartsBeforeWhatItNeeds()
    {
        // Every StartContainer waits (up to 5 s) until three are in flight: only a bring-up that starts DNS64, NAT64
        // and the first node side by side gets all three there; one at a time, each would wait out the 5 s alone.
        using var docker = InMemoryLab.NewDaemon();
        using var together = new CountdownEvent(3);
        var arrived = 0;
        var alone = false;
        using var gated = new FaultInjectingDockerApi(docker).BeforeCall(c => c.Method == "StartContainer", _ =>
        {
            if (Interlocked.Increment(ref arrived) > 3) return;
            together.Signal();
            if (!together.Wait(TimeSpan.FromSeconds(5))) Volatile.Write(ref alone, true);
        }, once: false);
        var create = new Recorder();
        var lab = new DindLab(gated, new Ipv6Dind.Core.Diagnostics.OperationContext(default, create, create), new Ipv6Dind.Core.Host.HostFirewall(new RefusingHost()))
        {
            Locality = new Ipv6Dind.Core.Host.DaemonLocalityResult(false, docker.Endpoint, null, "in-memory daemon"),
        };
        await lab.CreateAsync(InMemoryLab.Spec("graph", 2), new LabOptions { NetworkOnly = true });
        Assert.True(arrived >= 3 && !alone, "DNS64, NAT64 and node 1 were not started side by side");

        var lines = create.Verbose.ToList();
        int Started(string step) => lines.FindIndex(l => l.StartsWith($"Step '{step}': ", StringComparison.Ordinal));
        int Done(string step) => lines.FindIndex(l => l == $"Step '{step}' done.");
        Assert.Equal(LabSteps.All.Order(), lines.Where(l => l.StartsWith("Step '", StringComparison.Ordinal) && l.EndsWith("' done.", StringComparison.Ordinal)).Select(l => l[6..^7]).Order());
        foreach (var step in new[] { LabSteps.Dns64, LabSteps.Nat64, LabSteps.Nodes, LabSteps.Routes, LabSteps.HostRules })
            Assert.True(Done(LabSteps.Network) < Started(step), $"'{step}' started before the network existed");
        foreach (var step in new[] { LabSteps.Dns64, LabSteps.Nat64, LabSteps.Nodes, LabSteps.Routes, LabSteps.HostRules })
            Assert.True(Done(step) < Started(LabSteps.Verify), $"'verify' started before '{step}' was done");
        // Each node is routed after it started (the routes step runs beside the nodes step, a node at a time).
        foreach (var n in new[] { 1, 2 })
        {
            var node = LabNames.Node("graph", n);
            Assert.True(lines.FindIndex(l => l.Contains($"started ({node})", StringComparison.Ordinal) || l.StartsWith($"Started {node} ", StringComparison.Ordinal))
                        < lines.FindIndex(l => l.StartsWith("Step 'routes' done.", StringComparison.Ordinal)));
        }
        AssertForwardToCompleted(create.Progress, "New-DindCluster");

        var reset = new Recorder();
        var again = new DindLab(docker, new Ipv6Dind.Core.Diagnostics.OperationContext(default, reset, reset), new Ipv6Dind.Core.Host.HostFirewall(new RefusingHost()))
        {
            Locality = new Ipv6Dind.Core.Host.DaemonLocalityResult(false, docker.Endpoint, null, "in-memory daemon"),
        };
        await again.ResetAsync("graph", new LabOptions { NetworkOnly = true });
        var told = reset.Verbose.ToList();
        Assert.True(told.IndexOf("Step 'remove-nodes' done.") < told.FindIndex(l => l.StartsWith("Step 'nodes': ", StringComparison.Ordinal)));
        Assert.True(told.IndexOf("Step 'routes' done.") < told.FindIndex(l => l.StartsWith("Step 'verify': ", StringComparison.Ordinal)));
        AssertForwardToCompleted(reset.Progress, "Reset-DindCluster");
        await again.RemoveAsync("graph");
        Assert.Empty(docker.Snapshot());
    }

    private static void AssertForwardToCompleted(IEnumerable<Ipv6Dind.Core.Diagnostics.DindProgress> records, string activity)
    {
        var list = records.ToList();
        Assert.NotEmpty(list);
        Assert.All(list, r => Assert.Equal(activity, r.Activity));
        var percents = list.Select(r => r.PercentComplete).ToList();
        Assert.Equal(percents.Order(), percents);
        Assert.Equal((100, true), (list[^1].PercentComplete, list[^1].Completed));
        Assert.Single(list, r => r.Completed);
    }
}
