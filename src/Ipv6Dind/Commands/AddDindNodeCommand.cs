using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>Adds nodes to a lab (after the highest index) and re-routes every node.</summary>
[Cmdlet(VerbsCommon.Add, "DindNode", SupportsShouldProcess = true)]
[OutputType(typeof(DindNode))]
public sealed class AddDindNodeCommand : LabBuildCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    /// <summary>How many nodes to add. Not bound from the pipeline: a piped lab's Nodes (its size) must not become the number added.</summary>
    [Parameter(Position = 1)]
    [Alias("Count")]
    [ValidateRange(1, 1021)]
    public int Nodes { get; set; } = 1;

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.ClusterName(ClusterName));
        if (!ShouldProcess(ClusterName, $"Add {Nodes} node(s)")) return;
        RunLab(async lab =>
        {
            foreach (var node in await lab.AddNodesAsync(ClusterName, Nodes, BuildOptions()).ConfigureAwait(false))
                Emit(node);
        });
    }
}
