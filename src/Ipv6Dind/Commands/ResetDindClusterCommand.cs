using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>
/// The nightly rebuild of the seed: tears down the nodes (and with them Kubernetes) and makes them again with the same
/// names and addresses, keeping the network, DNS64 and NAT64. Takes the cluster's cross-process lock, so two rebuilds
/// never interleave; a failure removes the nodes it made and ends in a terminating error (exit 1 from a pwsh
/// -Command or -File), leaving no debris. ConfirmImpact is High: scripts pass -Confirm:$false.
/// </summary>
[Cmdlet(VerbsCommon.Reset, "DindCluster", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(DindCluster))]
public sealed class ResetDindClusterCommand : LabBuildCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    /// <summary>Emit the rebuilt lab (like Restart-Service, nothing without it).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.ClusterName(ClusterName));
        if (!ShouldProcess(ClusterName, "Remove and re-create the cluster's nodes (and Kubernetes) with the same addresses; network, DNS64 and NAT64 stay"))
            return;
        RunLab(async lab =>
        {
            var cluster = await lab.ResetAsync(ClusterName, BuildOptions()).ConfigureAwait(false);
            if (PassThru) Emit(cluster);
        });
    }
}
