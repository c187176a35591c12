using System.Management.Automation;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>
/// Removes everything of a lab: containers, volumes, its network and its host ip6tables rules (found by label and
/// comment). Removing a cluster that is not there is not an error, so scheduled scripts can run it blindly.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "DindCluster", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveDindClusterCommand : ClusterLockCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string[] ClusterName { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var name in ClusterName)
        {
            if (Core.Addressing.SpecValidator.ClusterNameProblem(name) is { } problem)
                ThrowDindError(new DindException(ErrorIds.InvalidClusterName, DindErrorCategory.InvalidArgument, $"ClusterName: {problem}", name, "ClusterName",
                    "Give the name of a cluster (Get-DindCluster lists them)."));
            if (!ShouldProcess(name, "Remove the lab's containers, volumes, network and host rules"))
                continue;
            RunLab(async lab =>
            {
                var removed = await lab.RemoveAsync(name).ConfigureAwait(false);
                lab.Log.Verbose(removed == 0 ? $"There was no cluster '{name}'; nothing to remove." : $"Removed cluster '{name}' ({removed} object(s)).");
            });
        }
    }
}
