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
