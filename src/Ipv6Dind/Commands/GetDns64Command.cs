using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>A lab's DNS64 settings: address, NAT64 prefix, AAAA mode, upstream resolvers.</summary>
[Cmdlet(VerbsCommon.Get, "Dns64")]
[OutputType(typeof(Dns64Settings))]
public sealed class GetDns64Command : LabCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    protected override void ProcessRecord() => RunLab(async lab => Emit(await lab.GetDns64Async(ClusterName).ConfigureAwait(false)));
}
