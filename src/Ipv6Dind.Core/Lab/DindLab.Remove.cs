using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Lab;

/// <summary>Removing a lab (Remove-DindCluster, and the sweep after a failed bring-up), and commands in its nodes.</summary>
public sealed partial class DindLab
{
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

    /// <summary>
    /// Removal by a caller that already holds the cluster's lock (Reset-DindCluster after a failure, the sweep after a
    /// failed bring-up): four steps on the runner, one after another. Nothing to undo: a second run removes what a
    /// failed or stopped one left.
    /// </summary>
    internal async Task<int> RemoveUnlockedAsync(string cluster)
    {
        var filter = LabLabels.ClusterFilter(cluster);
        var removed = 0;
        var networks = new List<NetworkInfo>();
        var comments = new List<string>();
        var runner = new StepRunner("Remove-DindCluster", _ctx, AfterStep);
        await runner.RunAsync(new LabStep[]
        {
            new(LabSteps.RemoveContainers, $"removing the containers of '{cluster}'", 60, async scope =>
            {
                var containers = await _docker.ListContainersAsync(filter, scope.Cancellation).ConfigureAwait(false);
                var done = 0;
                await Parallel.ForEachAsync(containers, new ParallelOptions { MaxDegreeOfParallelism = LabOptions.DefaultParallelism, CancellationToken = scope.Cancellation }, async (c, _) =>
                {
                    await _docker.RemoveContainerAsync(c.Id, scope.Cancellation).ConfigureAwait(false);
                    Interlocked.Increment(ref removed);
                    Log.Verbose($"Removed container {c.Name}.");
                    var n = Interlocked.Increment(ref done);
                    scope.Report($"container {n} of {containers.Count} removed ({c.Name})", n, containers.Count);
                }).ConfigureAwait(false);
            }),
            new(LabSteps.RemoveVolumes, $"removing the volumes of '{cluster}'", 10, async scope =>
            {
                foreach (var volume in await _docker.ListVolumesAsync(filter, scope.Cancellation).ConfigureAwait(false))
                {
                    await _docker.RemoveVolumeAsync(volume, scope.Cancellation).ConfigureAwait(false);
                    removed++;
                }
            }),
            // The network's ID names the host rules that are provably this cluster's (label and ID): read before
            // removal, and the rules go before the network: a removal interrupted in between leaves the network, so the
            // next one still proves them ours.
            new(LabSteps.RemoveHostRules, $"removing the host's ip6tables rules of '{cluster}'", 10, async scope =>
            {
                networks.AddRange(await _docker.ListNetworksAsync(filter, scope.Cancellation).ConfigureAwait(false));
                comments.AddRange(networks.Select(n => LabNames.HostRuleComment(cluster, n.Id)));
                removed += await RemoveHostRulesAsync(cluster, comments, scope.Cancellation).ConfigureAwait(false);
            }),
            new(LabSteps.RemoveNetwork, $"removing the network of '{cluster}'", 20, async scope =>
            {
                foreach (var network in networks)
                {
                    await _docker.RemoveNetworkAsync(network.Id, scope.Cancellation).ConfigureAwait(false);
                    removed++;
                    Log.Verbose($"Removed network {network.Name}.");
                }
            }),
        }).ConfigureAwait(false);
        runner.Complete(LabSteps.RemoveNetwork);
        return removed;
    }

    /// <summary>The host rules tagged with <paramref name="comments"/> (this cluster's networks), on a local daemon only; how many went.</summary>
    private async Task<int> RemoveHostRulesAsync(string cluster, IReadOnlyList<string> comments, CancellationToken ct)
    {
        if (!DockerIsLocal)
        {
            Log.Verbose($"Docker runs at {_docker.Endpoint}: no host rules of this machine are touched.");
            return 0;
        }
        var removed = 0;
        try
        {
            foreach (var comment in comments)
            {
                var rules = await _firewall.RemoveByCommentAsync(comment, ct).ConfigureAwait(false);
                if (rules > 0) Log.Verbose($"Removed {rules} host ip6tables rule(s) tagged {comment}.");
                removed += rules;
            }
            // Rules of an earlier cluster of this name whose network is gone are not provably this cluster's: named, not removed.
            var orphans = (await _firewall.ListAllAsync(ct).ConfigureAwait(false))
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
}
