using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>tayga's dynamic map of a lab: which IPv6 source is translated to which IPv4 pool address.</summary>
[Cmdlet(VerbsCommon.Get, "Nat64Mapping")]
[OutputType(typeof(Nat64Mapping))]
public sealed class GetNat64MappingCommand : LabCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    protected override void ProcessRecord() =>
        RunLab(async lab =>
        {
            foreach (var mapping in await lab.GetNat64MappingsAsync(ClusterName).ConfigureAwait(false))
                Emit(mapping);
        });
}
