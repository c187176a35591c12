using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>The node containers of a lab.</summary>
[Cmdlet(VerbsCommon.Get, "DindNode")]
[OutputType(typeof(DindNode))]
public sealed class GetDindNodeCommand : LabCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public string? NodeName { get; set; }

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.ClusterName(ClusterName));
        if (NodeName is not null) Invoke(() => LabInput.NodeNamePattern(ClusterName, NodeName));
        RunLab(async lab =>
        {
            foreach (var node in await lab.GetNodesAsync(ClusterName).ConfigureAwait(false))
                if (Matches(node.NodeName, NodeName))
                    Emit(node);
        });
    }
}
