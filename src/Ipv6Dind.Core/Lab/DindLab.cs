using System.Globalization;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Kubernetes;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Images;
using Ipv6Dind.Core.Rendering;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// The lab orchestrator: plan, then named steps over one journal (network, DNS64, NAT64, nodes, routes, host
/// rules, verify), rolled back in reverse on any failure or Ctrl-C (kind's create.go, with undo). Docker is the
/// only state: everything is found again by its labels.
/// </summary>
public sealed partial class DindLab
{
    private readonly IDockerApi _docker;
    private readonly OperationContext _ctx;
    private readonly HostFirewall _firewall;

    public DindLab(IDockerApi docker, OperationContext context, HostFirewall? firewall = null)
    {
        // A change that has started is let finish under Ctrl-C (src/Ipv6Dind.Core/Docker/SettlingDockerApi.cs).
        _docker = SettlingDockerApi.Wrap(docker);
        _ctx = context;
        _firewall = firewall ?? new HostFirewall();
    }

    /// <summary>Test seam (integration tests only): called after each completed bring-up step; may throw to inject a failure.</summary>
    internal Func<string, CancellationToken, Task>? AfterStep { get; set; }

    private CancellationToken Ct => _ctx.Cancellation;
    /// <summary>The operation's log (Write-Verbose / Write-Warning in the cmdlets).</summary>
    public IDindLog Log => _ctx.Log;

    // ---------------------------------------------------------------- create

    public async Task<DindCluster> CreateAsync(DindClusterSpec input, LabOptions options)
    {
        var runner = new StepRunner("New-DindCluster", _ctx, AfterStep);
        runner.Report(LabSteps.Preflight, "checking Docker, the spec and the images", 0);
        var daemon = await CheckDaemonAsync().ConfigureAwait(false);
        _daemonId ??= daemon.Id.Length > 0 ? daemon.Id : _docker.Endpoint;
        Log.Verbose($"Docker {daemon.Version} (API {daemon.ApiVersion}) at {_docker.Endpoint}.");

        var name = (input.ClusterName ?? "").Trim();
        // Two runs for one name (a timer and an admin) must not interleave; an invalid name fails in Resolve below.
        using var held = SpecValidator.ClusterNameProblem(name) is null
            ? await LockAsync(name, "New-DindCluster", options.LockWait).ConfigureAwait(false)
            : null;
        // The daemon's address lock, from the overlap check until the network exists: of two creates with
        // overlapping prefixes (of any names), the second sees the first's network and fails with the overlap error.
        ClusterLock? addressLock = null;
        var nothingLeft = true;        // a failure that leaves nothing of the cluster takes its lock file too
        var clusterExisted = false;
        try
        {
        addressLock = await ClusterLock.AcquireDaemonAsync(_daemonId, "New-DindCluster", options.LockWait, Ct).ConfigureAwait(false);
        var environment = await GatherEnvironmentAsync(excludeCluster: null).ConfigureAwait(false);
        if (SpecValidator.ClusterNameProblem(name) is null && await ExistsAsync(name).ConfigureAwait(false))
        {
            clusterExisted = true;
            throw LabErrors.ClusterExists(name);
        }
        if (!DockerIsLocal)
        {
            // This machine's rules and resolvers are not the Docker host's.
            if (input.AllowAaaa) RequireLocalDocker("AAAA mode's host ip6tables rules", true, "AllowAaaa");
            if (!options.NetworkOnly) throw ApiServerOnRemoteHost(name, "NetworkOnly");
            if (input.Dns64Upstream is not { Length: > 0 })
                throw new DindException(ErrorIds.Dns64UpstreamMissing, DindErrorCategory.ObjectNotFound,
                    $"Dns64Upstream: the Docker daemon runs at {_docker.Endpoint}, so this machine's resolvers are not the lab's and none was given.",
                    null, "Dns64Upstream", "Give -Dns64Upstream with a resolver the DNS64 container can reach from the Docker host.");
        }
        var spec = SpecBuilder.Resolve(input, environment);
        var plan = AddressPlanner.PlanValidated(spec, environment);
        if (Nat64Advice.WellKnownPrefixWarning(plan.Nat64Prefix, plan.Dns64Upstream, spec.Subnet) is { } nat64Warning)
            Log.Warning(nat64Warning);
        Log.Verbose($"Plan: management {plan.ManagementPrefix}, DNS64 {plan.Dns64Address}, NAT64 {plan.Nat64Address} ({plan.Nat64Prefix}, pool {plan.Nat64Pool}), {plan.NodeAddresses.Count} node(s), upstream {string.Join(", ", plan.Dns64Upstream)}.");

        var images = await ResolveImagesAsync(spec).ConfigureAwait(false);
        NodeImageFacts? kubernetes = null;
        if (!options.NetworkOnly)
        {
            runner.Report(LabSteps.Preflight, $"inspecting node image {images.Node}", 2);
            kubernetes = await NodeImageInspector.InspectAsync(_docker, images.Node, spec.ClusterName, options.KubernetesVersion, Ct,
                fallbackVersion: input.KubernetesVersion).ConfigureAwait(false);
            if (!SpecDefaults.IsDefaultKubernetesVersion(input.KubernetesVersion) && input.KubernetesVersion.Trim().TrimStart('v') != kubernetes.KubernetesVersion.TrimStart('v'))
                Log.Warning($"The spec says Kubernetes {input.KubernetesVersion.Trim()}, node image {images.Node} has {kubernetes.KubernetesVersion}: the image's is used.");
            spec.KubernetesVersion = kubernetes.KubernetesVersion;
            spec.Cni = ChooseCni(spec.Cni, explicitCni: options.CniExplicit ?? !SpecDefaults.IsDefaultCni(input.Cni), kubernetes);
            if (spec.Cni == "calico") options = options with { Calico = await PrepareCalicoAsync(spec, plan).ConfigureAwait(false) };
            Log.Verbose($"Node image {images.Node}: Kubernetes {kubernetes.KubernetesVersion}, kubeadm at {kubernetes.KubeadmPath}, " +
                (kubernetes.PrivilegedPermitted ? "nodes run --privileged." : "--privileged is refused by this daemon, so nodes get all capabilities but SYS_RESOURCE (its capability bounding set lacks CAP_SYS_RESOURCE)."));
        }
        // The spec of record names the resolvers actually used (the host's, when none was given), so that a later
        // re-render of bind9 (Set-Dns64, Set-Nat64Prefix) forwards where this bring-up did.
        spec.Dns64Upstream = plan.Dns64Upstream.ToArray();
        var specYaml = SpecYaml.Serialize(spec);
        var journal = runner.Journal;
        var ownsName = false; // set once this run made the cluster's network: from then on, what carries the name is ours
        var operation = Guid.NewGuid().ToString("N");
        string networkId = "";
        try
        {
            await runner.MarkDoneAsync(LabSteps.Preflight).ConfigureAwait(false);
            // A dependency graph: every address is planned, so once the network exists DNS64, NAT64, the host rules
            // and the nodes start side by side, and each node is routed as soon as it runs (NodeSteps).
            var network = new LabStep(LabSteps.Network, $"creating network {LabNames.Network(spec.ClusterName)} ({plan.ManagementPrefix})", 10, async scope =>
            {
                var networkLabels = LabLabels.For(spec.ClusterName, LabLabels.RoleNetwork);
                // This run's mark: a create whose answer is lost (a dropped connection, Ctrl-C) still made the
                // network, and the rollback finds it by this label when the journal could not record it.
                networkLabels[LabLabels.Operation] = operation;
                if (kubernetes is null) networkLabels[LabLabels.NetworkOnly] = "true";
                else networkLabels[LabLabels.Kubernetes] = kubernetes.KubernetesVersion;
                try
                {
                    networkId = await _docker.CreateNetworkAsync(new NetworkSpec(LabNames.Network(spec.ClusterName), plan.ManagementPrefix, plan.ManagementGateway, networkLabels) { Mtu = plan.Mtu }, scope.Cancellation).ConfigureAwait(false);
                }
                catch (DindException ex) when (ex.ErrorId == ErrorIds.DockerConflict)
                {
                    throw LabErrors.ClusterExists(spec.ClusterName); // lost a race with another New-DindCluster of the same name
                }
                var id = networkId;
                journal.Record($"network {LabNames.Network(spec.ClusterName)}", t => _docker.RemoveNetworkAsync(id, t));
                ownsName = true;
                addressLock.Dispose();   // the network now holds the prefixes: later creates see it
                addressLock = null;
            });
            var afterNetwork = new[] { LabSteps.Network };
            var services = new List<LabStep>
            {
                new(LabSteps.Dns64, $"starting DNS64 (bind9) at {plan.Dns64Address}", 10, async scope =>
                {
                    var dns64 = await CreateAndStartAsync(LabContainers.Dns64(spec, plan, images.Dns64, specYaml), journal, scope.Cancellation,
                        (LabContainers.Dns64Config, LabContainers.Bind9(plan).Content)).ConfigureAwait(false);
                    await WaitForDns64Async(dns64, options.ReadyTimeout, scope.Cancellation, plan.Dns64Address).ConfigureAwait(false);
                }) { After = afterNetwork },
                new(LabSteps.Nat64, $"starting NAT64 (tayga) at {plan.Nat64Address}", 10, async scope =>
                {
                    var nat64 = await CreateAndStartAsync(LabContainers.Nat64(spec, plan, images.Nat64), journal, scope.Cancellation,
                        (LabContainers.Nat64Config, LabContainers.Tayga(plan).Content)).ConfigureAwait(false);
                    await ConfigureNat64Async(nat64, plan, options.ReadyTimeout, scope.Cancellation).ConfigureAwait(false);
                }) { After = afterNetwork },
            };
            var hostRules = new LabStep(LabSteps.HostRules, spec.AllowAaaa ? "adding the host's ip6tables rules for direct IPv6 egress (AAAA mode)" : "none (DNS64 mode)", 2, async scope =>
            {
                if (!spec.AllowAaaa) return;
                var comment = LabNames.HostRuleComment(spec.ClusterName, networkId);
                journal.Record("host rules", t => _firewall.RemoveByCommentAsync(comment, t));
                await _firewall.EnsureAsync(HostFirewall.AaaaModeRules(comment, plan.ManagementPrefix), scope.Cancellation).ConfigureAwait(false);
            }) { After = afterNetwork };
            var steps = new List<LabStep> { network };
            steps.AddRange(services);
            steps.AddRange(NodeSteps(spec, plan, images.Node, kubernetes, options, journal, LabSteps.Network, services, hostRules));
            await runner.RunAsync(steps, options.Parallelism, from: 3).ConfigureAwait(false);

            // A Ctrl-C with the last step still undoes everything: the caller is told "stopped" only when nothing is left.
            Ct.ThrowIfCancellationRequested();
            journal.Commit();
            runner.Complete(LabSteps.Verify);
            return (await GetClustersAsync(spec.ClusterName).ConfigureAwait(false)).Single();
        }
        catch (Exception ex)
        {
            var step = runner.FailedStep;
            var cancelled = ex is OperationCanceledException && Ct.IsCancellationRequested;
            Log.Warning(cancelled
                ? $"New-DindCluster '{spec.ClusterName}' was stopped during step '{step}'; removing the {journal.Count} object(s) created so far."
                : $"New-DindCluster '{spec.ClusterName}' failed during step '{step}'; removing the {journal.Count} object(s) created so far.");
            ownsName = ownsName || await MadeNetworkAsync(operation).ConfigureAwait(false);
            var left = await RollBackAndSweepAsync(journal, spec.ClusterName, ownsName, options.RollbackBudget).ConfigureAwait(false);
            nothingLeft = left.Count == 0;
            if (cancelled) throw;
            var outcome = left.Count == 0
                ? " Everything it had created was removed."
                : $" Not removed: {string.Join(", ", left)}; Remove-DindCluster {spec.ClusterName} removes them.";
            throw StepFailed(ex, $"Step '{step}'", $"New-DindCluster '{spec.ClusterName}'", spec.ClusterName, left.Count == 0 ? "" : outcome, outcome);
        }
        }
        catch when (!clusterExisted && nothingLeft)
        {
            // Nothing of the cluster is left: neither is its lock file (held until this method returns).
            held?.DeleteFile();
            throw;
        }
        finally
        {
            addressLock?.Dispose();
        }
    }

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

    /// <summary>
    /// A failed step's error, naming the step: a DindException keeps its id and gets <paramref name="step"/> in front
    /// (and <paramref name="dindTrailer"/> after); anything else becomes ClusterBringUpFailed.
    /// </summary>
    private static DindException StepFailed(Exception ex, string step, string operation, string cluster, string dindTrailer, string trailer) =>
        ex is DindException dind
            ? new DindException(dind.ErrorId, dind.Category, $"{step}: {dind.Message}{dindTrailer}", dind.Target, dind.ParameterName, dind.RecommendedAction, dind)
            : new DindException(ErrorIds.ClusterBringUpFailed, DindErrorCategory.InvalidOperation,
                $"{step} of {operation} failed: {ex.Message}.{trailer}", cluster, inner: ex);

    /// <summary>
    /// Undoes a failed bring-up: the journal first (newest first), then, when this run owns the cluster's name, a sweep
    /// of whatever still carries the cluster's label (a container whose create reached the daemon but whose answer was
    /// lost to Ctrl-C has no journal entry). Both run on their own bounded time. Returns what is still there.
    /// </summary>
    private async Task<IReadOnlyList<string>> RollBackAndSweepAsync(Journal journal, string cluster, bool ownsName, TimeSpan budget)
    {
        var failed = await journal.RollBackAsync(budget).ConfigureAwait(false);
        if (!ownsName) return failed;
        using var cts = new CancellationTokenSource(budget);
        var cleanup = new DindLab(_docker, _ctx with { Cancellation = cts.Token }, _firewall);
        try
        {
            var swept = await cleanup.RemoveUnlockedAsync(cluster).ConfigureAwait(false);
            if (swept > 0) Log.Warning($"Removed {swept} more object(s) labelled with cluster '{cluster}' that the rollback journal did not list.");
            return await cleanup.LeftoversAsync(cluster).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.Warning($"Sweeping what is left of '{cluster}' failed: {ex.Message}");
            return failed.Count > 0 ? failed : new[] { $"objects labelled with cluster '{cluster}' (the sweep failed: {ex.Message})" };
        }
    }

    /// <summary>Whether a network carrying this run's operation label exists (its create reached the daemon, its answer did not).</summary>
    private async Task<bool> MadeNetworkAsync(string operation)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            var mine = new Dictionary<string, string> { [LabLabels.Operation] = operation };
            return (await _docker.ListNetworksAsync(mine, cts.Token).ConfigureAwait(false)).Count > 0;
        }
        catch (Exception ex) when (ex is DindException or OperationCanceledException)
        {
            Log.Warning($"Could not check for a network this run made before its answer was lost: {ex.Message}");
            return false;
        }
    }

    /// <summary>Containers, volumes and networks that still carry the cluster's label.</summary>
    internal async Task<IReadOnlyList<string>> LeftoversAsync(string cluster)
    {
        var filter = LabLabels.ClusterFilter(cluster);
        var left = new List<string>();
        left.AddRange((await _docker.ListContainersAsync(filter, Ct).ConfigureAwait(false)).Select(c => $"container {c.Name}"));
        left.AddRange((await _docker.ListVolumesAsync(filter, Ct).ConfigureAwait(false)).Select(v => $"volume {v}"));
        left.AddRange((await _docker.ListNetworksAsync(filter, Ct).ConfigureAwait(false)).Select(n => $"network {n.Name}"));
        return left;
    }

    private async Task StepDone(string step)
    {
        Log.Verbose($"Step '{step}' done.");
        if (AfterStep is not null) await AfterStep(step, Ct).ConfigureAwait(false);
    }

    private void Report(string step, string status, int percent, bool completed = false) =>
        _ctx.Progress.Report(new DindProgress(_activity, $"{step}: {status}", percent, Completed: completed));

    /// <summary>The operation progress records are reported under.</summary>
    private string _activity = "New-DindCluster";

    private async Task<DaemonInfo> CheckDaemonAsync()
    {
        var daemon = await _docker.GetDaemonInfoAsync(Ct).ConfigureAwait(false);
        if (daemon.IsDockerDesktop)
            throw new DindException(ErrorIds.DockerDesktopUnsupported, DindErrorCategory.NotImplemented,
                $"Docker at {_docker.Endpoint} is Docker Desktop, whose VM gives containers no usable IPv6 (as on macOS).", _docker.Endpoint, null,
                "Run Ipv6Dind on a Linux host with Docker Engine, e.g. in a Linux VM.");
        if (Version.TryParse(daemon.Version.Split('+', '-')[0], out var v) && v < new Version(20, 10))
            throw new DindException(ErrorIds.DockerVersionUnsupported, DindErrorCategory.NotInstalled,
                $"Docker {daemon.Version} at {_docker.Endpoint} is too old: IPv6 networks with ip6tables need 20.10 or later.", daemon.Version, null,
                "Upgrade Docker Engine to 20.10 or later.");
        return daemon;
    }

    private sealed record Images(string Dns64, string Nat64, string Node);

    private async Task<Images> ResolveImagesAsync(DindClusterSpec spec)
    {
        var node = string.IsNullOrEmpty(spec.NodeImage) ? ImageBuilder.ReferenceFor("node") : spec.NodeImage;
        var wanted = new[] { ImageBuilder.ReferenceFor("dns64"), ImageBuilder.ReferenceFor("nat64"), node };
        foreach (var reference in wanted)
            if (await _docker.InspectImageAsync(reference, Ct).ConfigureAwait(false) is null)
                throw new DindException(ErrorIds.ImageNotFound, DindErrorCategory.ObjectNotFound,
                    $"Image '{reference}' is not present on Docker at {_docker.Endpoint} (images are never pulled).", reference, null,
                    reference == node && !string.IsNullOrEmpty(spec.NodeImage)
                        ? "Build or load the node image first."
                        : "Build the lab images once with Build-DindImage.");
        return new Images(wanted[0], wanted[1], node);
    }

    private async Task<string> CreateAndStartAsync(ContainerSpec spec, Journal journal, CancellationToken ct, params (string Path, string Content)[] files)
    {
        var id = await CreateReplacingAbandonedAsync(spec, ct).ConfigureAwait(false);
        journal.Record($"container {spec.Name}", t => _docker.RemoveContainerAsync(id, t));
        foreach (var (path, content) in files)
            await _docker.PutFileAsync(id, path, content, 420, ct).ConfigureAwait(false);
        await _docker.StartContainerAsync(id, ct).ConfigureAwait(false);
        Log.Verbose($"Started {spec.Name} ({spec.Image}) at {spec.Ipv6Address}.");
        return id;
    }

    /// <summary>
    /// Creates a container of the lab. When its name is taken by a container of the same cluster and role - what an
    /// interrupted create of an earlier attempt left (its answer lost to Ctrl-C or a dropped connection; the daemon
    /// may finish it a moment later) - that one is removed and the create tried again, a few times at most. A name
    /// taken by anything else stays a conflict.
    /// </summary>
    private async Task<string> CreateReplacingAbandonedAsync(ContainerSpec spec, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _docker.CreateContainerAsync(spec, ct).ConfigureAwait(false);
            }
            catch (DindException ex) when (ex.ErrorId == ErrorIds.DockerConflict && attempt < 4)
            {
                var taken = await _docker.InspectContainerAsync(spec.Name, ct).ConfigureAwait(false);
                if (taken is not null && (taken.Labels.GetValueOrDefault(LabLabels.Cluster) != spec.Labels.GetValueOrDefault(LabLabels.Cluster)
                                          || taken.Labels.GetValueOrDefault(LabLabels.Role) != spec.Labels.GetValueOrDefault(LabLabels.Role)))
                    throw;
                if (taken is not null)
                {
                    Log.Verbose($"Removing {spec.Name} ({taken.Id[..Math.Min(12, taken.Id.Length)]}), left by an interrupted create, before creating it again.");
                    try { await _docker.RemoveContainerAsync(taken.Id, ct).ConfigureAwait(false); }
                    catch (DindException gone) when (gone.Category is DindErrorCategory.ObjectNotFound) { }
                }
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task WaitForDns64Async(string id, TimeSpan timeout, CancellationToken ct, string? address = null)
    {
        // A local daemon's lab network is a bridge of this host: ask named directly (no exec), from here.
        if (address is not null && DockerIsLocal && System.Net.IPAddress.TryParse(address, out var server))
        {
            await WaitUntilAsync("DNS64 (bind9) to answer", timeout, () => VersionBindQuery.AskAsync(server, TimeSpan.FromSeconds(1), ct), ct).ConfigureAwait(false);
            return;
        }
        // version.bind CH TXT is answered by named itself, so readiness does not depend on the upstream.
        await WaitUntilAsync("DNS64 (bind9) to answer", timeout, async () =>
            (await _docker.ExecAsync(id, new[] { "dig", "+time=1", "+tries=1", "@::1", "version.bind", "CH", "TXT" }, null, null, ct).ConfigureAwait(false)).Succeeded, ct)
            .ConfigureAwait(false);
    }

    private async Task ConfigureNat64Async(string id, AddressPlan plan, TimeSpan timeout, CancellationToken ct)
    {
        var tools = await ToolsAsync(id, "NAT64", fromHost: true, ct).ConfigureAwait(false);
        // tayga creates its tun device when it starts; route into it once it is there.
        await WaitUntilAsync("NAT64 (tayga) to create its device", timeout, async () =>
            (await tools.Run("ip", new[] { "-batch", "-" }, LabContainers.Nat64Batch(plan), ct).ConfigureAwait(false)).Succeeded, ct)
            .ConfigureAwait(false);
        await EnsureIptablesRuleAsync(tools, "iptables", LabContainers.Nat64MasqueradeRule(plan), ct).ConfigureAwait(false);
    }

    /// <summary>Adds a rule in a container unless it is there (-C), so a re-sync after a restart adds it once.</summary>
    private static async Task EnsureIptablesRuleAsync(ContainerTools tools, string tool, string[] appendRule, CancellationToken ct)
    {
        var check = appendRule.Select(a => a == "-A" ? "-C" : a).ToArray();
        if ((await tools.Run(tool, check, null, ct).ConfigureAwait(false)).Succeeded) return;
        await RunCheckedAsync(tools, tool, appendRule, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Resolver, IPv6-only state and routes of one node in one `ip -batch` run. With <paramref name="reconcile"/>
    /// the node's table is read first (one more run) and routes of ours that the plan no longer has (a removed
    /// node, an old NAT64 prefix) are deleted in the same batch; a fresh node has none, so bring-up skips the read.
    /// <paramref name="fromHost"/>: a fresh network-lab node is set up from the host where it can be (no exec).
    /// </summary>
    private async Task ConfigureNodeAsync(string id, AddressPlan plan, NodeAddress node, CancellationToken ct, bool reconcile = false, bool fromHost = false)
    {
        var tools = await ToolsAsync(id, node.NodeName, fromHost && !reconcile, ct).ConfigureAwait(false);
        var resolv = await tools.WriteResolver(LabContainers.ResolvConf(plan), ct).ConfigureAwait(false);
        if (!resolv.Succeeded)
            throw new DindException(ErrorIds.ExecFailed, DindErrorCategory.InvalidOperation,
                $"Writing the resolver of {node.NodeName} failed: {resolv.StandardError.Trim()}", node.NodeName);
        var stale = Array.Empty<string>();
        if (reconcile)
        {
            var table = await tools.Run("ip", new[] { "-6", "route", "show" }, null, ct).ConfigureAwait(false);
            stale = LabContainers.StaleRoutes(plan, node, table.StandardOutput).ToArray();
        }
        var batch = await tools.Run("ip", new[] { "-batch", "-" }, LabContainers.RouteBatch(plan, node, stale), ct).ConfigureAwait(false);
        if (!batch.Succeeded)
            throw new DindException(ErrorIds.ExecFailed, DindErrorCategory.InvalidOperation,
                $"Routing {node.NodeName} failed: {batch.StandardError.Trim()}", node.NodeName);
        if (reconcile)
            await EnsureIptablesRuleAsync(tools, "ip6tables", LabContainers.PodMasqueradeRule(plan), ct).ConfigureAwait(false);
        else
            await RunCheckedAsync(tools, "ip6tables", LabContainers.PodMasqueradeRule(plan), ct).ConfigureAwait(false); // a fresh node has no rules to check for
    }

    /// <summary>
    /// How the lab runs a tool (ip, iptables, ip6tables) in one of its containers and rewrites its resolver: through
    /// docker exec, or from the host (<see cref="ToolsAsync"/>).
    /// </summary>
    private sealed record ContainerTools(
        string What,
        Func<string, string[], string?, CancellationToken, Task<ExecResult>> Run,
        Func<string, CancellationToken, Task<ExecResult>> WriteResolver);

    /// <summary>
    /// The tools of container <paramref name="id"/>. With <paramref name="fromHost"/>, for a daemon that is provably
    /// this machine's and a root process, the host's own binaries in the container's network namespace and its
    /// resolver file rewritten in place (src/Ipv6Dind.Core/Host/ContainerNetns.cs); otherwise, or when that cannot be
    /// used safely (the reason goes to the verbose stream), docker exec.
    /// </summary>
    private async Task<ContainerTools> ToolsAsync(string id, string what, bool fromHost, CancellationToken ct)
    {
        if (fromHost && DockerIsLocal && await _docker.InspectContainerAsync(id, ct).ConfigureAwait(false) is { } info)
        {
            if (ContainerNetns.For(info, _firewall.Runner, out var why) is { } netns && ContainerNetns.Tools() is { } host)
            {
                var paths = new Dictionary<string, string>(StringComparer.Ordinal) { ["ip"] = host.Ip, ["ip6tables"] = host.Ip6Tables, ["iptables"] = host.IpTables };
                return new ContainerTools(what, (tool, arguments, stdin, t) => netns.RunAsync(paths[tool], arguments, stdin, t), (content, _) =>
                {
                    netns.WriteResolver(content);
                    return Task.FromResult(new ExecResult(0, "", ""));
                });
            }
            Log.Verbose($"Configuring {info.Name} through docker exec: {why}.");
        }
        return new ContainerTools(what,
            (tool, arguments, stdin, t) => _docker.ExecAsync(id, new[] { tool }.Concat(arguments).ToArray(), stdin, null, t),
            // Docker bind-mounts its own resolv.conf, which the archive API cannot replace (it unlinks); rewriting the
            // file in place through tee's standard input works, with no shell involved.
            (content, t) => _docker.ExecAsync(id, new[] { "tee", "/etc/resolv.conf" }, content, null, t));
    }

    private static async Task RunCheckedAsync(ContainerTools tools, string tool, string[] arguments, CancellationToken ct)
    {
        var result = await tools.Run(tool, arguments, null, ct).ConfigureAwait(false);
        if (!result.Succeeded)
            throw new DindException(ErrorIds.ExecFailed, DindErrorCategory.InvalidOperation,
                $"{tool} {string.Join(' ', arguments)} failed in {tools.What}: {result.StandardError.Trim()}", tools.What);
    }

    private async Task VerifyNodeResolverAsync(string nodeId, AddressPlan plan, NodeImageFacts? image, CancellationToken ct)
    {
        if (image is { HasDig: false })
        {
            // kindest/node has no dig: the node's resolver file and its route to DNS64 are what can be checked.
            var route = await _docker.ExecAsync(nodeId, new[] { "ip", "-6", "route", "get", plan.Dns64Address }, null, null, ct).ConfigureAwait(false);
            if (!route.Succeeded)
                throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.ConnectionError,
                    $"The first node has no route to its DNS64 at {plan.Dns64Address}: {route.StandardError.Trim()}", plan.Dns64Address);
            Log.Verbose($"Node image {image.Image} has no dig; checked the route to DNS64 {plan.Dns64Address} instead of a query.");
            return;
        }
        // The node reaches its DNS64 over IPv6 only; named answers version.bind itself, whatever the upstream does.
        var dig = await _docker.ExecAsync(nodeId, new[] { "dig", "+time=2", "+tries=3", $"@{plan.Dns64Address}", "version.bind", "CH", "TXT" }, null, null, ct).ConfigureAwait(false);
        if (!dig.Succeeded)
            throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.ConnectionError,
                $"The first node cannot reach its DNS64 at {plan.Dns64Address}: {dig.StandardOutput.Trim()} {dig.StandardError.Trim()}", plan.Dns64Address);
    }

    private async Task WaitUntilAsync(string what, TimeSpan timeout, Func<Task<bool>> probe, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (await probe().ConfigureAwait(false)) return;
            if (DateTime.UtcNow >= deadline)
                throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.OperationTimeout,
                    $"Timed out after {timeout.TotalSeconds:F0} s waiting for {what}.", what, null, "Export-DindLog shows the container's log.");
            await Task.Delay(delay, ct).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(1000, delay.TotalMilliseconds * 2));
        }
    }

    private static async Task ForEachNodeAsync(IEnumerable<NodeAddress> nodes, int parallelism, CancellationToken ct, Func<NodeAddress, Task> work)
    {
        await Parallel.ForEachAsync(nodes, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct },
            async (node, _) => await work(node).ConfigureAwait(false)).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- what is there

    /// <summary>What validation must not overlap: the host's addresses and routes, Docker's networks, other clusters.</summary>
    public async Task<PlanEnvironment> GatherEnvironmentAsync(string? excludeCluster)
    {
        var host = HostNetworkFacts.Read();
        var reserved = new List<ReservedRange>();
        foreach (var network in await _docker.ListNetworksAsync(null, Ct).ConfigureAwait(false))
        {
            network.Labels.TryGetValue(LabLabels.Cluster, out var owner);
            if (owner is not null && owner == excludeCluster) continue;
            foreach (var subnet in network.Subnets)
                reserved.Add(owner is null
                    ? new ReservedRange(subnet, ReservationKind.DockerNetwork, $"Docker network '{network.Name}'")
                    : new ReservedRange(subnet, ReservationKind.Cluster, $"cluster '{owner}'"));
        }
        foreach (var cluster in await GetClustersAsync(null).ConfigureAwait(false))
        {
            if (cluster.ClusterName == excludeCluster) continue;
            foreach (var range in new[] { cluster.Spec.PodPrefix, cluster.Spec.ServicePrefix, cluster.Spec.Nat64Prefix })
                if (!string.IsNullOrEmpty(range))
                    reserved.Add(new ReservedRange(range, ReservationKind.Cluster, $"cluster '{cluster.ClusterName}'"));
        }
        // The host's routes include one per Docker bridge: those are named above by what they really are, and
        // this cluster's own (a re-plan of an existing cluster) must not count against it.
        var known = reserved.Select(r => r.Prefix).ToHashSet(StringComparer.Ordinal);
        var excluded = excludeCluster is null ? new List<Ipv6Prefix>() :
            (await _docker.ListNetworksAsync(LabLabels.ClusterFilter(excludeCluster), Ct).ConfigureAwait(false))
                .SelectMany(n => n.Subnets).Select(p => Ipv6Prefix.TryParse(p, out _)).Where(p => p is not null).Select(p => p!).ToList();
        // Host routes inside the excluded cluster's own network (its bridge, per-address /128s) are its own.
        bool OwnedByExcluded(ReservedRange r) => Ipv6Prefix.TryParse(r.Prefix, out _) is { } p && excluded.Any(e => e.Contains(p));
        reserved.AddRange(host.Reserved.Where(r => !known.Contains(r.Prefix) && !OwnedByExcluded(r)));
        return new PlanEnvironment { Reserved = reserved, HostResolvers = host.HostResolvers };
    }

    private async Task<bool> ExistsAsync(string name)
    {
        var filter = LabLabels.ClusterFilter(name);
        return (await _docker.ListNetworksAsync(filter, Ct).ConfigureAwait(false)).Count > 0
            || (await _docker.ListContainersAsync(filter, Ct).ConfigureAwait(false)).Count > 0;
    }

    /// <summary>All clusters (or one), rebuilt from Docker's labels alone.</summary>
    public async Task<IReadOnlyList<DindCluster>> GetClustersAsync(string? name)
    {
        if (name is not null) LabInput.ClusterName(name, "ClusterName");
        var filter = name is null ? LabLabels.AnyCluster() : LabLabels.ClusterFilter(name);
        var containers = await _docker.ListContainersAsync(filter, Ct).ConfigureAwait(false);
        var networks = await _docker.ListNetworksAsync(filter, Ct).ConfigureAwait(false);
        var names = containers.Where(c => !LabLabels.IsTransient(Role(c))).Select(c => c.Labels[LabLabels.Cluster]).Concat(networks.Select(n => n.Labels[LabLabels.Cluster])).Distinct().OrderBy(n => n, StringComparer.Ordinal);
        var result = new List<DindCluster>();
        foreach (var cluster in names)
        {
            var mine = containers.Where(c => c.Labels[LabLabels.Cluster] == cluster && !LabLabels.IsTransient(Role(c))).ToList();
            var dns64 = mine.FirstOrDefault(c => Role(c) == LabLabels.RoleDns64);
            var nat64 = mine.FirstOrDefault(c => Role(c) == LabLabels.RoleNat64);
            var nodes = mine.Where(c => Role(c) == LabLabels.RoleNode).ToList();
            var network = networks.FirstOrDefault(n => n.Labels[LabLabels.Cluster] == cluster);
            DindClusterSpec spec;
            try { spec = dns64 is not null && dns64.Labels.TryGetValue(LabLabels.Spec, out var yaml) ? SpecYaml.Deserialize(yaml, $"labels of {dns64.Name}") : new DindClusterSpec { ClusterName = cluster }; }
            catch (DindException) { spec = new DindClusterSpec { ClusterName = cluster }; }
            var plan = spec.ManagementPrefix.Length > 0 ? SafePlan(spec) : null;
            // Nodes may have been added or removed since the spec was recorded: state is about what exists.
            var running = mine.Count(c => c.Running);
            var state = network is null || dns64 is null || nat64 is null || nodes.Count == 0 ? "Degraded"
                : running == 0 ? "Stopped"
                : running == mine.Count ? "Running" : "Degraded";
            result.Add(new DindCluster
            {
                ClusterName = cluster,
                State = state,
                Nodes = nodes.Count,
                NetworkOnly = network?.Labels.ContainsKey(LabLabels.NetworkOnly) ?? true,
                // Nodes carry the version they run (Reset-DindCluster may have changed it); the network, the one of creation.
                KubernetesVersion = nodes.Select(n => n.Labels.GetValueOrDefault(LabLabels.Kubernetes)).FirstOrDefault(v => !string.IsNullOrEmpty(v))
                    ?? network?.Labels.GetValueOrDefault(LabLabels.Kubernetes) ?? "",
                ManagementPrefix = spec.ManagementPrefix,
                Dns64Address = plan?.Dns64Address ?? "",
                Nat64Address = plan?.Nat64Address ?? "",
                Nat64Prefix = spec.Nat64Prefix,
                AllowAaaa = spec.AllowAaaa,
                NetworkName = network?.Name ?? "",
                Spec = spec,
            });
        }
        return result;
    }

    private static AddressPlan? SafePlan(DindClusterSpec spec)
    {
        try { return AddressPlanner.PlanValidated(spec, PlanEnvironment.Empty); }
        catch (Exception ex) when (ex is DindException or FormatException or ArgumentException) { return null; }
    }

    private static string Role(ContainerInfo c) => c.Labels.TryGetValue(LabLabels.Role, out var r) ? r : "";

    private async Task<(DindCluster Cluster, AddressPlan Plan)> RequireAsync(string name)
    {
        LabInput.ClusterName(name);
        var cluster = (await GetClustersAsync(name).ConfigureAwait(false)).SingleOrDefault() ?? throw LabErrors.ClusterNotFound(name);
        if (SafePlan(cluster.Spec) is null)
            throw LabErrors.ClusterSpecUnreadable(name);
        var indices = (await _docker.ListContainersAsync(LabLabels.ClusterFilter(name), Ct).ConfigureAwait(false))
            .Where(c => Role(c) == LabLabels.RoleNode)
            .Select(c => int.TryParse(c.Labels.GetValueOrDefault(LabLabels.NodeIndex), NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : 0)
            .Where(i => i > 0)
            .ToHashSet();
        return (cluster, EffectivePlan(cluster.Spec, indices));
    }

    /// <summary>
    /// The plan of the nodes that exist: Add-DindNode may have gone past the spec's count and Remove-DindNode may
    /// have left gaps; a node's addresses depend only on its index.
    /// </summary>
    internal static AddressPlan EffectivePlan(DindClusterSpec spec, IReadOnlyCollection<int> existingIndices)
    {
        var sized = spec.Clone();
        sized.Nodes = Math.Max(spec.Nodes, existingIndices.Count == 0 ? 0 : existingIndices.Max());
        var full = AddressPlanner.PlanValidated(sized, PlanEnvironment.Empty);
        return existingIndices.Count == 0 ? full : full with { NodeAddresses = full.NodeAddresses.Where(n => existingIndices.Contains(n.Index)).ToList() };
    }

    public async Task<IReadOnlyList<DindNode>> GetNodesAsync(string cluster)
    {
        var (_, plan) = await RequireAsync(cluster).ConfigureAwait(false);
        return await GetNodesAsync(cluster, plan).ConfigureAwait(false);
    }

    /// <summary>The node containers of a cluster already looked up (<paramref name="plan"/> from RequireAsync).</summary>
    private async Task<IReadOnlyList<DindNode>> GetNodesAsync(string cluster, AddressPlan plan)
    {
        var filter = LabLabels.ClusterFilter(cluster);
        var containers = (await _docker.ListContainersAsync(filter, Ct).ConfigureAwait(false)).Where(c => Role(c) == LabLabels.RoleNode);
        return containers
            .Select(c =>
            {
                var index = int.Parse(c.Labels.GetValueOrDefault(LabLabels.NodeIndex, "0"), CultureInfo.InvariantCulture);
                var planned = plan.NodeAddresses.FirstOrDefault(n => n.Index == index);
                return new DindNode
                {
                    ClusterName = cluster,
                    NodeName = c.Name,
                    Index = index,
                    Role = planned?.Role ?? (index == 1 ? "ControlPlane" : "Worker"),
                    State = c.State,
                    IPv6Address = planned?.IPv6Address ?? "",
                    PodPrefix = planned?.PodPrefix ?? "",
                    ContainerId = c.Id,
                    Image = c.Image,
                };
            })
            .OrderBy(n => n.Index)
            .ToList();
    }

    // ---------------------------------------------------------------- routes

    /// <summary>Every planned route of the selected nodes, with Present read from the node (one exec per node).</summary>
    public async Task<IReadOnlyList<DindRoute>> GetRoutesAsync(string cluster, IReadOnlyCollection<string>? nodeNames)
    {
        LabInput.NodeNames(LabInput.ClusterName(cluster), nodeNames);
        var (_, plan) = await RequireAsync(cluster).ConfigureAwait(false);
        var nodes = (await GetNodesAsync(cluster).ConfigureAwait(false)).Where(n => nodeNames is null || nodeNames.Contains(n.NodeName)).ToList();
        var results = new DindRoute[nodes.Count][];
        await Parallel.ForEachAsync(Enumerable.Range(0, nodes.Count), new ParallelOptions { MaxDegreeOfParallelism = LabOptions.DefaultParallelism, CancellationToken = Ct }, async (i, _) =>
        {
            var node = nodes[i];
            var planned = plan.NodeAddresses.FirstOrDefault(n => n.Index == node.Index);
            if (planned is null) { results[i] = Array.Empty<DindRoute>(); return; }
            var table = node.State == "running"
                ? (await _docker.ExecAsync(node.ContainerId, new[] { "ip", "-6", "route", "show" }, null, null, Ct).ConfigureAwait(false)).StandardOutput
                : "";
            var present = ParseRoutes(table);
            results[i] = LabContainers.PlannedRoutes(plan, planned)
                .Select(r => new DindRoute
                {
                    ClusterName = cluster,
                    NodeName = node.NodeName,
                    Destination = r.Destination,
                    Gateway = r.Gateway,
                    Kind = r.Kind,
                    Present = present.Contains((r.Destination, r.Gateway)),
                })
                // Routes of ours the plan no longer has (a node removed with docker rm, an old NAT64 prefix):
                // present, not planned; Sync-DindRoute deletes them.
                .Concat(LabContainers.StaleRouteEntries(plan, planned, table).Select(r => new DindRoute
                {
                    ClusterName = cluster,
                    NodeName = node.NodeName,
                    Destination = r.Destination,
                    Gateway = r.Gateway,
                    Kind = DindRoute.StaleKind,
                    Present = true,
                }))
                .ToArray();
        }).ConfigureAwait(false);
        return results.SelectMany(r => r).ToList();
    }

    /// <summary>"dest via gw dev …" lines of `ip -6 route show`, canonicalised.</summary>
    public static HashSet<(string Destination, string Gateway)> ParseRoutes(string table)
    {
        var set = new HashSet<(string, string)>();
        foreach (var line in table.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var via = Array.IndexOf(f, "via");
            if (f.Length < 3 || via < 1 || via + 1 >= f.Length) continue;
            var destination = f[0].Contains('/') ? Ipv6Prefix.TryParse(f[0], out _)?.ToString() : null;
            if (destination is null || !System.Net.IPAddress.TryParse(f[via + 1], out var gateway)) continue;
            set.Add((destination, gateway.ToString()));
        }
        return set;
    }

    /// <summary>
    /// Sync-DindRoute: re-applies the routes (and resolver, IPv6-only state) of the selected nodes, and NAT64's
    /// device routes, under the cluster's lock (a reset replacing the nodes meanwhile would make it fail midway).
    /// </summary>
    public async Task SyncRoutesAsync(string cluster, IReadOnlyCollection<string>? nodeNames)
    {
        LabInput.NodeNames(LabInput.ClusterName(cluster), nodeNames);
        using var held = await LockAsync(cluster, "Sync-DindRoute").ConfigureAwait(false);
        await SyncRoutesUnlockedAsync(cluster, nodeNames).ConfigureAwait(false);
    }

    /// <summary>The sync itself, for operations that already hold the cluster's lock (it is not reentrant).</summary>
    private Task SyncRoutesUnlockedAsync(string cluster, IReadOnlyCollection<string>? nodeNames) =>
        SyncRoutesUnlockedAsync(cluster, nodeNames, LabOptions.DefaultParallelism, Ct, starting: null);

    /// <summary>
    /// The sync, <paramref name="parallelism"/> nodes at a time. <paramref name="starting"/> (Start-DindCluster, whose
    /// starts run beside it) gives the start of a container this run is starting, null for any other: such a container
    /// counts as running, and is configured once its start is done.
    /// </summary>
    private async Task SyncRoutesUnlockedAsync(string cluster, IReadOnlyCollection<string>? nodeNames, int parallelism, CancellationToken ct,
        Func<string, Task?>? starting)
    {
        bool Runs(string id, bool running) => running || starting?.Invoke(id) is not null;
        Task StartedAsync(string id) => starting?.Invoke(id)?.WaitAsync(ct) ?? Task.CompletedTask;
        var (_, plan) = await RequireAsync(cluster).ConfigureAwait(false);
        var containers = await _docker.ListContainersAsync(LabLabels.ClusterFilter(cluster), ct).ConfigureAwait(false);
        var nat64 = containers.FirstOrDefault(c => Role(c) == LabLabels.RoleNat64 && Runs(c.Id, c.Running));
        if (nat64 is not null && nodeNames is null)
        {
            await StartedAsync(nat64.Id).ConfigureAwait(false);
            await ConfigureNat64Async(nat64.Id, plan, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        }
        var nodes = (await GetNodesAsync(cluster).ConfigureAwait(false))
            .Where(n => Runs(n.ContainerId, n.State == "running") && (nodeNames is null || nodeNames.Contains(n.NodeName)))
            .ToList();
        await Parallel.ForEachAsync(nodes, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct }, async (node, _) =>
        {
            await StartedAsync(node.ContainerId).ConfigureAwait(false);
            var planned = plan.NodeAddresses.First(n => n.Index == node.Index);
            await ConfigureNodeAsync(node.ContainerId, plan, planned, ct, reconcile: true).ConfigureAwait(false);
            Log.Verbose($"Routes of {node.NodeName} applied.");
        }).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- remove

    /// <summary>Removes every container, volume, network and host rule of a cluster. A missing cluster is not an error.</summary>
    public async Task<int> RemoveAsync(string cluster)
    {
        using var held = await LockAsync(cluster, "Remove-DindCluster").ConfigureAwait(false);
        var removed = await RemoveUnlockedAsync(cluster).ConfigureAwait(false);
        // Nothing of the cluster is left, its lock file included (a waiter on it notices and takes a new one).
        held.DeleteFile();
        return removed;
    }

    /// <summary>Removal by a caller that already holds the cluster's lock (Reset-DindCluster after a failure).</summary>
    internal async Task<int> RemoveUnlockedAsync(string cluster)
    {
        var filter = LabLabels.ClusterFilter(cluster);
        var removed = 0;
        var containers = await _docker.ListContainersAsync(filter, Ct).ConfigureAwait(false);
        _ctx.Progress.Report(new DindProgress("Remove-DindCluster", $"removing {containers.Count} container(s) of '{cluster}'", 10));
        await Parallel.ForEachAsync(containers, new ParallelOptions { MaxDegreeOfParallelism = LabOptions.DefaultParallelism, CancellationToken = Ct }, async (c, _) =>
        {
            await _docker.RemoveContainerAsync(c.Id, Ct).ConfigureAwait(false);
            Interlocked.Increment(ref removed);
            Log.Verbose($"Removed container {c.Name}.");
        }).ConfigureAwait(false);
        foreach (var volume in await _docker.ListVolumesAsync(filter, Ct).ConfigureAwait(false))
        {
            await _docker.RemoveVolumeAsync(volume, Ct).ConfigureAwait(false);
            removed++;
        }
        // The network's ID names the host rules that are provably this cluster's (label and ID): read before removal, and the rules go
        // before the network: a removal interrupted in between leaves the network, so the next one still proves them ours.
        var networks = await _docker.ListNetworksAsync(filter, Ct).ConfigureAwait(false);
        var comments = networks.Select(n => LabNames.HostRuleComment(cluster, n.Id)).ToList();
        if (!DockerIsLocal)
            Log.Verbose($"Docker runs at {_docker.Endpoint}: no host rules of this machine are touched.");
        else try
        {
            foreach (var comment in comments)
            {
                var rules = await _firewall.RemoveByCommentAsync(comment, Ct).ConfigureAwait(false);
                if (rules > 0) Log.Verbose($"Removed {rules} host ip6tables rule(s) tagged {comment}.");
                removed += rules;
            }
            // Rules of an earlier cluster of this name whose network is gone are not provably this cluster's: named, not removed.
            var orphans = (await _firewall.ListAllAsync(Ct).ConfigureAwait(false))
                .Where(r => r.Comment.StartsWith(LabNames.HostRuleClusterPrefix(cluster), StringComparison.Ordinal) && !comments.Contains(r.Comment)).ToList();
            if (orphans.Count > 0)
                Log.Warning($"{orphans.Count} host ip6tables rule(s) carry the name '{cluster}' but the ID of a network that no longer exists; they were left alone. " +
                            $"If they are leftovers of an earlier lab of this name, remove them as root: {string.Join("; ", orphans.Select(HostFirewall.DeleteCommand))}");
        }
        catch (DindException ex) when (ex.Category is DindErrorCategory.NotInstalled)
        {
            Log.Verbose($"No host ip6tables to clean: {ex.Message}");
        }
        catch (DindException ex) when (ex.ErrorId == ErrorIds.HostPermissionDenied)
        {
            // Containers are gone; only root can see (and remove) AAAA-mode host rules.
            Log.Warning($"The host's ip6tables rules of '{cluster}' could not be checked: {ex.Message} Run Remove-DindCluster {cluster} again as root if the lab used AAAA mode.");
        }
        foreach (var network in networks)
        {
            await _docker.RemoveNetworkAsync(network.Id, Ct).ConfigureAwait(false);
            removed++;
            Log.Verbose($"Removed network {network.Name}.");
        }
        _ctx.Progress.Report(new DindProgress("Remove-DindCluster", "done", 100, Completed: true));
        return removed;
    }

    // ---------------------------------------------------------------- commands

    public async Task<DindCommandResult> InvokeAsync(string cluster, string nodeName, IReadOnlyList<string> argv, string? stdin)
    {
        LabInput.NodeName(LabInput.ClusterName(cluster), nodeName);
        var node = (await GetNodesAsync(cluster).ConfigureAwait(false)).FirstOrDefault(n => n.NodeName == nodeName)
            ?? throw LabErrors.NodeNotFound(cluster, nodeName);
        if (!string.Equals(node.State, "running", StringComparison.OrdinalIgnoreCase))
            throw NodeCommandErrors.NotRunning(cluster, nodeName, node.State);
        ExecResult result;
        // Docker's own words for a container stopped in between are "Container <id> is not running" (409).
        try { result = await _docker.ExecAsync(node.ContainerId, argv, stdin, null, Ct).ConfigureAwait(false); }
        catch (DindException ex) when (ex.ErrorId == ErrorIds.DockerConflict) { throw NodeCommandErrors.NotRunning(cluster, nodeName, "", ex); }
        return new DindCommandResult { ClusterName = cluster, NodeName = nodeName, ExitCode = result.ExitCode, Output = result.StandardOutput, Error = result.StandardError };
    }

    internal async Task<ExecResult> ExecInRoleAsync(string cluster, string role, IReadOnlyList<string> argv)
    {
        var container = (await _docker.ListContainersAsync(LabLabels.ClusterFilter(cluster), Ct).ConfigureAwait(false)).FirstOrDefault(c => Role(c) == role)
            ?? throw new DindException(ErrorIds.DockerObjectNotFound, DindErrorCategory.ObjectNotFound, $"Cluster '{cluster}' has no {role} container.", cluster);
        return await _docker.ExecAsync(container.Id, argv, null, null, Ct).ConfigureAwait(false);
    }

    /// <summary>The comment of the cluster's host rules (its name and network ID); null when it has no network.</summary>
    private async Task<string?> HostRuleCommentAsync(string cluster)
    {
        var network = (await _docker.ListNetworksAsync(LabLabels.ClusterFilter(cluster), Ct).ConfigureAwait(false)).FirstOrDefault();
        return network is null ? null : LabNames.HostRuleComment(cluster, network.Id);
    }

    internal IDockerApi Docker => _docker;
    internal OperationContext Context => _ctx;
    internal Task<(DindCluster Cluster, AddressPlan Plan)> RequireClusterAsync(string name) => RequireAsync(name);

    /// <summary>The Docker daemon is provably this machine's (see <see cref="DaemonLocality"/>); decided once per instance.</summary>
    internal bool DockerIsLocal => Locality.IsLocal;

    private DaemonLocalityResult? _locality;
    /// <summary>Whether the daemon is this host's and why; callers that already know it pass it in.</summary>
    public DaemonLocalityResult Locality { get => _locality ??= DaemonLocality.Check(_docker.Endpoint); init => _locality = value; }

    /// <summary>
    /// A Kubernetes lab publishes its API server on the Docker host's loopback only ([::1]:port), which a
    /// remote daemon's client cannot reach: the Kubernetes phase, readiness and the Kubernetes checks would time out.
    /// <paramref name="parameterName"/>: NetworkOnly when New-DindCluster is refused, null when a call needs the API.
    /// </summary>
    private DindException ApiServerOnRemoteHost(object target, string? parameterName) =>
        new(ErrorIds.RemoteDockerHost, DindErrorCategory.InvalidOperation,
            $"{(parameterName is null ? "" : parameterName + ": ")}a Kubernetes lab publishes its API server on the Docker host's loopback ([::1]) only, which this machine cannot reach: the Docker daemon at {_docker.Endpoint} is not provably this machine's ({Locality.Evidence}).",
            target, parameterName,
            "Run the cmdlet on the Docker host itself (DOCKER_HOST unset or dockerd's own unix socket), or build a network lab (-NetworkOnly) from here. " +
            "To use kubectl from here with a lab made on the Docker host, forward its port: ssh -L <port>:[::1]:<port> <docker host>.");

    /// <summary>
    /// Host-side changes (AAAA mode's ip6tables rules, host routes) are made on this machine; with a daemon
    /// elsewhere (DOCKER_HOST=tcp://another-host) they would land on the wrong host, so they are refused up front.
    /// </summary>
    internal void RequireLocalDocker(string what, object target, string? parameterName)
    {
        if (DockerIsLocal) return;
        throw DaemonLocality.NotLocal(Locality, what, target, parameterName);
    }
}
