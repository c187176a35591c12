using System.Management.Automation;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Commands;

/// <summary>
/// Builds a complete, validated cluster spec: defaults (docs/design/README.md, "Address plan") for whatever is not given, then every
/// validation rule, including overlap with the host's own addresses and routes (read, never changed).
/// Pure: nothing is created.
/// </summary>
[Cmdlet(VerbsCommon.New, "DindClusterSpec")]
[OutputType(typeof(DindClusterSpec))]
public sealed class NewDindClusterSpecCommand : DindCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    public string ClusterName { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, int.MaxValue)]
    public int Nodes { get; set; } = 1;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Subnet { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ManagementPrefix { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? PodPrefix { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int PodNodePrefixLength { get; set; } = SpecDefaults.DefaultPodNodePrefixLength;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ServicePrefix { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Nat64Prefix { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Nat64Pool { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[]? Dns64Upstream { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter AllowAaaa { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("bridge", "ptp", "calico")]
    public string? Cni { get; set; }

    /// <summary>MTU of the lab's links: the Docker network, tayga's device and the pod interfaces (1280..65535; default 1500).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int Mtu { get; set; } = SpecDefaults.DefaultMtu;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int CalicoBlockSize { get; set; } = SpecDefaults.DefaultCalicoBlockSize;

    /// <summary>With -Cni calico: Calico's manifest install (calico.yaml) that New-DindCluster makes IPv6-only and applies.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? CalicoManifest { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? KubernetesVersion { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? NodeImage { get; set; }

    /// <summary>Skip the overlap check against the host's own addresses and routes (e.g. to plan for another machine).</summary>
    [Parameter]
    public SwitchParameter SkipHostCheck { get; set; }

    protected override void ProcessRecord()
    {
        var input = new DindClusterSpec
        {
            ClusterName = ClusterName,
            Nodes = Nodes,
            Subnet = Subnet ?? "",
            ManagementPrefix = ManagementPrefix ?? "",
            PodPrefix = PodPrefix ?? "",
            PodNodePrefixLength = PodNodePrefixLength,
            ServicePrefix = ServicePrefix ?? "",
            Nat64Prefix = Nat64Prefix ?? "",
            Nat64Pool = Nat64Pool ?? "",
            Dns64Upstream = Dns64Upstream ?? Array.Empty<string>(),
            AllowAaaa = AllowAaaa.IsPresent,
            Cni = Cni ?? "", // unset: the planning default (SpecDefaults.Complete), as New-DindCluster
            CalicoBlockSize = CalicoBlockSize,
            Mtu = Mtu,
            CalicoManifest = CalicoManifest is null ? "" : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Invoke(() => LabInput.Path(CalicoManifest, nameof(CalicoManifest)))),
            KubernetesVersion = KubernetesVersion ?? "",
            NodeImage = NodeImage ?? "",
        };
        var environment = SkipHostCheck ? PlanEnvironment.Empty : HostEnvironment.Read(this);
        var spec = Invoke(() => SpecBuilder.Resolve(input, environment));
        var upstreams = spec.Dns64Upstream.Length > 0 ? spec.Dns64Upstream : environment.HostResolvers ?? Array.Empty<string>();
        if (Nat64Advice.WellKnownPrefixWarning(spec.Nat64Prefix, upstreams, spec.Subnet) is { } nat64Warning)
            WriteWarning(nat64Warning);
        WriteVerbose($"Cluster '{spec.ClusterName}': subnet {spec.Subnet}, management {spec.ManagementPrefix}, pods {spec.PodPrefix} (/{spec.PodNodePrefixLength} per node), services {spec.ServicePrefix}, NAT64 {spec.Nat64Prefix} with pool {spec.Nat64Pool}.");
        WriteObject(spec);
    }
}

/// <summary>Reads the host facts for validation, saying so in -Verbose.</summary>
internal static class HostEnvironment
{
    public static PlanEnvironment Read(PSCmdlet cmdlet)
    {
        var environment = HostNetworkFacts.Read();
        cmdlet.WriteVerbose($"Checking against {environment.Reserved.Count} host address(es) and route(s); host resolvers: {string.Join(", ", environment.HostResolvers ?? Array.Empty<string>())}.");
        return environment;
    }
}
