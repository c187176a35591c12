using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>The labs on the Docker host, rebuilt from Docker's labels.</summary>
[Cmdlet(VerbsCommon.Get, "DindCluster")]
[OutputType(typeof(DindCluster))]
public sealed class GetDindClusterCommand : LabCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string[]? ClusterName { get; set; }

    protected override void ProcessRecord()
    {
        var names = ClusterName ?? Array.Empty<string>();
        foreach (var name in names) Invoke(() => LabInput.ClusterNamePattern(name, nameof(ClusterName)));
        var missing = new List<string>();
        RunLab(async lab =>
        {
            var clusters = await lab.GetClustersAsync(names.Length == 1 && !WildcardPattern.ContainsWildcardCharacters(names[0]) ? names[0] : null).ConfigureAwait(false);
            foreach (var cluster in clusters.Where(c => names.Length == 0 || names.Any(n => Matches(c.ClusterName, n))))
                Emit(cluster);
            missing.AddRange(names.Where(n => !WildcardPattern.ContainsWildcardCharacters(n) && clusters.All(c => c.ClusterName != n)));
        });
        // A literal name that matches nothing is a non-terminating error, as in Get-Process -Name: the others are still listed.
        foreach (var name in missing)
            WriteDindError(LabErrors.ClusterNotFound(name));
    }
}
