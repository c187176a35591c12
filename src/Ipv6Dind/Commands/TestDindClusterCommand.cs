using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>
/// Checks a running lab from inside its own containers and emits one CheckResult per check: containers running,
/// IPv6-only nodes, DNS64 synthesis, NAT64 reachability, AAAA handling, node to node, every planned route.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "DindCluster")]
[OutputType(typeof(CheckResult))]
public sealed class TestDindClusterCommand : LabCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    /// <summary>A name with only A records (default: RFC 7050's ipv4only.arpa).</summary>
    [Parameter]
    public string ProbeName { get; set; } = "ipv4only.arpa";

    /// <summary>An HTTP URL on an IPv4-only server, fetched from the first node through DNS64 and NAT64.</summary>
    [Parameter]
    public string? ProbeUrl { get; set; }

    /// <summary>A name with a real AAAA record, to check AAAA mode (or forced synthesis without it).</summary>
    [Parameter]
    public string? AaaaProbeName { get; set; }

    protected override void ProcessRecord()
    {
        var options = new LabTestOptions { ProbeName = ProbeName, ProbeUrl = ProbeUrl, AaaaProbeName = AaaaProbeName };
        RunLab(async lab =>
        {
            foreach (var result in await new LabTester(lab).TestAsync(ClusterName, options).ConfigureAwait(false))
                Emit(result);
        });
    }
}
