using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>Removes a node and the other nodes' routes to its pod prefix.</summary>
[Cmdlet(VerbsCommon.Remove, "DindNode", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveDindNodeCommand : ClusterLockCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public string NodeName { get; set; } = "";

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.NodeName(LabInput.ClusterName(ClusterName), NodeName));
        if (!ShouldProcess($"{ClusterName}/{NodeName}", "Remove the node")) return;
        RunLab(lab => lab.RemoveNodeAsync(ClusterName, NodeName));
    }
}
