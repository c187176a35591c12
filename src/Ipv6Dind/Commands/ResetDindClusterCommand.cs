using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>
/// The nightly rebuild of the seed: tears down the nodes (and with them Kubernetes) and makes them again with the same
/// names and addresses, keeping the network, DNS64 and NAT64. Takes the cluster's cross-process lock, so two rebuilds
/// never interleave; a failure removes the nodes it made and ends in a terminating error (a non-zero exit code under
/// the console host), leaving no debris. ConfirmImpact is High: scripts pass -Confirm:$false.
/// </summary>
[Cmdlet(VerbsCommon.Reset, "DindCluster", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(DindCluster))]
public sealed class ResetDindClusterCommand : LabCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    /// <summary>Seconds to wait for another run holding the cluster's lock before failing with ClusterLocked.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int LockTimeoutSec { get; set; } = 60;

    /// <summary>Seconds the nodes may take to become Ready and CoreDNS available after kubeadm.</summary>
    [Parameter]
    [ValidateRange(5, 7200)]
    public int TimeoutSec { get; set; } = 300;

    [Parameter]
    [ValidateRange(1, 64)]
    public int Parallelism { get; set; } = 8;

    protected override void ProcessRecord()
    {
        if (Core.Addressing.SpecValidator.ClusterNameProblem(ClusterName) is { } problem)
            ThrowDindError(new DindException(ErrorIds.InvalidClusterName, DindErrorCategory.InvalidArgument, $"ClusterName: {problem}", ClusterName, "ClusterName",
                "Give the name of a cluster (Get-DindCluster lists them)."));
        if (!ShouldProcess(ClusterName, "Remove and re-create the cluster's nodes (and Kubernetes) with the same addresses; network, DNS64 and NAT64 stay"))
            return;
        var options = new LabOptions { NetworkOnly = false, Parallelism = Parallelism, KubernetesReadyTimeout = TimeSpan.FromSeconds(TimeoutSec) };
        RunLab(async lab => Emit(await lab.ResetAsync(ClusterName, options, TimeSpan.FromSeconds(LockTimeoutSec)).ConfigureAwait(false)));
    }
}
