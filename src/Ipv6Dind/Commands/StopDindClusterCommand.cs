using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>Stops a lab's containers (nodes first); they keep their state for Start-DindCluster.</summary>
[Cmdlet(VerbsLifecycle.Stop, "DindCluster", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(DindCluster))]
public sealed class StopDindClusterCommand : ClusterLockCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.ClusterName(ClusterName));
        if (!ShouldProcess(ClusterName, "Stop the lab's containers")) return;
        RunLab(async lab =>
        {
            await lab.StopAsync(ClusterName).ConfigureAwait(false);
            if (PassThru) Emit((await lab.GetClustersAsync(ClusterName).ConfigureAwait(false)).Single());
        });
    }
}
