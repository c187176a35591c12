using System.Management.Automation;

namespace Ipv6Dind.Commands;

/// <summary>The node containers of a lab.</summary>
[Cmdlet(VerbsCommon.Get, "DindNode")]
[OutputType(typeof(DindNode))]
public sealed class GetDindNodeCommand : LabCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    public string ClusterName { get; set; } = "";

    [Parameter(Position = 1)]
    [SupportsWildcards]
    public string? NodeName { get; set; }

    protected override void ProcessRecord() =>
        RunLab(async lab =>
        {
            foreach (var node in await lab.GetNodesAsync(ClusterName).ConfigureAwait(false))
                if (Matches(node.NodeName, NodeName))
                    Emit(node);
        });
}
