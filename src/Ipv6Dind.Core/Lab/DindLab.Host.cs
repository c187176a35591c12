using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Kubernetes;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// The host side of a cluster: Sync-DindRoute -Host (the host's routes into it, tagged as <see cref="HostRoutes"/>
/// says) and Repair-ConntrackHashsize -ClusterName (kube-proxy's conntrack setting, through the API server).
/// </summary>
public sealed partial class DindLab
{
    /// <summary>The host routes a cluster needs, with Present read from the host's table.</summary>
    public async Task<IReadOnlyList<DindRoute>> GetHostRoutesAsync(string cluster, HostRoutes? routes = null)
    {
        var (_, plan) = await RequireAsync(cluster).ConfigureAwait(false);     // an unreachable daemon says so first
        RequireLocalDocker("Host routes", cluster, "Host");
        var present = (await (routes ?? new HostRoutes()).ListAsync(plan.ManagementPrefix, Ct).ConfigureAwait(false)).ToHashSet();
        return HostRoutes.Plan(plan)
            .Select(r => new DindRoute
            {
                ClusterName = cluster,
                NodeName = r.NodeName,
                Destination = r.Destination,
                Gateway = r.Gateway,
                Kind = HostRoutes.KindHost,
                Present = present.Contains((r.Destination, r.Gateway)),
            })
            .ToList();
    }

    /// <summary>Adds (replaces) the host's routes to the cluster's pod and service prefixes; deletes ours that are no longer planned.</summary>
    public async Task SyncHostRoutesAsync(string cluster, HostRoutes? routes = null)
    {
        var (_, plan) = await RequireAsync(cluster).ConfigureAwait(false);     // an unreachable daemon says so first
        RequireLocalDocker("Host routes", cluster, "Host");
        var planned = HostRoutes.Plan(plan);
        await (routes ?? new HostRoutes()).EnsureAsync(plan.ManagementPrefix, planned, Ct).ConfigureAwait(false);
        Log.Verbose($"Host routes of '{cluster}': {string.Join(", ", planned.Select(r => $"{r.Destination} via {r.Gateway}"))} (proto {HostRoutes.Protocol}).");
    }

    /// <summary>Deletes the host's routes into the cluster (ours only); returns how many.</summary>
    public async Task<int> RemoveHostRoutesAsync(string cluster, HostRoutes? routes = null)
    {
        var (_, plan) = await RequireAsync(cluster).ConfigureAwait(false);     // an unreachable daemon says so first
        RequireLocalDocker("Host routes", cluster, "Host");
        var removed = await (routes ?? new HostRoutes()).RemoveAsync(plan.ManagementPrefix, Ct).ConfigureAwait(false);
        Log.Verbose($"Removed {removed} host route(s) of '{cluster}'.");
        return removed;
    }

    /// <summary>What Repair-ConntrackHashsize -ClusterName asks before it changes a cluster.</summary>
    public const string KubeProxyRepairAction =
        "Set conntrack.maxPerCore: 0 in ConfigMap kube-system/kube-proxy and restart DaemonSet kube-system/kube-proxy";

    /// <summary>What it asks when an earlier repair's restart is still owed.</summary>
    public const string KubeProxyRestartAction =
        "Restart DaemonSet kube-system/kube-proxy (an earlier repair set conntrack.maxPerCore: 0 but its restart did not happen)";

    /// <summary>
    /// Repair-ConntrackHashsize -ClusterName. A Kubernetes lab's kube-proxy must run with conntrack.maxPerCore 0
    /// (Ipv6Dind's kubeadm config says so; a replaced or edited ConfigMap may not): otherwise it raises
    /// nf_conntrack_max and writes the hashsize, which fails inside a node and makes it crash-loop. Its config.conf
    /// is read through the API server; when maxPerCore is not 0, and <paramref name="confirm"/> agrees (ShouldProcess:
    /// target, action), 0 is written there with every other field kept, and the DaemonSet is restarted, since
    /// kube-proxy reads its configuration only when it starts. A network lab has no kube-proxy and is only reported.
    /// Then, to show why it must be so, the current host hashsize is written back from inside the first running node
    /// (behind its own confirmation) - which Linux refuses outside the initial network namespace (EOPNOTSUPP), as it
    /// would for kube-proxy. Null when the change was declined (-WhatIf, or "no" to -Confirm): nothing was done.
    /// </summary>
    public async Task<ConntrackStatus?> RepairConntrackAsync(string cluster, Func<string, string, bool> confirm)
    {
        _activity = "Repair-ConntrackHashsize";
        var (info, _) = await RequireAsync(cluster).ConfigureAwait(false);
        string found;
        int? previous = null;
        if (info.NetworkOnly)
            found = $"'{cluster}' is a network lab (-NetworkOnly): it runs no kube-proxy, so nothing there writes the hashsize";
        else
        {
            using var api = await ConnectAsync(cluster).ConfigureAwait(false);
            var source = $"config.conf of ConfigMap kube-system/kube-proxy in '{cluster}'";
            var config = await api.GetKubeProxyConfigAsync(Ct).ConfigureAwait(false)
                ?? throw new DindException(ErrorIds.KubeProxyConfigNotFound, DindErrorCategory.ObjectNotFound,
                    $"ClusterName: '{cluster}' has no ConfigMap kube-system/kube-proxy with a {KubeProxyConfig.ConfigKey} key: kube-proxy's configuration is not where kubeadm puts it.",
                    cluster, "ClusterName",
                    $"kubectl -n kube-system get configmap kube-proxy shows what is there; kubeadm init phase addon kube-proxy (in {cluster}'s control-plane node) makes it again, or Reset-DindCluster {cluster} rebuilds the cluster.");
            var maxPerCore = KubeProxyConfig.MaxPerCore(config, source);
            if (maxPerCore == 0 && await api.KubeProxyRestartPendingAsync(Ct).ConfigureAwait(false))
            {
                // An earlier repair wrote 0 but its restart failed: kube-proxy still runs with the old setting.
                if (!confirm(cluster, KubeProxyRestartAction)) return null;
                await api.ConfigureKubeProxyAsync(config, Ct).ConfigureAwait(false);
                found = $"kube-proxy of '{cluster}' had conntrack.maxPerCore: 0 in its ConfigMap but had not been restarted since an earlier repair wrote it; DaemonSet kube-system/kube-proxy restarted";
                Log.Verbose($"{found}.");
            }
            else if (maxPerCore == 0)
                found = $"kube-proxy of '{cluster}' has conntrack.maxPerCore: 0 (ConfigMap kube-system/kube-proxy) and never writes the hashsize; nothing to change";
            else
            {
                if (!confirm(cluster, KubeProxyRepairAction)) return null;
                var changed = await api.ConfigureKubeProxyAsync(KubeProxyConfig.WithZeroMaxPerCore(config, source), Ct).ConfigureAwait(false);
                if (changed) previous = maxPerCore;
                found = $"kube-proxy of '{cluster}' had conntrack.maxPerCore {maxPerCore} and would have written the hashsize; "
                    + (changed ? "set to 0 in ConfigMap kube-system/kube-proxy, DaemonSet kube-system/kube-proxy restarted"
                               : "ConfigMap kube-system/kube-proxy already said 0 when written (changed meanwhile), nothing restarted");
                Log.Verbose($"{found}.");
            }
        }

        var host = ConntrackHashsize.Status(Environment.ProcessorCount, 0, ConntrackHashsize.DefaultMin);
        var probe = await ProbeHashsizeWriteAsync(cluster, host.CurrentHashsize, confirm).ConfigureAwait(false);
        return new ConntrackStatus
        {
            Target = cluster, CpuCount = host.CpuCount, MaxPerCore = 0, PreviousMaxPerCore = previous, Min = host.Min, RequiredMax = 0,
            RequiredHashsize = 0, CurrentHashsize = host.CurrentHashsize, CurrentMax = host.CurrentMax, NeedsRepair = false,
            Detail = $"{found}; {probe}",
        };
    }

    /// <summary>Writes the host's current hashsize back from inside the cluster's first running node; says what happened.</summary>
    private async Task<string> ProbeHashsizeWriteAsync(string cluster, long? current, Func<string, string, bool> confirm)
    {
        var nodes = await GetNodesAsync(cluster).ConfigureAwait(false);
        if (nodes.FirstOrDefault(n => n.State == "running") is not { } node) return "no running node to probe";
        if (current is null) return "no hashsize to probe with (nf_conntrack is not loaded on the host)";
        if (!confirm(node.NodeName, $"Probe a conntrack hashsize write (of the current value, {current}) inside the node"))
            return $"the hashsize write in {node.NodeName} was not probed";
        try
        {
            await new ConntrackHashsizeWriter().WriteInContainerAsync(_docker, node.ContainerId, current.Value, Ct).ConfigureAwait(false);
            return $"a hashsize write in {node.NodeName} succeeded (it shares the host's network namespace)";
        }
        catch (DindException ex) when (ex.ErrorId is ErrorIds.ConntrackHashsizeNotSupported or ErrorIds.ConntrackHashsizeReadOnly or ErrorIds.HostPermissionDenied)
        {
            return $"a hashsize write in {node.NodeName} fails ({ex.ErrorId}), as it would for kube-proxy there";
        }
    }
}
