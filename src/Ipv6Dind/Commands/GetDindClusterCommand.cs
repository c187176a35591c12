using System.Management.Automation;

namespace Ipv6Dind.Commands;

/// <summary>The labs on the Docker host, rebuilt from Docker's labels.</summary>
[Cmdlet(VerbsCommon.Get, "DindCluster")]
[OutputType(typeof(DindCluster))]
public sealed class GetDindClusterCommand : LabCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ClusterName")]
    [SupportsWildcards]
    public string? Name { get; set; }

    protected override void ProcessRecord()
    {
        var literal = Name is not null && !WildcardPattern.ContainsWildcardCharacters(Name);
        RunLab(async lab =>
        {
            var clusters = await lab.GetClustersAsync(literal ? Name : null).ConfigureAwait(false);
            foreach (var cluster in clusters.Where(c => Matches(c.ClusterName, Name)))
                Emit(cluster);
            if (literal && clusters.Count == 0)
                throw new DindException(ErrorIds.ClusterNotFound, DindErrorCategory.ObjectNotFound,
                    $"Name: there is no cluster named '{Name}'.", Name, "Name", "Get-DindCluster without a name lists them all.");
        });
    }
}
