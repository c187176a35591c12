using System.Management.Automation;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Commands;

/// <summary>
/// Calico's IPv6-only settings for a spec: the IPPool (pod prefix, block size), the calico-node environment
/// (FELIX_IPV6SUPPORT, IP=none, IP6=autodetect, …) and the calico-ipam CNI fragment.
/// </summary>
[Cmdlet(VerbsCommon.New, "CalicoConfig", SupportsShouldProcess = true, DefaultParameterSetName = ObjectsSet)]
[OutputType(typeof(RenderedConfig), ParameterSetName = new[] { ObjectsSet })]
[OutputType(typeof(FileInfo), ParameterSetName = new[] { FilesSet })]
public sealed class NewCalicoConfigCommand : ConfigCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public DindClusterSpec Spec { get; set; } = null!;

    /// <summary>Masquerade pod traffic leaving the pool (off by default: the lab routes pods natively).</summary>
    [Parameter]
    public SwitchParameter NatOutgoing { get; set; }

    protected override void ProcessRecord()
    {
        var spec = Spec.Clone();
        if (!string.Equals(spec.Cni, "calico", StringComparison.OrdinalIgnoreCase))
        {
            WriteVerbose($"The spec's CNI is '{spec.Cni}'; rendering Calico settings for its pod prefix anyway (block size {spec.CalicoBlockSize}).");
            spec.Cni = "calico";
        }
        var plan = Invoke(() => AddressPlanner.Plan(spec));
        var options = CalicoOptions.From(spec, plan) with { NatOutgoing = NatOutgoing.IsPresent };
        WriteConfigs(Invoke(() => CalicoRenderer.Render(options).ToList()));
    }
}
