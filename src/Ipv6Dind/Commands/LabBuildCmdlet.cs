using System.Management.Automation;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Commands;

/// <summary>
/// Base of the cmdlets that create nodes (New-DindCluster, Reset-DindCluster, Add-DindNode): the parameters that
/// bound how they run, and the one place that turns them into <see cref="LabOptions"/>.
/// </summary>
public abstract class LabBuildCmdlet : ClusterLockCmdlet
{
    /// <summary>Seconds the nodes may take to become Ready and CoreDNS available after kubeadm (then: a clear error and a rollback).</summary>
    [Parameter]
    [Alias("TimeoutSeconds")]
    [ValidateRange(5, 7200)]
    public int TimeoutSec { get; set; } = (int)new LabOptions().KubernetesReadyTimeout.TotalSeconds;

    /// <summary>How many nodes are created and configured at the same time.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Parallelism { get; set; } = new LabOptions().Parallelism;

    /// <summary>
    /// The options of this run. Reset-DindCluster and Add-DindNode leave <paramref name="networkOnly"/> alone: whether
    /// a lab has Kubernetes is read from the lab itself.
    /// </summary>
    protected LabOptions BuildOptions(bool networkOnly = false, string? kubernetesVersion = null) => new()
    {
        NetworkOnly = networkOnly,
        Parallelism = Parallelism,
        KubernetesReadyTimeout = TimeSpan.FromSeconds(TimeoutSec),
        LockWait = TimeSpan.FromSeconds(LockTimeoutSec),
        KubernetesVersion = string.IsNullOrWhiteSpace(kubernetesVersion) ? null : kubernetesVersion,
    };
}
