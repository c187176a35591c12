using System.Management.Automation;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Commands;

/// <summary>
/// The conntrack hashsize of this host against kube-proxy's rule (max = max(MaxPerCore × CPUs, Min); the hashsize is
/// raised to max / 4 when below). -CpuCount asks what a host of that many CPUs would need.
/// </summary>
[Cmdlet(VerbsCommon.Get, "ConntrackHashsize")]
[OutputType(typeof(ConntrackStatus))]
public sealed class GetConntrackHashsizeCommand : DindCmdlet
{
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int MaxPerCore { get; set; } = ConntrackHashsize.DefaultMaxPerCore;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int Min { get; set; } = ConntrackHashsize.DefaultMin;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int CpuCount { get; set; } = Environment.ProcessorCount;

    protected override void ProcessRecord() => WriteObject(Invoke(() => ConntrackHashsize.Status(CpuCount, MaxPerCore, Min)));
}
