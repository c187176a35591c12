using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>
/// Switches AAAA mode (-AllowAaaa: real AAAA answers are used and the host gets the ip6tables rules for direct IPv6
/// egress; -AllowAaaa:$false: forced synthesis, and exactly those rules are removed) and changes the upstream resolvers.
/// </summary>
[Cmdlet(VerbsCommon.Set, "Dns64", SupportsShouldProcess = true)]
[OutputType(typeof(Dns64Settings))]
public sealed class SetDns64Command : ClusterLockCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    [Parameter]
    public SwitchParameter AllowAaaa { get; set; }

    [Parameter]
    [Alias("Upstream")]
    public string[]? Dns64Upstream { get; set; }

    /// <summary>Emit the new settings (like Set-Item, nothing without it).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.ClusterName(ClusterName));
        if (Dns64Upstream is not null) Invoke(() => LabInput.Upstreams(Dns64Upstream, nameof(Dns64Upstream)));
        bool? aaaa = MyInvocation.BoundParameters.ContainsKey(nameof(AllowAaaa)) ? AllowAaaa.IsPresent : null;
        if (aaaa is null && Dns64Upstream is null)
        {
            WriteWarning("Nothing to change: give -AllowAaaa (or -AllowAaaa:$false) and/or -Dns64Upstream.");
            return;
        }
        var what = string.Join("; ", new[]
        {
            aaaa is null ? null : aaaa.Value ? "use real AAAA records and add the host's AAAA-mode rules" : "force synthesis and remove the host's AAAA-mode rules",
            Dns64Upstream is null ? null : $"forward to {string.Join(", ", Dns64Upstream)}",
        }.Where(x => x is not null));
        if (!ShouldProcess(ClusterName, what)) return;
        var upstream = Dns64Upstream;
        RunLab(async lab =>
        {
            var settings = await lab.SetDns64Async(ClusterName, aaaa, upstream).ConfigureAwait(false);
            if (PassThru) Emit(settings);
        });
    }
}
