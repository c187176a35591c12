using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Kubernetes;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Core.Lab;

/// <summary>Rebuild (the seed's nightly sequence), kubeconfig export and image loading of Kubernetes labs.</summary>
public sealed partial class DindLab
{
    // ---------------------------------------------------------------- reset

    /// <summary>
    /// The nightly rebuild: nodes (and with them Kubernetes) are torn down and made again with the same names and
    /// addresses, while the network, DNS64 and NAT64 stay up. Under the cluster's cross-process lock, so a cron job
    /// and an admin never interleave. The old state or nothing (docs/design/README.md, "Bring-up order"):
    /// <list type="bullet">
    /// <item>a failure or Ctrl-C while the old nodes are removed leaves the old state when every old node is still
    /// there; when the removal was done but its answer was lost (every old node gone), the reset goes on; when only
    /// some are gone, the old state cannot come back and the cluster is removed entirely;</item>
    /// <item>a failure or Ctrl-C after that removes the nodes made so far and then the rest of the cluster (the old
    /// nodes are gone), its lock file included; New-DindCluster starts over with the same addresses.</item>
    /// </list>
    /// </summary>
    public async Task<DindCluster> ResetAsync(string cluster, LabOptions options)
    {
        var runner = new StepRunner("Reset-DindCluster", _ctx, AfterStep);
        using var held = await LockAsync(cluster, "Reset-DindCluster", options.LockWait).ConfigureAwait(false);
        var (info, existingPlan) = await RequireAsync(cluster).ConfigureAwait(false);
        var services = (await ContainersAsync(cluster).ConfigureAwait(false)).Where(c => Role(c) is LabLabels.RoleDns64 or LabLabels.RoleNat64).ToList();
        if (services.Count < 2 || services.Any(c => !c.Running))
            throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.ResourceUnavailable,
                $"ClusterName: the DNS64 and NAT64 of '{cluster}' must run for a reset (it keeps them and rebuilds only the nodes).", cluster, "ClusterName",
                $"Start-DindCluster {cluster} first; if they are gone, Remove-DindCluster {cluster} and New-DindCluster.");
        var spec = info.Spec.Clone();
        var indices = existingPlan.NodeAddresses.Select(n => n.Index).Concat(Enumerable.Range(1, Math.Max(1, spec.Nodes))).ToHashSet();
        var plan = EffectivePlan(spec, indices);
        var images = await ResolveImagesAsync(spec).ConfigureAwait(false);
        NodeImageFacts? kubernetes = null;
        if (!info.NetworkOnly)
        {
            runner.Report(LabSteps.Preflight, $"inspecting node image {images.Node}", 2);
            kubernetes = await NodeImageInspector.InspectAsync(_docker, images.Node, cluster, null, Ct, fallbackVersion: info.KubernetesVersion).ConfigureAwait(false);
            spec.KubernetesVersion = kubernetes.KubernetesVersion;
            spec.Cni = ChooseCni(spec.Cni, explicitCni: true, kubernetes);
            if (spec.Cni == "calico") options = options with { Calico = await PrepareCalicoAsync(spec, plan).ConfigureAwait(false) };
        }

        var old = (await ContainersAsync(cluster).ConfigureAwait(false)).Where(c => Role(c) == LabLabels.RoleNode).ToList();
        var journal = runner.Journal;
        var asItWas = false;
        try
        {
            var steps = new List<LabStep>
            {
                new(LabSteps.RemoveNodes, $"removing {old.Count} node(s)", 10, async scope =>
                {
                    try
                    {
                        await Parallel.ForEachAsync(old, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = scope.Cancellation }, async (c, _) =>
                        {
                            await _docker.RemoveContainerAsync(c.Id, scope.Cancellation).ConfigureAwait(false);
                            Log.Verbose($"Removed node {c.Name} (and its /var volume).");
                        }).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is DindException or OperationCanceledException)
                    {
                        // Which old nodes are still there decides: all of them - the old state, as it was; none - the
                        // removal was done (its answer was lost), so the reset goes on unless stopped; some - neither, so nothing.
                        var still = await OldNodesLeftAsync(cluster, old).ConfigureAwait(false);
                        if (still == old.Count)
                        {
                            asItWas = true;
                            if (ex is OperationCanceledException) throw;
                            throw StepFailed(ex, $"Reset step '{LabSteps.RemoveNodes}'", $"'{cluster}'", cluster, " The cluster is as it was.", " The cluster is as it was.");
                        }
                        if (still > 0 || ex is OperationCanceledException) throw;
                        Log.Verbose($"Removing the old nodes reported '{ex.Message}', but none of them is left: going on.");
                    }
                }),
            };
            steps.AddRange(NodeSteps(spec, plan, images.Node, kubernetes, options, journal, LabSteps.RemoveNodes, Array.Empty<LabStep>()));
            await runner.RunAsync(steps, options.Parallelism, from: 3).ConfigureAwait(false);
            // A Ctrl-C with the last step still undoes everything: the caller is told "stopped" only when nothing is left.
            Ct.ThrowIfCancellationRequested();
            journal.Commit();
            runner.Complete(LabSteps.Verify);
        }
        catch (Exception ex) when (!asItWas)
        {
            // The old nodes are gone by now (all or some), so "the old state" cannot come back: a failed reset leaves
            // nothing (the nodes it made, then the network, DNS64, NAT64, host rules and the lock file), and says so;
            // New-DindCluster (or the nightly script) makes the cluster again from scratch, with the same addresses.
            var step = runner.FailedStep;
            var cancelled = ex is OperationCanceledException && Ct.IsCancellationRequested;
            Log.Warning($"Reset-DindCluster '{cluster}' {(cancelled ? "was stopped" : "failed")} during step '{step}'; removing the cluster entirely.");
            var left = await RollBackAndSweepAsync(journal, cluster, ownsName: true, options.RollbackBudget).ConfigureAwait(false);
            if (left.Count == 0) held.DeleteFile();
            if (cancelled) throw;
            var removed = left.Count == 0
                ? " The cluster was removed entirely; New-DindCluster makes it again."
                : $" Removing the cluster left: {string.Join(", ", left)}; Remove-DindCluster {cluster} removes them, then New-DindCluster makes it again.";
            throw StepFailed(ex, $"Reset step '{step}'", $"'{cluster}'", cluster, removed, removed);
        }
        return (await GetClustersAsync(cluster).ConfigureAwait(false)).Single();
    }

    /// <summary>How many of <paramref name="old"/> still exist (by ID); asked on a budget of its own after a failure.</summary>
    private async Task<int> OldNodesLeftAsync(string cluster, IReadOnlyList<ContainerInfo> old)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ids = (await _docker.ListContainersAsync(LabLabels.ClusterFilter(cluster), cts.Token).ConfigureAwait(false)).Select(c => c.Id).ToHashSet();
        return old.Count(c => ids.Contains(c.Id));
    }

    /// <summary>kubeadm init, joins, CoreDNS, readiness (shared by New-DindCluster and Reset-DindCluster).</summary>
    private IEnumerable<LabStep> KubernetesSteps(DindClusterSpec spec, AddressPlan plan, IReadOnlyDictionary<int, string> nodeIds, NodeImageFacts kubernetes,
        LabOptions options)
    {
        var kubeadm = KubeadmOptions.From(spec, plan, KubernetesConfigs.NewBootstrapToken());
        var caCertHash = "";
        IKubernetesApi? api = null;
        yield return new(LabSteps.KubeadmInit, $"kubeadm init on {plan.NodeAddresses[0].NodeName} (Kubernetes {kubernetes.KubernetesVersion})", 15, async _ =>
            caCertHash = await KubeadmInitAsync(spec, plan, nodeIds, kubeadm, options).ConfigureAwait(false));
        yield return new(LabSteps.KubeadmJoin, $"joining {plan.NodeAddresses.Count - 1} worker(s)", 10, scope =>
            KubeadmJoinAsync(plan, nodeIds, kubeadm, caCertHash, options, scope));
        yield return new(LabSteps.CoreDns, $"pointing CoreDNS at DNS64 {plan.Dns64Address}", 5, async _ =>
        {
            var (kubeconfig, server) = await ReadKubeconfigAsync(nodeIds[plan.NodeAddresses[0].Index]).ConfigureAwait(false);
            api = Connect(kubeconfig, server);
            Log.Verbose($"API server published at {server} (host loopback only).");
            try { await ConfigureCoreDnsAsync(api, plan, kubernetes.KubernetesVersion).ConfigureAwait(false); }
            catch
            {
                api.Dispose();
                throw;
            }
        });
        yield return new(LabSteps.KubernetesReady, "waiting for every node Ready and CoreDNS available", 10, async scope =>
        {
            try { await WaitForKubernetesAsync(api!, plan, options, scope).ConfigureAwait(false); }
            finally { api!.Dispose(); }
        });
    }

    // ---------------------------------------------------------------- kubeconfig

    /// <summary>The context name a cluster's kubeconfig gets (kind's "kind-&lt;name&gt;" pattern).</summary>
    public static string ContextName(string cluster) => "ipv6dind-" + cluster;

    /// <summary>admin.conf of the cluster's control plane with the server at the host-loopback port, named ipv6dind-&lt;cluster&gt;.</summary>
    public async Task<(string Kubeconfig, string Server, string Context)> GetKubeconfigAsync(string cluster)
    {
        var controlPlane = await ControlPlaneAsync(cluster).ConfigureAwait(false);
        var (kubeconfig, server) = await ReadKubeconfigAsync(controlPlane.Id).ConfigureAwait(false);
        var context = ContextName(cluster);
        var named = Kubeconfig.Merge(null, Kubeconfig.RewriteServer(kubeconfig, server), context, setCurrentContext: true);
        return (named, server, context);
    }

    /// <summary>The running control-plane node of a Kubernetes lab, or a clear error.</summary>
    private async Task<ContainerInfo> ControlPlaneAsync(string cluster)
    {
        var (info, _) = await RequireAsync(cluster).ConfigureAwait(false);
        if (info.NetworkOnly)
            throw new DindException(ErrorIds.ClusterNotKubernetes, DindErrorCategory.InvalidOperation,
                $"ClusterName: '{cluster}' is a network lab (-NetworkOnly); it has no Kubernetes.", cluster, "ClusterName",
                $"Create a Kubernetes cluster with New-DindCluster {cluster} -NodeImage <kindest/node-compatible image>.");
        var nodes = (await ContainersAsync(cluster).ConfigureAwait(false)).Where(c => Role(c) == LabLabels.RoleNode).ToList();
        return nodes.FirstOrDefault(c => c.Labels.GetValueOrDefault(LabLabels.KubernetesRole) == LabContainers.KubernetesControlPlane)
            ?? throw LabErrors.NoControlPlane(cluster);
    }

    /// <summary>Connects to a Kubernetes lab's API server from the host.</summary>
    public async Task<IKubernetesApi> ConnectAsync(string cluster)
    {
        var controlPlane = await ControlPlaneAsync(cluster).ConfigureAwait(false);
        var (kubeconfig, server) = await ReadKubeconfigAsync(controlPlane.Id).ConfigureAwait(false);
        return Connect(kubeconfig, server);
    }

    // ---------------------------------------------------------------- images

    /// <summary>
    /// kind's load docker-image: the images are saved once from the host's Docker (docker save) and imported into
    /// the containerd of every chosen node (ctr -n k8s.io images import), so pods can use them without a registry.
    /// Returns the nodes loaded.
    /// </summary>
    public async Task<IReadOnlyList<string>> CopyImagesAsync(string cluster, IReadOnlyList<string> images, IReadOnlyCollection<string>? nodeNames, int parallelism)
    {
        _activity = "Copy-DindImage";
        LabInput.NodeNames(LabInput.ClusterName(cluster), nodeNames);
        foreach (var image in images) LabInput.Image(image);
        // A reset replacing the nodes meanwhile would make the import fail midway.
        using var held = await LockAsync(cluster, "Copy-DindImage").ConfigureAwait(false);
        await ControlPlaneAsync(cluster).ConfigureAwait(false);
        foreach (var image in images)
            if (await _docker.InspectImageAsync(image, Ct).ConfigureAwait(false) is null)
                throw new DindException(ErrorIds.ImageNotFound, DindErrorCategory.ObjectNotFound,
                    $"Image: '{image}' is not present on Docker at {_docker.Endpoint}.", image, "Image", "docker images lists what is there; build or load it first.");
        var nodes = (await ContainersAsync(cluster).ConfigureAwait(false))
            .Where(c => Role(c) == LabLabels.RoleNode && (nodeNames is null || nodeNames.Contains(c.Name)))
            .ToList();
        if (nodeNames is not null && nodeNames.FirstOrDefault(n => nodes.All(c => c.Name != n)) is { } missing)
            throw LabErrors.NodeNotFound(cluster, missing);
        if (nodes.FirstOrDefault(c => !c.Running) is { } stopped)
            throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.ResourceUnavailable,
                $"Node {stopped.Name} is not running.", stopped.Name, null, $"Start-DindCluster {cluster} first.");

        await LoadImagesIntoNodesAsync(images, nodes.Select(n => (n.Id, n.Name)).ToList(), parallelism).ConfigureAwait(false);
        Report("copy-image", "done", 100, completed: true);
        return nodes.Select(n => n.Name).ToList();
    }

    /// <summary>
    /// Saves <paramref name="images"/> once from the host's Docker and streams them into the containerd of every
    /// node given (Copy-DindImage, and Calico's images at bring-up), as kind's load docker-image does: `ctr
    /// --namespace=k8s.io images import --all-platforms -` with the docker-save archive on its stdin. One copy on
    /// the host's temp directory (read by every node), none in the nodes. Progress under <paramref name="step"/>
    /// between <paramref name="from"/> and <paramref name="to"/> percent.
    /// </summary>
    private async Task LoadImagesIntoNodesAsync(IReadOnlyList<string> images, IReadOnlyList<(string Id, string Name)> nodes, int parallelism,
        string step = "copy-image", int from = 5, int to = 100)
    {
        // A private folder (mkdtemp, 0700) in the temp directory: nobody else can plant or read anything in it, and an
        // image may hold what its owner would not share.
        var folder = Directory.CreateTempSubdirectory("ipv6dind-images-").FullName;
        var saved = Path.Combine(folder, "images.tar");
        try
        {
            Report(step, $"saving {string.Join(", ", images)} from Docker", from);
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            await using (var file = new FileStream(saved, create))
                await _docker.SaveImagesAsync(images, file, Ct).ConfigureAwait(false);
            Log.Verbose($"Saved {string.Join(", ", images)}: {new FileInfo(saved).Length / 1048576.0:F1} MiB.");

            var done = 0;
            await Parallel.ForEachAsync(nodes, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = Ct }, async (node, _) =>
            {
                ExecResult import;
                await using (var archive = new FileStream(saved, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
                    import = await _docker.ExecWithInputAsync(node.Id, new[] { "ctr", "--namespace=k8s.io", "images", "import", "--all-platforms", "-" }, archive, Ct).ConfigureAwait(false);
                if (!import.Succeeded)
                    throw new DindException(ErrorIds.ExecFailed, DindErrorCategory.InvalidOperation,
                        $"ctr images import on {node.Name} failed (exit {import.ExitCode}): {(import.StandardError + import.StandardOutput).Trim()}", node.Name);
                var n = Interlocked.Increment(ref done);
                Log.Verbose($"Imported {string.Join(", ", images)} into {node.Name}'s containerd.");
                Report(step, $"{n} of {nodes.Count} node(s) loaded with {images.Count} image(s) ({node.Name})", from + (to - from) * n / nodes.Count);
            }).ConfigureAwait(false);
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); }
            catch (IOException e) { Log.Warning($"Could not remove {folder}: {e.Message}"); }
        }
    }
}
