using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>Starts a stopped lab and re-applies what a restart loses (routes, resolvers, NAT64 device routes, host rules).</summary>
[Cmdlet(VerbsLifecycle.Start, "DindCluster", SupportsShouldProcess = true)]
[OutputType(typeof(DindCluster))]
public sealed class StartDindClusterCommand : ClusterLockCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    /// <summary>How many containers are started and configured at the same time (as New-DindCluster's -Parallelism).</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Parallelism { get; set; } = new LabOptions().Parallelism;

    /// <summary>Emit the started lab (like Start-Service, nothing without it).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.ClusterName(ClusterName));
        if (!ShouldProcess(ClusterName, "Start the lab's containers and re-apply their routes")) return;
        RunLab(async lab =>
        {
            await lab.StartAsync(ClusterName, Parallelism).ConfigureAwait(false);
            if (PassThru) Emit((await lab.GetClustersAsync(ClusterName).ConfigureAwait(false)).Single());
        });
    }
}
