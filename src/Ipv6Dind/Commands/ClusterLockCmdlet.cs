using System.Management.Automation;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Commands;

/// <summary>
/// Base of every cmdlet whose operation takes the cluster's cross-process lock (DindLab.LockAsync in
/// src/Ipv6Dind.Core/Lab/DindLab.Manage.cs): -LockTimeoutSec bounds the wait. Deriving from it is the marker the
/// parameter convention test (tests/pwsh/ParameterConvention.Tests.ps1) checks against the core's locking operations.
/// </summary>
public abstract class ClusterLockCmdlet : LabCmdlet
{
    /// <summary>Seconds to wait for another run holding the cluster's lock before failing with ClusterLocked (0: try once).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int LockTimeoutSec { get; set; } = (int)LabOptions.DefaultLockWait.TotalSeconds;

    protected override void Configure(DindLab lab) => lab.LockWait = TimeSpan.FromSeconds(LockTimeoutSec);
}
