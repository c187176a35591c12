using System.Management.Automation;

namespace Ipv6Dind.Commands;

/// <summary>
/// Re-applies a lab's routes (one `ip -batch` exec per node) and NAT64's device routes: after a container restart,
/// or for the routes Get-DindRoute reports missing. Routes piped in are grouped: each node is synced once.
/// </summary>
[Cmdlet(VerbsData.Sync, "DindRoute", SupportsShouldProcess = true)]
[OutputType(typeof(DindRoute))]
public sealed class SyncDindRouteCommand : LabCmdlet
{
    private readonly Dictionary<string, HashSet<string>?> _wanted = new(StringComparer.Ordinal);

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    public string ClusterName { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public string[]? NodeName { get; set; }

    /// <summary>Emit the routes after syncing (with Present as read back).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (NodeName is null) { _wanted[ClusterName] = null; return; }
        if (!_wanted.TryGetValue(ClusterName, out var set)) _wanted[ClusterName] = set = new HashSet<string>(StringComparer.Ordinal);
        if (set is not null) set.UnionWith(NodeName);
    }

    protected override void EndProcessing()
    {
        foreach (var (cluster, nodes) in _wanted)
        {
            var target = nodes is null ? $"all nodes of {cluster}" : $"{cluster}: {string.Join(", ", nodes)}";
            if (!ShouldProcess(target, "Apply the planned routes")) continue;
            RunLab(async lab =>
            {
                await lab.SyncRoutesAsync(cluster, nodes).ConfigureAwait(false);
                if (PassThru)
                    foreach (var route in await lab.GetRoutesAsync(cluster, nodes).ConfigureAwait(false))
                        Emit(route);
            });
        }
        base.EndProcessing();
    }
}
