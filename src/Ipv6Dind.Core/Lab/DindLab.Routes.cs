using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Lab;

/// <summary>The nodes' routes: read them (Get-DindRoute) and apply the plan again (Sync-DindRoute, Start-DindCluster).</summary>
public sealed partial class DindLab
{
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
}
