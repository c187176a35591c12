using System.Management.Automation;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Commands;

/// <summary>
/// Builds an IPv6-only lab on the Docker host: its network, the DNS64 (bind9) and NAT64 (tayga) containers, the
/// nodes, their routes, and in AAAA mode the host's ip6tables rules. Plans and validates everything first; any
/// failure or Ctrl-C midway removes what was created.
/// </summary>
[Cmdlet(VerbsCommon.New, "DindCluster", SupportsShouldProcess = true, DefaultParameterSetName = ParametersSet)]
[OutputType(typeof(DindCluster))]
public sealed class NewDindClusterCommand : LabCmdlet
{
    private const string ParametersSet = "Parameters";
    private const string SpecSet = "Spec";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParametersSet)]
    [Alias("ClusterName")]
    public string Name { get; set; } = "";

    [Parameter(ParameterSetName = ParametersSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Nodes { get; set; } = 1;

    [Parameter(ParameterSetName = ParametersSet)]
    public string? Subnet { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    public string? Nat64Prefix { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    public string[]? Dns64Upstream { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    public SwitchParameter AllowAaaa { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    public string? NodeImage { get; set; }

    /// <summary>A spec from New-DindClusterSpec or Import-DindClusterSpec, for every other setting.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SpecSet)]
    public DindClusterSpec Spec { get; set; } = null!;

    /// <summary>Only the network lab: DNS64, NAT64, IPv6-only nodes and their routes (no Kubernetes).</summary>
    [Parameter]
    public SwitchParameter NetworkOnly { get; set; }

    /// <summary>How many nodes are created and configured at the same time.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Parallelism { get; set; } = 8;

    protected override void ProcessRecord()
    {
        var spec = ParameterSetName == SpecSet ? Spec.Clone() : new DindClusterSpec
        {
            ClusterName = Name,
            Nodes = Nodes,
            Subnet = Subnet ?? "",
            Nat64Prefix = Nat64Prefix ?? "",
            Dns64Upstream = Dns64Upstream ?? Array.Empty<string>(),
            AllowAaaa = AllowAaaa.IsPresent,
            NodeImage = NodeImage ?? "",
        };
        // Pure checks first: a bad spec is reported before Docker is even asked.
        var planned = Invoke(() => AddressPlanner.Plan(spec, new PlanEnvironment()));
        var what = $"Create an IPv6-only lab with {planned.NodeAddresses.Count} node(s) on {planned.ManagementPrefix}, DNS64 {planned.Dns64Address}, NAT64 {planned.Nat64Prefix}{(spec.AllowAaaa ? ", AAAA mode with host ip6tables rules" : "")}";
        if (!ShouldProcess(spec.ClusterName, what))
            return;
        if (!NetworkOnly)
            WriteWarning("The Kubernetes phase is not available in this version; building the network lab (as with -NetworkOnly).");
        RunLab(async lab => Emit(await lab.CreateAsync(spec, new LabOptions { NetworkOnly = true, Parallelism = Parallelism }).ConfigureAwait(false)));
    }
}
