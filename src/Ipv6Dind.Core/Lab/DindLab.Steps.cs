using Ipv6Dind.Core.Kubernetes;

namespace Ipv6Dind.Core.Lab;

/// <summary>The node steps of New-, Reset-DindCluster and Add-DindNode, as a dependency graph (docs/architecture.md).</summary>
public sealed partial class DindLab
{
    /// <summary>
    /// The node steps New-DindCluster and Reset-DindCluster share, as a dependency graph after the step
    /// <paramref name="start"/> (New: the network; Reset: the removal of the old nodes): start every node and route
    /// each as soon as it runs (<see cref="StartAndRouteSteps"/>); the <paramref name="services"/> step list (New:
    /// DNS64, NAT64; already in the caller's list) and <paramref name="beside"/> (New: the AAAA-mode host rules; added
    /// here, after the routes in list order) run alongside. The Kubernetes phase (unless a network lab) and the DNS64
    /// check from the first node wait for all of them. With parallelism 1 the list order is the order they run in.
    /// </summary>
    private List<LabStep> NodeSteps(DindClusterSpec spec, AddressPlan plan, string nodeImage, NodeImageFacts? kubernetes, LabOptions options,
        Journal journal, string start, IReadOnlyList<LabStep> services, LabStep? beside = null)
    {
        var nodeIds = new System.Collections.Concurrent.ConcurrentDictionary<int, string>();
        var (nodes, routes) = StartAndRouteSteps(spec, plan, plan.NodeAddresses, nodeImage, kubernetes, publishApiServer: true,
            options.Parallelism, journal, nodeIds, new[] { start });
        var steps = new List<LabStep> { nodes, routes };
        if (beside is not null) steps.Add(beside);
        var all = services.Select(s => s.Name).Concat(steps.Select(s => s.Name)).ToArray();
        if (kubernetes is not null)
        {
            var phase = KubernetesSteps(spec, plan, nodeIds, kubernetes, options).ToList();
            phase[0] = phase[0] with { After = all };
            steps.AddRange(phase);
            all = new[] { phase[^1].Name };
        }
        steps.Add(new(LabSteps.Verify, "checking that the first node resolves through DNS64", 4, scope =>
            VerifyNodeResolverAsync(nodeIds[plan.NodeAddresses[0].Index], plan, kubernetes, scope.Cancellation)) { After = all });
        return steps;
    }

    /// <summary>
    /// The pair of steps that makes nodes (New-, Reset-DindCluster and Add-DindNode): <see cref="LabSteps.Nodes"/> creates
    /// and starts each of <paramref name="nodes"/> (recorded in <paramref name="journal"/>, its ID put into
    /// <paramref name="nodeIds"/>), <paramref name="parallelism"/> at a time; <see cref="LabSteps.Routes"/> runs beside
    /// it and configures each node (resolver, IPv6-only state, one route batch) as soon as its own start is done. Both
    /// wait for the steps named in <paramref name="after"/>. <paramref name="publishApiServer"/>: a Kubernetes lab's
    /// first node publishes its API server on a free host port (New, Reset; Add-DindNode adds workers only).
    /// </summary>
    private (LabStep Nodes, LabStep Routes) StartAndRouteSteps(DindClusterSpec spec, AddressPlan plan, IReadOnlyList<NodeAddress> nodes,
        string nodeImage, NodeImageFacts? kubernetes, bool publishApiServer, int parallelism, Journal journal,
        System.Collections.Concurrent.ConcurrentDictionary<int, string> nodeIds, IReadOnlyList<string> after)
    {
        // Each node's start, awaited by its routing: the routes step runs beside the nodes step, a node at a time.
        var started = nodes.ToDictionary(n => n.Index, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
        var count = nodes.Count;
        var start = new LabStep(LabSteps.Nodes, $"starting {count} node(s)", 40, async scope =>
        {
            var created = 0;
            var hostModules = HostHasModules();
            var apiPort = publishApiServer && kubernetes is not null ? FreeLoopbackPort() : 0;
            await ForEachNodeAsync(nodes, parallelism, scope.Cancellation, async node =>
            {
                var container = NodeContainer(spec, node, nodeImage, kubernetes, hostModules, apiPort);
                var id = await CreateAndStartAsync(container, journal, scope.Cancellation).ConfigureAwait(false);
                nodeIds[node.Index] = id;
                started[node.Index].TrySetResult(id);
                var done = Interlocked.Increment(ref created);
                scope.Report($"node {done} of {count} started ({node.NodeName})", done, count);
            }).ConfigureAwait(false);
        }) { After = after };
        var route = new LabStep(LabSteps.Routes, $"routing {count} node(s)", 20, async scope =>
        {
            var routed = 0;
            await ForEachNodeAsync(nodes, parallelism, scope.Cancellation, async node =>
            {
                // A failed or stopped nodes step cancels this scope (the runner stops the steps beside a failure).
                var id = await started[node.Index].Task.WaitAsync(scope.Cancellation).ConfigureAwait(false);
                // A network lab's node is set up from the host where it can be (no exec); a Kubernetes node's own
                // iptables may be another backend than the host's, so it keeps exec.
                await ConfigureNodeAsync(id, plan, node, scope.Cancellation, fromHost: kubernetes is null).ConfigureAwait(false);
                var done = Interlocked.Increment(ref routed);
                scope.Report($"node {done} of {count} routed ({node.NodeName})", done, count);
            }).ConfigureAwait(false);
        }) { After = after };
        return (start, route);
    }
}
