using System.Collections;
using System.Management.Automation;

namespace Ipv6Dind.Completion;

/// <summary>
/// Completes node names of the cluster already given on the command line (-ClusterName, its alias -Name, or by
/// position: `Invoke-DindCommand lab <Tab>`); with no cluster given, the nodes of every cluster.
/// </summary>
public sealed class NodeNameCompleter : LabCompleter
{
    private protected override IEnumerable<(string Name, string ToolTip)> Candidates(IDictionary? fakeBoundParameters)
    {
        var cluster = BoundCluster(fakeBoundParameters);
        // A wildcard cannot name one cluster: look at all of them.
        if (cluster is not null && WildcardPattern.ContainsWildcardCharacters(cluster)) cluster = null;
        return LabNameLookup.Nodes(cluster).Select(n => (n.NodeName, $"{n.NodeName}: {n.Role}, {n.State}, {n.IPv6Address}"));
    }

    internal static string? BoundCluster(IDictionary? fakeBoundParameters)
    {
        if (fakeBoundParameters is null) return null;
        foreach (var key in new[] { "ClusterName", "Name" })
        {
            if (!fakeBoundParameters.Contains(key)) continue;
            var value = fakeBoundParameters[key];
            if (value is PSObject pso) value = pso.BaseObject;
            if (value is string s && s.Length > 0) return s;
            if (value is DindCluster c) return c.ClusterName;
            if (value is DindNode n) return n.ClusterName;
        }
        return null;
    }
}
