using System.Management.Automation;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>
/// Every route the plan gives a node (to the other nodes' pod prefixes, to the NAT64 prefix) and whether the node
/// has it, read with one exec per node: `Get-DindCluster | Get-DindNode | Get-DindRoute | Where-Object { -not $_.Present }`.
/// </summary>
[Cmdlet(VerbsCommon.Get, "DindRoute")]
[OutputType(typeof(DindRoute))]
public sealed class GetDindRouteCommand : LabCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public string[]? NodeName { get; set; }

    protected override void ProcessRecord() =>
        RunLab(async lab =>
        {
            foreach (var route in await lab.GetRoutesAsync(ClusterName, NodeName).ConfigureAwait(false))
                Emit(route);
        });
}
