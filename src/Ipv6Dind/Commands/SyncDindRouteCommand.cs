using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>
/// Re-applies a lab's routes (one `ip -batch` exec per node) and NAT64's device routes: after a container restart,
/// or for the routes Get-DindRoute reports missing. Routes piped in are grouped: each node is synced once.
/// -Host instead adds the host's own routes to the lab's pod and service prefixes via its nodes (-Remove deletes them).
/// </summary>
[Cmdlet(VerbsData.Sync, "DindRoute", SupportsShouldProcess = true, DefaultParameterSetName = "Nodes")]
[OutputType(typeof(DindRoute))]
public sealed class SyncDindRouteCommand : ClusterLockCmdlet
{
    private readonly Dictionary<string, HashSet<string>?> _wanted = new(StringComparer.Ordinal);

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = "Nodes")]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public string[]? NodeName { get; set; }

    /// <summary>
    /// The host's routes into the lab (pods via their nodes, services via the control plane), tagged proto 166.
    /// Used as -Host (PSCmdlet already has a Host property, so the parameter's own name is HostRoute).
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = "Host")]
    [Alias("Host")]
    public SwitchParameter HostRoute { get; set; }

    /// <summary>With -Host: delete the host's routes into the lab instead.</summary>
    [Parameter(ParameterSetName = "Host")]
    public SwitchParameter Remove { get; set; }

    /// <summary>Emit the routes after syncing (with Present as read back).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.NodeNames(LabInput.ClusterName(ClusterName), NodeName));
        if (NodeName is null) { _wanted[ClusterName] = null; return; }
        if (!_wanted.TryGetValue(ClusterName, out var set)) _wanted[ClusterName] = set = new HashSet<string>(StringComparer.Ordinal);
        if (set is not null) set.UnionWith(NodeName);
    }

    protected override void EndProcessing()
    {
        foreach (var (cluster, nodes) in _wanted)
        {
            if (HostRoute) { SyncHost(cluster); continue; }
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

    private void SyncHost(string cluster)
    {
        if (!ShouldProcess($"host routes into {cluster}", Remove ? "Delete the host's routes to the lab's pod and service prefixes"
                : "Route the lab's pod and service prefixes from the host via its nodes")) return;
        RunLab(async lab =>
        {
            if (Remove) await lab.RemoveHostRoutesAsync(cluster).ConfigureAwait(false);
            else await lab.SyncHostRoutesAsync(cluster).ConfigureAwait(false);
            if (PassThru)
                foreach (var route in await lab.GetHostRoutesAsync(cluster).ConfigureAwait(false))
                    Emit(route);
        });
    }
}
