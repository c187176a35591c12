using System.Management.Automation;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Commands;

/// <summary>
/// ndppd.conf for a host whose upstream router treats the cluster's prefix as on-link (docs/design/README.md, "Kubernetes facts", proxy NDP): proxy neighbor
/// discovery on the uplink for the pods (auto: only while a route to the pod exists) and services (static).
/// </summary>
[Cmdlet(VerbsCommon.New, "NdppdConfig", SupportsShouldProcess = true, DefaultParameterSetName = ObjectsSet)]
[OutputType(typeof(RenderedConfig), ParameterSetName = new[] { ObjectsSet })]
[OutputType(typeof(FileInfo), ParameterSetName = new[] { FilesSet })]
public sealed class NewNdppdConfigCommand : ConfigCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public DindClusterSpec Spec { get; set; } = null!;

    /// <summary>The host's uplink, where the router's neighbor solicitations arrive.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Interface")]
    public string UplinkInterface { get; set; } = "eth0";

    protected override void ProcessRecord()
    {
        var plan = Invoke(() => AddressPlanner.Plan(Spec));
        WriteConfigs(new[] { Invoke(() => NdppdRenderer.Render(NdppdOptions.From(plan, UplinkInterface))) });
    }
}
