using System.Management.Automation;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Commands;

/// <summary>Every address and range a spec gives its cluster, one row each: what New-DindCluster will create.</summary>
[Cmdlet(VerbsCommon.Get, "DindAddressPlan")]
[OutputType(typeof(DindAddressAssignment), typeof(AddressPlan))]
public sealed class GetDindAddressPlanCommand : DindCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public DindClusterSpec Spec { get; set; } = null!;

    /// <summary>Emit the plan as one object instead of table rows.</summary>
    [Parameter]
    public SwitchParameter AsObject { get; set; }

    protected override void ProcessRecord()
    {
        // Host resolvers fill in the DNS64 upstream when the spec names none, as bring-up will.
        var environment = new PlanEnvironment { HostResolvers = HostNetworkFacts.Resolvers("/") };
        var plan = Invoke(() => AddressPlanner.Plan(Spec, environment));
        if (AsObject) { WriteObject(plan); return; }
        foreach (var row in AddressPlanner.Rows(plan))
            WriteObject(row);
    }
}
