using System.Management.Automation;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>
/// Raises the host's conntrack hashsize to what kube-proxy would want (writes /sys/module/nf_conntrack/parameters/hashsize;
/// root, on the host, never from a container). -ClusterName instead gives a Kubernetes lab's kube-proxy
/// conntrack.maxPerCore 0 when it lacks it (ConfigMap kube-system/kube-proxy, then a restart of its DaemonSet) and
/// probes the hashsize write from one of its nodes, which Linux refuses there.
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "ConntrackHashsize", SupportsShouldProcess = true, DefaultParameterSetName = HostSet)]
[OutputType(typeof(ConntrackStatus))]
public sealed class RepairConntrackHashsizeCommand : LabCmdlet
{
    private const string HostSet = "Host";
    private const string ClusterSet = "Cluster";

    [Parameter(ParameterSetName = HostSet, ValueFromPipelineByPropertyName = true)]
    public int MaxPerCore { get; set; } = ConntrackHashsize.DefaultMaxPerCore;

    [Parameter(ParameterSetName = HostSet, ValueFromPipelineByPropertyName = true)]
    public int Min { get; set; } = ConntrackHashsize.DefaultMin;

    [Parameter(ParameterSetName = HostSet, ValueFromPipelineByPropertyName = true)]
    public int CpuCount { get; set; } = Environment.ProcessorCount;

    /// <summary>A lab: set its kube-proxy's conntrack.maxPerCore to 0 when it is not, and probe the write inside one of its nodes.</summary>
    [Parameter(ParameterSetName = ClusterSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ClusterSet) { RepairCluster(); return; }
        var status = Invoke(() => ConntrackHashsize.Status(CpuCount, MaxPerCore, Min));
        if (status.CurrentHashsize is null)
            ThrowDindError(new DindException(ErrorIds.ConntrackUnavailable, DindErrorCategory.ObjectNotFound,
                $"{ConntrackHashsize.HashsizePath} does not exist: the nf_conntrack module is not loaded.", ConntrackHashsize.HashsizePath, null,
                "modprobe nf_conntrack, then run Repair-ConntrackHashsize again."));
        if (!status.NeedsRepair)
        {
            WriteVerbose($"Nothing to do: {status.Detail}.");
            WriteObject(status);
            return;
        }
        if (!ShouldProcess(ConntrackHashsize.HashsizePath, $"Set the conntrack hashsize from {status.CurrentHashsize} to {status.RequiredHashsize}")) return;
        Invoke(() => { new ConntrackHashsizeWriter().WriteOnHost(status.RequiredHashsize); return 0; });
        var after = ConntrackHashsize.Status(CpuCount, MaxPerCore, Min);
        WriteObject(new ConntrackStatus
        {
            Target = after.Target, CpuCount = after.CpuCount, MaxPerCore = after.MaxPerCore, Min = after.Min,
            RequiredMax = after.RequiredMax, RequiredHashsize = after.RequiredHashsize, CurrentHashsize = after.CurrentHashsize,
            CurrentMax = after.CurrentMax, NeedsRepair = after.NeedsRepair, PreviousHashsize = status.CurrentHashsize,
            Detail = $"hashsize {status.CurrentHashsize} → {after.CurrentHashsize}; {after.Detail}",
        });
    }

    /// <summary>
    /// The core reads kube-proxy's configuration and asks (ShouldProcess, from its thread through the pump) before it
    /// changes the ConfigMap and restarts kube-proxy, and again before the probe; -WhatIf changes nothing and, when a
    /// change was needed, writes nothing.
    /// </summary>
    private void RepairCluster()
    {
        Invoke(() => LabInput.ClusterName(ClusterName));
        var cluster = ClusterName;
        RunLab(async lab =>
        {
            if (await lab.RepairConntrackAsync(cluster, Confirm).ConfigureAwait(false) is { } status) Emit(status);
        });
    }
}
