namespace Ipv6Dind.Core.Lab;

/// <summary>
/// The lab's errors about clusters and nodes that are not there (or already are), each with its message, id,
/// category, target, parameter and recommended action in one place: every cmdlet and operation that reports one
/// reports it the same way.
/// </summary>
public static class LabErrors
{
    public static DindException ClusterNotFound(string name) =>
        new(ErrorIds.ClusterNotFound, DindErrorCategory.ObjectNotFound,
            $"ClusterName: there is no cluster named '{name}'.", name, "ClusterName", "Get-DindCluster without a name lists the clusters on this Docker host.");

    /// <summary>A cluster whose DNS64 container (which carries the spec of record) is gone or unreadable.</summary>
    public static DindException ClusterSpecUnreadable(string name) =>
        new(ErrorIds.ClusterNotFound, DindErrorCategory.InvalidData,
            $"ClusterName: cluster '{name}' has no readable spec on its DNS64 container (it may be half removed).", name, "ClusterName",
            $"Remove-DindCluster {name} removes what is left of it.");

    public static DindException ClusterExists(string name) =>
        new(ErrorIds.ClusterExists, DindErrorCategory.ResourceExists,
            $"ClusterName: a cluster named '{name}' already exists.", name, "ClusterName",
            $"Choose another name, or remove it first with Remove-DindCluster {name}.");

    /// <param name="known">The node names there are, when the caller has them: the first five go into the remedy.</param>
    public static DindException NodeNotFound(string cluster, string node, IReadOnlyCollection<string>? known = null) =>
        new(ErrorIds.NodeNotFound, DindErrorCategory.ObjectNotFound,
            $"NodeName: cluster '{cluster}' has no node '{node}'.", node, "NodeName",
            known is { Count: > 0 }
                ? $"Use one of: {string.Join(", ", known.Take(5))}{(known.Count > 5 ? ", …" : "")}."
                : $"Get-DindNode {cluster} lists the nodes.");

    public static DindException NoControlPlane(string cluster) =>
        new(ErrorIds.NodeNotFound, DindErrorCategory.ObjectNotFound,
            $"ClusterName: '{cluster}' has no control-plane node.", cluster, "ClusterName", $"Reset-DindCluster {cluster} makes its nodes again.");
}
