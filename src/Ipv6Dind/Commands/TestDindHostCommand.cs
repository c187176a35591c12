using System.Management.Automation;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Commands;

/// <summary>
/// Checks whether this host can run Ipv6Dind labs and emits one CheckResult per check (Pass, Warn or Fail, with a
/// remedy): IPv6 and forwarding, accept_ra, swap, Docker and its IPv6/ip6tables, kernel modules, conntrack hashsize,
/// bridge ports, --privileged, cgroup version. Reads only; changes nothing.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "DindHost")]
[OutputType(typeof(CheckResult))]
public sealed class TestDindHostCommand : DindCmdlet
{
    /// <summary>The CPU count to judge the conntrack hashsize for (default: this host's).</summary>
    [Parameter]
    [ValidateRange(1, 65536)]
    public int CpuCount { get; set; } = Environment.ProcessorCount;

    protected override void EndProcessing() =>
        RunAsync(async ctx =>
        {
            using var docker = DockerApi.Connect();
            var inputs = await HostChecks.GatherAsync(docker, null, ctx.Cancellation).ConfigureAwait(false);
            foreach (var result in HostChecks.Evaluate(inputs with { CpuCount = CpuCount }))
                Emit(result);
        });
}
