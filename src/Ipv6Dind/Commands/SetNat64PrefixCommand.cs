using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>Moves a lab to another NAT64 prefix: tayga and bind9 are re-rendered and every node re-routed.</summary>
[Cmdlet(VerbsCommon.Set, "Nat64Prefix", SupportsShouldProcess = true)]
[OutputType(typeof(DindCluster))]
public sealed class SetNat64PrefixCommand : ClusterLockCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [Alias("Prefix")]
    public string Nat64Prefix { get; set; } = "";

    /// <summary>Emit the lab with its new prefix (like Set-Item, nothing without it).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.ClusterName(ClusterName));
        var parsed = Invoke(() => Core.Addressing.Nat64Conversion.ParseNat64Prefix(Nat64Prefix));
        if (!ShouldProcess(ClusterName, $"Move NAT64 and DNS64 synthesis to {parsed} and re-route every node")) return;
        RunLab(async lab =>
        {
            var cluster = await lab.SetNat64PrefixAsync(ClusterName, parsed.ToString()).ConfigureAwait(false);
            if (PassThru) Emit(cluster);
        });
    }
}
