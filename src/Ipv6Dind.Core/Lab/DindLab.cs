using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Kubernetes;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Images;
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
                // The bridge's gateway without duplicate address detection, before any container joins: the lab
                // reaches the host (and the host the DNS64) at once instead of ~2 s after the first start.
                if (DockerIsLocal && Files.Libc.GetEuid() == 0
                    && await LabBridge.SkipDadAsync(_firewall.Runner, id, plan.ManagementGateway, Ipv6Prefix.Parse(plan.ManagementPrefix).Length, scope.Cancellation).ConfigureAwait(false) is { } why)
                    Log.Verbose($"The bridge's gateway address keeps duplicate address detection (about 2 s at the first container): {why}.");
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
