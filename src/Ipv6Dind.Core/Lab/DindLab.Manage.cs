using System.Globalization;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Kubernetes;

namespace Ipv6Dind.Core.Lab;

/// <summary>Day-two operations: stop and start, adding and removing nodes (DNS64/NAT64 settings: DindLab.Services.cs; logs: DindLab.Logs.cs).</summary>
public sealed partial class DindLab
{
    private async Task<List<ContainerInfo>> ContainersAsync(string cluster) =>
        (await _docker.ListContainersAsync(LabLabels.ClusterFilter(cluster), Ct).ConfigureAwait(false)).ToList();

    // ---------------------------------------------------------------- stop / start

    /// <summary>
    /// The cluster's cross-process lock, for an operation that changes the lab: New-, Reset-, Remove-, Start- and
    /// Stop-DindCluster, Add- and Remove-DindNode, Sync-DindRoute, Copy-DindImage, Set-Dns64 and Set-Nat64Prefix each hold it, so an
    /// admin's command waits for (or is refused by) the nightly rebuild instead of breaking it midway. It is not
    /// reentrant: an operation that holds it calls the unlocked variants (SyncRoutesUnlockedAsync).
    /// </summary>
    private async Task<ClusterLock> LockAsync(string cluster, string operation, TimeSpan? wait = null)
    {
        LabInput.ClusterName(cluster);
        return await ClusterLock.AcquireAsync(await DaemonIdAsync().ConfigureAwait(false), cluster, operation, wait ?? LockWait, Ct).ConfigureAwait(false);
    }

    private string? _daemonId;

    /// <summary>The daemon's ID, asked once per lab object: locks are keyed by daemon and cluster (two daemons on one host may each have a "lab").</summary>
    private async Task<string> DaemonIdAsync()
    {
        if (_daemonId is { } known) return known;
        var id = (await _docker.GetDaemonInfoAsync(Ct).ConfigureAwait(false)).Id;
        // An API that reports no ID (an old or unusual daemon) is keyed by its endpoint instead.
        return _daemonId = id.Length > 0 ? id : _docker.Endpoint;
    }

    /// <summary>How long the operations without a lock-wait option of their own wait for the cluster's lock.</summary>
    public TimeSpan LockWait { get; set; } = LabOptions.DefaultLockWait;

    /// <summary>
    /// Stops the nodes, then NAT64 and DNS64 (two steps on the runner). Stopped containers keep their state;
    /// Start-DindCluster resumes. Nothing to undo: a second run finishes what a failed one left running.
    /// </summary>
    public async Task StopAsync(string cluster)
    {
        using var held = await LockAsync(cluster, "Stop-DindCluster").ConfigureAwait(false);
        await RequireAsync(cluster).ConfigureAwait(false);
        var containers = await ContainersAsync(cluster).ConfigureAwait(false);
        LabStep Stop(string name, string what, params string[] roles)
        {
            var these = containers.Where(c => roles.Contains(Role(c)) && c.Running).ToList();
            return new(name, $"stopping {these.Count} {what}", 50, scope => Parallel.ForEachAsync(these,
                new ParallelOptions { MaxDegreeOfParallelism = LabOptions.DefaultParallelism, CancellationToken = scope.Cancellation }, async (c, _) =>
                {
                    await _docker.StopContainerAsync(c.Id, TimeSpan.FromSeconds(10), scope.Cancellation).ConfigureAwait(false);
                    Log.Verbose($"Stopped {c.Name}.");
                }));
        }
        var runner = new StepRunner("Stop-DindCluster", _ctx, AfterStep);
        await runner.RunAsync(new[]
        {
            Stop(LabSteps.StopNodes, "node(s)", LabLabels.RoleNode),
            Stop(LabSteps.StopServices, "container(s) of NAT64 and DNS64", LabLabels.RoleNat64, LabLabels.RoleDns64),
        }).ConfigureAwait(false);
        runner.Complete(LabSteps.StopServices);
    }

    /// <summary>
    /// Starts whatever is stopped (DNS64, NAT64 and the nodes) and re-applies what a restart loses: tayga's device
    /// routes, every node's resolver, IPv6-only state and routes, and in AAAA mode the host rules. A dependency graph,
    /// <paramref name="parallelism"/> at a time: the nodes start beside DNS64 and NAT64, DNS64 is waited for once it
    /// runs, each container is configured as soon as its own start is done, the host rules go beside; with parallelism
    /// 1 in list order (DNS64, NAT64, the nodes, the wait for DNS64, NAT64's and the nodes' routes, the host rules).
    /// The old state or the new one: a failure or Ctrl-C stops again what this run started (a stopped container keeps
    /// nothing of what was re-applied: routes live in its network namespace, which goes with it).
    /// </summary>
    public async Task StartAsync(string cluster, int parallelism = LabOptions.DefaultParallelism)
    {
        using var held = await LockAsync(cluster, "Start-DindCluster").ConfigureAwait(false);
        var (info, plan) = await RequireAsync(cluster).ConfigureAwait(false);
        var containers = await ContainersAsync(cluster).ConfigureAwait(false);
        var stopped = containers.Where(c => !c.Running).ToList();
        var services = new[] { LabLabels.RoleDns64, LabLabels.RoleNat64 }.SelectMany(role => stopped.Where(c => Role(c) == role)).ToList();
        var nodes = stopped.Where(c => Role(c) == LabLabels.RoleNode).ToList();
        // Each start of this run, awaited by what configures that container (the routes step runs beside the starts).
        var starts = services.Concat(nodes).ToDictionary(c => c.Id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var runner = new StepRunner("Start-DindCluster", _ctx, AfterStep);
        var journal = runner.Journal;
        async Task StartAllAsync(IReadOnlyList<ContainerInfo> which, StepScope scope)
        {
            var started = 0;
            await Parallel.ForEachAsync(which, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = scope.Cancellation },
                async (c, _) =>
                {
                    // Recorded before the start: a start whose answer is lost still started the container.
                    journal.Record($"start of {c.Name}", t => StopAgainAsync(cluster, c, t));
                    await _docker.StartContainerAsync(c.Id, scope.Cancellation).ConfigureAwait(false);
                    starts[c.Id].TrySetResult();
                    Log.Verbose($"Started {c.Name}.");
                    var done = Interlocked.Increment(ref started);
                    scope.Report($"{done} of {which.Count} started ({c.Name})", done, which.Count);
                }).ConfigureAwait(false);
        }
        var beside = Array.Empty<string>();
        // DNS64 and NAT64 start in a step of their own, which the wait for DNS64 follows: only the routes step waits
        // inside itself for the work of another, so any parallelism of 2 or more leaves a slot for the starts.
        var steps = new List<LabStep>
        {
            new(LabSteps.StartContainers, $"starting {services.Count} stopped container(s) of DNS64 and NAT64", 10, scope => StartAllAsync(services, scope)),
            new(LabSteps.Nodes, $"starting {nodes.Count} stopped node(s)", 30, scope => StartAllAsync(nodes, scope)) { After = beside },
            new(LabSteps.Dns64, "waiting for DNS64 (bind9) to answer", 10, async scope =>
            {
                var dns64 = containers.FirstOrDefault(c => Role(c) == LabLabels.RoleDns64);
                if (dns64 is not null) await WaitForDns64Async(dns64.Id, TimeSpan.FromSeconds(60), scope.Cancellation).ConfigureAwait(false);
            }) { After = new[] { LabSteps.StartContainers } },
            new(LabSteps.Routes, "re-applying NAT64's device routes and every node's resolver and routes, each once it runs", 40, scope =>
                SyncRoutesUnlockedAsync(cluster, null, parallelism, scope.Cancellation, id => starts.TryGetValue(id, out var start) ? start.Task : null)) { After = beside },
            new(LabSteps.HostRules, info.AllowAaaa ? "re-applying the host rules of AAAA mode" : "none (DNS64 mode)", 10, async scope =>
            {
                if (info.AllowAaaa && DockerIsLocal && await HostRuleCommentAsync(cluster).ConfigureAwait(false) is { } comment)
                    await _firewall.EnsureAsync(HostFirewall.AaaaModeRules(comment, plan.ManagementPrefix), scope.Cancellation).ConfigureAwait(false);
                else if (info.AllowAaaa)
                    Log.Warning($"'{cluster}' is in AAAA mode, but Docker runs at {_docker.Endpoint}: its host ip6tables rules are not re-applied from this machine.");
            }) { After = beside },
        };
        try
        {
            await runner.RunAsync(steps, parallelism).ConfigureAwait(false);
            // A Ctrl-C that came with the last step still counts: "stopped" means the lab is as it was.
            Ct.ThrowIfCancellationRequested();
            journal.Commit();
            runner.Complete(LabSteps.HostRules);
        }
        catch (Exception ex)
        {
            Log.Warning($"Start-DindCluster '{cluster}' failed or was stopped during step '{runner.FailedStep}' ({ex.Message}); stopping again the container(s) it started.");
            await runner.RollBackAsync(StartRollbackBudget).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>How long Start-DindCluster's rollback (stopping again what it started) may take.</summary>
    private static readonly TimeSpan StartRollbackBudget = TimeSpan.FromSeconds(60);

    /// <summary>Stops a container Start-DindCluster started; a failure is named with the command that finishes the job.</summary>
    private async Task StopAgainAsync(string cluster, ContainerInfo c, CancellationToken ct)
    {
        try { await _docker.StopContainerAsync(c.Id, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false); }
        catch (Exception stopError) when (stopError is DindException or OperationCanceledException)
        {
            Log.Warning($"Could not stop {c.Name} again ({stopError.Message}); Stop-DindCluster {cluster} stops it.");
        }
    }

    // ---------------------------------------------------------------- nodes

    /// <summary>
    /// Adds nodes after the highest index and routes every node (one exec each): the new ones as each starts, the
    /// existing ones to the new pod prefixes beside that. Under the cluster's lock: two runs would otherwise pick the
    /// same indices, and a reset running meanwhile would remove what this one adds. The old state or the new one: a
    /// failure or Ctrl-C removes the new containers and gives the existing nodes their routes back.
    /// </summary>
    public async Task<IReadOnlyList<DindNode>> AddNodesAsync(string cluster, int count, LabOptions options)
    {
        using var held = await LockAsync(cluster, "Add-DindNode", options.LockWait).ConfigureAwait(false);
        var (info, plan) = await RequireAsync(cluster).ConfigureAwait(false);
        var existing = (await GetNodesAsync(cluster).ConfigureAwait(false)).ToList();
        var first = existing.Count == 0 ? 1 : existing.Max(n => n.Index) + 1;
        var last = first + count - 1;
        var grown = info.Spec.Clone();
        grown.Nodes = Math.Max(info.Spec.Nodes, last);
        var problems = SpecValidator.Validate(grown).Where(p => p.ParameterName == "Nodes").ToList();
        if (problems.Count > 0)
            throw new DindException(problems[0].ErrorId, problems[0].Category, problems[0].Message, count, "Nodes", problems[0].RecommendedAction); // "Nodes: …", Add-DindNode's -Nodes
        var indices = existing.Select(n => n.Index).Concat(Enumerable.Range(first, count)).ToHashSet();
        var newPlan = EffectivePlan(info.Spec, indices);
        var images = await ResolveImagesAsync(info.Spec).ConfigureAwait(false);
        var kubernetes = info.NetworkOnly ? null
            : await NodeImageInspector.InspectAsync(_docker, images.Node, cluster, null, Ct, fallbackVersion: info.KubernetesVersion).ConfigureAwait(false);
        if (kubernetes is not null && info.Spec.Cni == "calico")
            options = options with { Calico = await PrepareCalicoAsync(info.Spec, newPlan).ConfigureAwait(false) };
        var runner = new StepRunner("Add-DindNode", _ctx, AfterStep);
        var journal = runner.Journal;
        try
        {
            var added = newPlan.NodeAddresses.Where(n => n.Index >= first).ToList();
            var ids = new System.Collections.Concurrent.ConcurrentDictionary<int, string>();
            var running = existing.Where(n => n.State == "running").ToList();
            // A dependency graph: the new nodes start and each is routed as soon as it runs (StartAndRouteSteps); the
            // existing nodes learn the new pod prefixes beside them (their routes need only the plan made above: a
            // gateway on the lab's network is on-link whether or not its node runs yet); the joins wait for the new
            // nodes' routes. With parallelism 1 they run in list order: nodes, routes, kubeadm-join, route-existing.
            var (nodes, routes) = StartAndRouteSteps(info.Spec, newPlan, added, images.Node, kubernetes, publishApiServer: false,
                options.Parallelism, journal, ids, Array.Empty<string>());
            var steps = new List<LabStep> { nodes, routes };
            if (kubernetes is not null)
                steps.Add(new(LabSteps.KubeadmJoin, $"joining {added.Count} node(s)", 30, _ =>
                    JoinAddedNodesAsync(cluster, info.Spec, newPlan, added, ids, kubernetes, options)) { After = new[] { LabSteps.Routes } });
            steps.Add(new(LabSteps.RouteExisting, $"routing {existing.Count} existing node(s) to the new pod prefixes", 10, async scope =>
            {
                // Undone by applying the plan the existing nodes had before.
                journal.Record($"routes of {existing.Count} existing node(s)", ct => new DindLab(_docker, _ctx with { Cancellation = ct }, _firewall)
                    .ApplyRoutesAsync(running, plan, options.Parallelism, ct));
                await ApplyRoutesAsync(running, newPlan, options.Parallelism, scope.Cancellation).ConfigureAwait(false);
                foreach (var node in running) Log.Verbose($"Routes of {node.NodeName} applied.");
            }) { After = Array.Empty<string>() });
            await runner.RunAsync(steps, options.Parallelism, from: 5).ConfigureAwait(false);
            var result = (await GetNodesAsync(cluster).ConfigureAwait(false)).Where(n => n.Index >= first).ToList();
            // A Ctrl-C with the work done still undoes it: the caller is told "stopped" only when nothing changed.
            Ct.ThrowIfCancellationRequested();
            journal.Commit();
            runner.Complete(LabSteps.RouteExisting);
            return result;
        }
        catch
        {
            await runner.RollBackAsync(options.RollbackBudget).ConfigureAwait(false);
            // A create whose answer was lost made a container the journal never heard of: the indices are this run's
            // (chosen under the lock), so a node container of this cluster with one of them is provably ours.
            await RemoveAddedNodesAsync(cluster, first, last, options.RollbackBudget).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Applies <paramref name="plan"/>'s routes and settings to <paramref name="nodes"/> (reconciling: routes not in the plan go).</summary>
    private Task ApplyRoutesAsync(IReadOnlyList<DindNode> nodes, AddressPlan plan, int parallelism, CancellationToken ct) =>
        ForEachNodeAsync(plan.NodeAddresses.Where(a => nodes.Any(n => n.Index == a.Index)), parallelism, ct,
            address => ConfigureNodeAsync(nodes.First(n => n.Index == address.Index).ContainerId, plan, address, ct, reconcile: true));

    /// <summary>Removes node containers of <paramref name="cluster"/> whose index lies in [first, last], on a budget of its own.</summary>
    private async Task RemoveAddedNodesAsync(string cluster, int first, int last, TimeSpan budget)
    {
        using var cts = new CancellationTokenSource(budget);
        try
        {
            var stray = (await _docker.ListContainersAsync(LabLabels.ClusterFilter(cluster), cts.Token).ConfigureAwait(false))
                .Where(c => Role(c) == LabLabels.RoleNode
                    && int.TryParse(c.Labels.GetValueOrDefault(LabLabels.NodeIndex), NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i >= first && i <= last)
                .ToList();
            foreach (var c in stray)
            {
                await _docker.RemoveContainerAsync(c.Id, cts.Token).ConfigureAwait(false);
                Log.Verbose($"Removed {c.Name}: its create had reached the daemon, its answer had not.");
            }
        }
        catch (Exception ex) when (ex is DindException or OperationCanceledException)
        {
            Log.Warning($"Could not check for node containers this run made before an answer was lost: {ex.Message}. " +
                        $"Get-DindNode {cluster} lists them; Remove-DindNode removes one.");
        }
    }

    /// <summary>
    /// Removes one node and the routes to its pod prefix from the others (under the cluster's lock). The others'
    /// routes change first, undone (by the plan they had) when the removal fails or is stopped, so a failure leaves
    /// the node and the routes as they were; a removal whose answer was lost but which was done counts as done.
    /// </summary>
    public async Task RemoveNodeAsync(string cluster, string nodeName)
    {
        LabInput.NodeName(LabInput.ClusterName(cluster), nodeName);
        using var held = await LockAsync(cluster, "Remove-DindNode").ConfigureAwait(false);
        var (info, plan) = await RequireAsync(cluster).ConfigureAwait(false);
        var nodes = await GetNodesAsync(cluster, plan).ConfigureAwait(false);
        var node = nodes.FirstOrDefault(n => n.NodeName == nodeName)
            ?? throw LabErrors.NodeNotFound(cluster, nodeName);
        if (!info.NetworkOnly && node.Index == 1)
            throw new DindException(ErrorIds.ControlPlaneNodeRemoval, DindErrorCategory.InvalidOperation,
                $"NodeName: {nodeName} is the control-plane node of Kubernetes lab '{cluster}'; without it the cluster has no API server.", nodeName, "NodeName",
                $"Remove a worker, or rebuild the lab: Reset-DindCluster {cluster} (same addresses) or Remove-DindCluster {cluster}.");
        var others = nodes.Where(n => n.NodeName != nodeName && n.State == "running").ToList();
        var without = EffectivePlan(info.Spec, nodes.Where(n => n.NodeName != nodeName).Select(n => n.Index).ToHashSet());
        var runner = new StepRunner("Remove-DindNode", _ctx, AfterStep);
        var journal = runner.Journal;
        var steps = new List<LabStep>
        {
            new(LabSteps.Routes, $"routing {others.Count} other node(s) without {nodeName}", 40, async _ =>
            {
                journal.Record($"routes of {others.Count} other node(s)", ct => new DindLab(_docker, _ctx with { Cancellation = ct }, _firewall)
                    .ApplyRoutesAsync(others, plan, LabOptions.DefaultParallelism, ct));
                await ApplyRoutesAsync(others, without, LabOptions.DefaultParallelism, Ct).ConfigureAwait(false);
                foreach (var other in others) Log.Verbose($"Routes of {other.NodeName} applied (without {nodeName}).");
            }),
        };
        // The API server forgets the node first, as kubectl delete node would; a failure there is reported, not
        // fatal. This one is not undone: if the container's removal then fails, the node stays unregistered until its
        // kubelet registers again (Reset-DindCluster, or a restart of the node).
        if (!info.NetworkOnly)
            steps.Add(new(LabSteps.KubernetesNode, $"deleting the Kubernetes node object {nodeName}", 20, _ => DeleteKubernetesNodeAsync(cluster, nodeName)));
        steps.Add(new(LabSteps.RemoveNodes, $"removing {nodeName}", 40, async _ =>
        {
            try
            {
                await _docker.RemoveContainerAsync(node.ContainerId, Ct).ConfigureAwait(false);
            }
            catch (DindException ex)
            {
                if (await ContainerExistsAsync(cluster, node.ContainerId).ConfigureAwait(false)) throw;
                Log.Verbose($"Removing {nodeName} reported '{ex.Message}', but it is gone.");
            }
        }));
        try
        {
            await runner.RunAsync(steps).ConfigureAwait(false);
            journal.Commit();
            runner.Complete(LabSteps.RemoveNodes);
            Log.Verbose($"Removed node {nodeName}.");
        }
        catch
        {
            await runner.RollBackAsync(RemoveNodeRollbackBudget).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>How long Remove-DindNode's rollback (the other nodes' routes) may take; it takes no options.</summary>
    private static readonly TimeSpan RemoveNodeRollbackBudget = TimeSpan.FromSeconds(60);

    /// <summary>Whether a container of the cluster with this ID still exists (true when that cannot be told).</summary>
    private async Task<bool> ContainerExistsAsync(string cluster, string id)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { return (await _docker.ListContainersAsync(LabLabels.ClusterFilter(cluster), cts.Token).ConfigureAwait(false)).Any(c => c.Id == id); }
        catch (Exception ex) when (ex is DindException or OperationCanceledException) { return true; }
    }

    /// <summary>
    /// `kubectl delete node`: the API server forgets the node, so its pods are rescheduled now rather than after
    /// the node-lifecycle timeout. An unreachable API server does not stop the removal; it is reported.
    /// </summary>
    private async Task DeleteKubernetesNodeAsync(string cluster, string nodeName)
    {
        try
        {
            using var api = await ConnectAsync(cluster).ConfigureAwait(false);
            var deleted = await api.DeleteNodeAsync(nodeName, Ct).ConfigureAwait(false);
            Log.Verbose(deleted ? $"Deleted Node {nodeName} from the API server at {api.Server}." : $"Node {nodeName} was not registered with the API server.");
        }
        catch (DindException ex)
        {
            Log.Warning($"Node {nodeName} could not be deleted from the API server ({ex.Message}); its container is removed anyway. " +
                        $"Later: kubectl delete node {nodeName} (Get-DindKubeconfig {cluster}).");
        }
    }
}
