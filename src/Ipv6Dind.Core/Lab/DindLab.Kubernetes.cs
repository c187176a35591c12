using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Kubernetes;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// The Kubernetes phase of a lab (kind's actions kubeadminit, kubeadmjoin, installcni, waitforready, done by exec
/// in the nodes with the core's rendered configs, and through KubernetesClient for the API).
/// </summary>
public sealed partial class DindLab
{
    /// <summary>
    /// TEST SEAM: how the lab reaches a cluster's API server, from admin.conf and the host-side server URL. Null
    /// (the product) means KubernetesClient with that kubeconfig; tests point it at a local fake API server.
    /// </summary>
    internal Func<string, string, IKubernetesApi>? ConnectKubernetes { get; set; }

    /// <summary>kubeadm's own files in a node.</summary>
    public const string AdminConfPath = "/etc/kubernetes/admin.conf";
    public const string CaCertPath = "/etc/kubernetes/pki/ca.crt";

    private const string ConntrackNote =
        "kube-proxy runs with conntrack.maxPerCore 0: it must not write /sys/module/nf_conntrack/parameters/hashsize, " +
        "which fails with 'operation not supported' inside a container and made kube-proxy crash-loop (kubeadm-dind-cluster's conntrack saga). " +
        "Size the host's conntrack table with Get-ConntrackHashsize instead.";

    /// <summary>
    /// kubeadm init on node 1 (the API server advertised on its IPv6 address, published on host loopback only), after
    /// every node got its CNI configuration. Returns the CA pin the joins use.
    /// </summary>
    private async Task<string> KubeadmInitAsync(DindClusterSpec spec, AddressPlan plan, IReadOnlyDictionary<int, string> nodeIds, KubeadmOptions kubeadm, LabOptions options)
    {
        await PrepareForKubeadmAsync(plan.NodeAddresses, nodeIds, plan, spec.Cni, options).ConfigureAwait(false);

        var controlPlane = plan.NodeAddresses[0];
        var controlPlaneId = nodeIds[controlPlane.Index];
        var init = KubeadmRenderer.RenderInit(kubeadm, controlPlane);
        await _docker.PutFileAsync(controlPlaneId, init.ContainerPath, init.Content, 384, Ct).ConfigureAwait(false);
        Log.Verbose($"kubeadm init on {controlPlane.NodeName} ({KubeadmRenderer.ApiVersionFor(kubeadm.KubernetesVersion)}, Kubernetes {kubeadm.KubernetesVersion}), API server at [{plan.ApiServerAddress}]:{kubeadm.ApiServerPort}.");
        Log.Verbose(ConntrackNote);
        await NodeToolAsync(controlPlaneId, controlPlane.NodeName, new[]
        {
            "kubeadm", "init", "--config=" + init.ContainerPath, "--skip-phases=preflight", "--skip-token-print", "--v=6",
        }, options.KubeadmTimeout).ConfigureAwait(false);

        var ca = await _docker.GetFileAsync(controlPlaneId, CaCertPath, Ct).ConfigureAwait(false)
            ?? throw new DindException(ErrorIds.KubeadmFailed, DindErrorCategory.InvalidResult,
                $"kubeadm init on {controlPlane.NodeName} succeeded but wrote no {CaCertPath}.", controlPlane.NodeName);
        // kind's installcni: the pod network right after init, before the workers join.
        if (options.Calico is { } calico) await ApplyCalicoAsync(calico, controlPlaneId, controlPlane.NodeName, options.KubeadmTimeout).ConfigureAwait(false);
        var hash = CaCertHash.FromPem(ca);
        Log.Verbose($"Cluster CA pinned for the joins: {hash}.");
        return hash;
    }

    /// <summary>
    /// Nodes about to run kubeadm (init, or joins of Add-DindNode): systemd finished booting (kubeadm needs containerd,
    /// and systemd may still be cleaning /tmp right after the start), then the pod network's part: Calico's images in
    /// their containerd, or each node's own CNI configuration for its pod /80 (kubelet reports NotReady until one exists).
    /// </summary>
    private async Task PrepareForKubeadmAsync(IReadOnlyList<NodeAddress> nodes, IReadOnlyDictionary<int, string> ids, AddressPlan plan, string cni, LabOptions options)
    {
        await ForEachNodeAsync(nodes, options.Parallelism, Ct,
            node => WaitForSystemdAsync(ids[node.Index], node.NodeName, options.ReadyTimeout)).ConfigureAwait(false);
        if (options.Calico is { } calico)
        {
            await LoadCalicoImagesAsync(calico, nodes.Select(n => (ids[n.Index], n.NodeName)).ToList(), options.Parallelism).ConfigureAwait(false);
            return;
        }
        await ForEachNodeAsync(nodes, options.Parallelism, Ct, async node =>
        {
            var config = CniRenderer.Render(CniOptions.From(plan, node, cni));
            await _docker.PutFileAsync(ids[node.Index], config.ContainerPath, config.Content, 420, Ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until systemd in a node has finished booting (systemctl is-system-running --wait): "running", or
    /// "degraded" (some unit failed, which containers often see for units they cannot run), both fine for kubeadm.
    /// </summary>
    private async Task WaitForSystemdAsync(string id, string nodeName, TimeSpan timeout)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(timeout);
        ExecResult state;
        try
        {
            while (true)
            {
                state = await _docker.ExecAsync(id, new[] { "systemctl", "is-system-running", "--wait" }, null, null, bounded.Token).ConfigureAwait(false);
                // So early that systemd has no bus yet ("Failed to connect to bus"): nothing to wait on, ask again.
                if (state.StandardOutput.Trim().Length > 0) break;
                await Task.Delay(TimeSpan.FromMilliseconds(250), bounded.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.OperationTimeout,
                $"systemd in {nodeName} did not finish booting within {timeout.TotalSeconds:0} s.", nodeName, null,
                "Export-DindLog collects the node's log; a node image needs systemd as PID 1 (kindest/node layout).");
        }
        var text = state.StandardOutput.Trim();
        if (text is not ("running" or "degraded"))
            throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.ResourceUnavailable,
                $"systemd in {nodeName} says '{text}{state.StandardError.Trim()}' instead of running.", nodeName, null,
                "Export-DindLog collects the node's log; check that the node runs with the capabilities systemd needs.");
        if (text == "degraded") Log.Verbose($"systemd in {nodeName} is up (degraded: some unit failed, usual in a container).");
    }

    /// <summary>Every worker joins at the same time, pinned to the CA of init.</summary>
    private async Task KubeadmJoinAsync(AddressPlan plan, IReadOnlyDictionary<int, string> nodeIds, KubeadmOptions kubeadm, string caCertHash, LabOptions options, StepScope scope)
    {
        var workers = plan.NodeAddresses.Skip(1).ToList();
        var joined = 0;
        await ForEachNodeAsync(workers, options.Parallelism, Ct, async node =>
        {
            var id = nodeIds[node.Index];
            var join = KubeadmRenderer.RenderJoin(kubeadm, node, caCertHash);
            await _docker.PutFileAsync(id, join.ContainerPath, join.Content, 384, Ct).ConfigureAwait(false);
            await NodeToolAsync(id, node.NodeName, new[]
            {
                "kubeadm", "join", "--config=" + join.ContainerPath, "--skip-phases=preflight", "--v=6",
            }, options.KubeadmTimeout).ConfigureAwait(false);
            var done = Interlocked.Increment(ref joined);
            scope.Report($"{done} of {workers.Count} worker(s) joined ({node.NodeName})", done, workers.Count);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Nodes added to a running Kubernetes lab (Add-DindNode): a fresh bootstrap token from the control plane
    /// (kubeadm token create), the CA pin from its ca.crt, CNI configs, joins in parallel, then Ready.
    /// </summary>
    private async Task JoinAddedNodesAsync(string cluster, DindClusterSpec recorded, AddressPlan plan, IReadOnlyList<NodeAddress> added,
        IReadOnlyDictionary<int, string> ids, NodeImageFacts kubernetes, LabOptions options)
    {
        var controlPlane = await ControlPlaneAsync(cluster).ConfigureAwait(false);
        var token = await _docker.ExecAsync(controlPlane.Id, new[] { "kubeadm", "token", "create", "--ttl", "1h" }, null, null, Ct).ConfigureAwait(false);
        if (!token.Succeeded)
            throw new DindException(ErrorIds.KubeadmFailed, DindErrorCategory.InvalidOperation,
                $"kubeadm token create on {controlPlane.Name} failed (exit {token.ExitCode}): {token.StandardError.Trim()}", controlPlane.Name);
        var ca = await _docker.GetFileAsync(controlPlane.Id, CaCertPath, Ct).ConfigureAwait(false)
            ?? throw new DindException(ErrorIds.ClusterNotKubernetes, DindErrorCategory.ObjectNotFound, $"{controlPlane.Name} has no {CaCertPath}.", controlPlane.Name);
        var spec = recorded.Clone();
        spec.KubernetesVersion = kubernetes.KubernetesVersion;
        var kubeadm = KubeadmOptions.From(spec, plan, KubeadmInputs.Token(token.StandardOutput.Trim().Split('\n').Last().Trim()));
        var caCertHash = CaCertHash.FromPem(ca);
        await PrepareForKubeadmAsync(added, ids, plan, spec.Cni, options).ConfigureAwait(false);
        var joined = 0;
        await ForEachNodeAsync(added, options.Parallelism, Ct, async node =>
        {
            var join = KubeadmRenderer.RenderJoin(kubeadm, node, caCertHash);
            await _docker.PutFileAsync(ids[node.Index], join.ContainerPath, join.Content, 384, Ct).ConfigureAwait(false);
            await NodeToolAsync(ids[node.Index], node.NodeName, new[] { "kubeadm", "join", "--config=" + join.ContainerPath, "--skip-phases=preflight", "--v=6" },
                options.KubeadmTimeout).ConfigureAwait(false);
            Interlocked.Increment(ref joined);
        }).ConfigureAwait(false);
        var (kubeconfig, server) = await ReadKubeconfigAsync(controlPlane.Id).ConfigureAwait(false);
        using var api = Connect(kubeconfig, server);
        await api.WaitForReadyAsync(added.Select(n => n.NodeName).ToList(), options.KubernetesReadyTimeout,
            new InlineProgress(text => Report(LabSteps.KubernetesReady, text, 90)), Ct).ConfigureAwait(false);
    }

    /// <summary>
    /// One kubeadm (or kubectl) run in a node, bounded; a failure quotes the end of the tool's output (its own error
    /// lines), as <paramref name="errorId"/> with <paramref name="remedy"/>.
    /// </summary>
    private async Task NodeToolAsync(string id, string nodeName, IReadOnlyList<string> argv, TimeSpan timeout,
        string errorId = ErrorIds.KubeadmFailed,
        string remedy = "Export-DindLog collects the node's logs; check that the node image's Kubernetes version matches its kubeadm.")
    {
        var what = $"{argv[0]} {argv.Skip(1).FirstOrDefault(a => !a.StartsWith('-'))}";   // "kubeadm init", "kubectl apply"
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(timeout);
        ExecResult result;
        try
        {
            result = await _docker.ExecAsync(id, argv, null, null, bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            throw new DindException(errorId, DindErrorCategory.OperationTimeout,
                $"{what} on {nodeName} did not finish within {timeout.TotalMinutes:0.#} min.", nodeName, null,
                $"Export-DindLog collects the node's logs; {argv[0]}'s own output names the step that hung.");
        }
        if (!result.Succeeded)
        {
            var output = (result.StandardError + "\n" + result.StandardOutput).Trim();
            var tail = string.Join('\n', output.Split('\n').TakeLast(12));
            throw new DindException(errorId, DindErrorCategory.InvalidOperation,
                $"{what} on {nodeName} failed (exit {result.ExitCode}):\n{tail}", nodeName, null, remedy);
        }
        Log.Verbose($"{what} on {nodeName} done.");
    }

    /// <summary>
    /// The API server as the host sees it: admin.conf from the control plane, its server replaced by the published
    /// loopback port (https://[::1]:&lt;port&gt;), which the API server's certificate names (certSANs has ::1).
    /// </summary>
    public async Task<(string Kubeconfig, string Server)> ReadKubeconfigAsync(string controlPlaneIdOrName)
    {
        var kubeconfig = await _docker.GetFileAsync(controlPlaneIdOrName, AdminConfPath, Ct).ConfigureAwait(false)
            ?? throw new DindException(ErrorIds.ClusterNotKubernetes, DindErrorCategory.ObjectNotFound,
                $"{controlPlaneIdOrName} has no {AdminConfPath}: kubeadm init has not run there.", controlPlaneIdOrName);
        var info = await _docker.InspectContainerAsync(controlPlaneIdOrName, Ct).ConfigureAwait(false);
        if (info is null || !info.Ports.TryGetValue(LabContainers.ApiServerPort + "/tcp", out var published))
            throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.ResourceUnavailable,
                $"The API server port {LabContainers.ApiServerPort} of {controlPlaneIdOrName} is not published (is the node running?).", controlPlaneIdOrName,
                null, "Start-DindCluster starts a stopped cluster.");
        return (kubeconfig, $"https://[::1]:{published.HostPort}");
    }

    private IKubernetesApi Connect(string kubeconfig, string server)
    {
        // https://[::1]:port is the Docker host's loopback: from another machine it is this machine's own.
        if (!DockerIsLocal) throw ApiServerOnRemoteHost(server, null);
        return ConnectKubernetes is { } seam ? seam(kubeconfig, server) : KubernetesApiFactory.FromKubeconfig(kubeconfig, server);
    }

    /// <summary>CoreDNS forwards to the cluster's DNS64; then every node Ready and CoreDNS available, or a clear timeout.</summary>
    private async Task ConfigureCoreDnsAsync(IKubernetesApi api, AddressPlan plan, string kubernetesVersion)
    {
        var corefile = CoreDnsRenderer.RenderCorefile(CoreDnsOptions.From(plan, kubernetesVersion)).Content;
        var changed = await api.ConfigureCoreDnsAsync(corefile, Ct).ConfigureAwait(false);
        Log.Verbose(changed
            ? $"CoreDNS now forwards to the cluster's DNS64 at {plan.Dns64Address}; its deployment was restarted."
            : $"CoreDNS already forwarded to the cluster's DNS64 at {plan.Dns64Address}.");
    }

    private async Task WaitForKubernetesAsync(IKubernetesApi api, AddressPlan plan, LabOptions options, StepScope scope)
    {
        var names = plan.NodeAddresses.Select(n => n.NodeName).ToList();
        var progress = new InlineProgress(text => scope.Report(text));
        await api.WaitForReadyAsync(names, options.KubernetesReadyTimeout, progress, Ct).ConfigureAwait(false);
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to a synchronization context); the core's progress sink is thread-safe.</summary>
    private sealed class InlineProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }

    /// <summary>
    /// The CNI plugin for a Kubernetes lab: the spec's when the node image has it in /opt/cni/bin; when the spec
    /// only took the default (bridge) and the image lacks it (kindest/node ships ptp only), the one the image has.
    /// </summary>
    private string ChooseCni(string cni, bool explicitCni, NodeImageFacts image)
    {
        // Calico's install-cni init container puts its own plugins into /opt/cni/bin.
        if (cni == "calico" || image.CniPlugins.Contains(cni)) return cni;
        if (!explicitCni && image.CniPlugins.Count > 0)
        {
            Log.Verbose($"Node image {image.Image} has no {cni} CNI plugin in {NodeImageInspector.CniBinDirectory}; using {image.CniPlugins[0]}.");
            return image.CniPlugins[0];
        }
        throw new DindException(ErrorIds.InvalidCni, DindErrorCategory.InvalidArgument,
            $"Cni: node image '{image.Image}' has no {cni} plugin in {NodeImageInspector.CniBinDirectory}" +
            (image.CniPlugins.Count > 0 ? $"; it has {string.Join(" and ", image.CniPlugins)}." : " (and neither bridge nor ptp)."),
            cni, "Cni", image.CniPlugins.Count > 0 ? $"Use -Cni {image.CniPlugins[0]}." : "Use a node image with the bridge or ptp CNI plugin.");
    }

    /// <summary>A node's container: a network-lab node, or (with the facts of a Kubernetes node image) a kind-like one.</summary>
    private static ContainerSpec NodeContainer(DindClusterSpec spec, NodeAddress node, string image, NodeImageFacts? kubernetes, bool hostModules, int apiPort = 0) =>
        kubernetes is null
            ? LabContainers.Node(spec, node, image)
            : LabContainers.KubernetesNode(spec, node, image, kubernetes.PrivilegedPermitted, hostModules, apiPort);

    /// <summary>A free TCP port on host loopback for the API server (0, Docker's choice, for a remote daemon).</summary>
    private int FreeLoopbackPort()
    {
        if (!_docker.Endpoint.StartsWith("unix:", StringComparison.Ordinal)) return 0;
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.IPv6Loopback, 0);
        listener.Start();
        try { return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port; }
        finally { listener.Stop(); }
    }

    /// <summary>Whether the host has kernel modules to share read-only with the nodes (a local daemon only).</summary>
    private bool HostHasModules() =>
        _docker.Endpoint.StartsWith("unix:", StringComparison.Ordinal) && Directory.Exists("/lib/modules");
}
