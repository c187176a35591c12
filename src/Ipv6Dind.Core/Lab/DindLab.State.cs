using System.Globalization;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Core.Lab;

/// <summary>What is there: the labs, their nodes and plans, read back from Docker's labels (docs/architecture.md, "State").</summary>
public sealed partial class DindLab
{
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
}
