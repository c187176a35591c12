using System.Management.Automation;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Commands;

/// <summary>
/// Builds an IPv6-only lab on the Docker host: its network, the DNS64 (bind9) and NAT64 (tayga) containers, the
/// nodes, their routes, and in AAAA mode the host's ip6tables rules. Plans and validates everything first; any
/// failure or Ctrl-C midway removes what was created.
/// </summary>
[Cmdlet(VerbsCommon.New, "DindCluster", SupportsShouldProcess = true, DefaultParameterSetName = SpecSet)]
[OutputType(typeof(DindCluster))]
public sealed class NewDindClusterCommand : LabBuildCmdlet
{
    private const string ParametersSet = "Parameters";
    private const string SpecSet = "Spec";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ParametersSet)]
    [Alias("Name")]
    public string ClusterName { get; set; } = "";

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

    /// <summary>
    /// The node image. With Kubernetes: a kindest/node-compatible image (systemd, containerd, kubeadm, kubelet,
    /// /kind/version), or one from Build-DindImage -KubernetesBinaryPath. Network lab: ipv6dind/node by default.
    /// </summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public string? NodeImage { get; set; }

    /// <summary>Expected Kubernetes version of the node image (checked against its /kind/version; needed when it has none).</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public string? KubernetesVersion { get; set; }

    /// <summary>
    /// The pod network: the bridge or ptp CNI plugin with one pod /80 per node, or calico (Calico's manifest install,
    /// given with -CalicoManifest, made IPv6-only).
    /// </summary>
    [Parameter(ParameterSetName = ParametersSet)]
    [ValidateSet("bridge", "ptp", "calico")]
    public string? Cni { get; set; }

    /// <summary>With -Cni calico: Calico's manifest install (calico.yaml of a Calico release); its images must be on the Docker host.</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public string? CalicoManifest { get; set; }

    /// <summary>With -Cni calico: the IPAM block size, 116 to 128.</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public int CalicoBlockSize { get; set; } = SpecDefaults.DefaultCalicoBlockSize;

    /// <summary>
    /// MTU of the lab's links: the Docker network (every container's eth0), tayga's device and the pod interfaces;
    /// 1280 to 65535, default 1500. A larger one (e.g. 9000) lets tayga translate more per packet.
    /// </summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public int Mtu { get; set; } = SpecDefaults.DefaultMtu;

    /// <summary>A spec from New-DindClusterSpec or Import-DindClusterSpec, for every other setting.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SpecSet)]
    public DindClusterSpec Spec { get; set; } = null!;

    /// <summary>Only the network lab: DNS64, NAT64, IPv6-only nodes and their routes (no Kubernetes).</summary>
    [Parameter]
    public SwitchParameter NetworkOnly { get; set; }

    protected override void ProcessRecord()
    {
        var spec = ParameterSetName == SpecSet ? Spec.Clone() : new DindClusterSpec
        {
            ClusterName = ClusterName,
            Nodes = Nodes,
            Subnet = Subnet ?? "",
            Nat64Prefix = Nat64Prefix ?? "",
            Dns64Upstream = Dns64Upstream ?? Array.Empty<string>(),
            AllowAaaa = AllowAaaa.IsPresent,
            NodeImage = NodeImage ?? "",
            KubernetesVersion = KubernetesVersion ?? "",
            Cni = Cni ?? "", // unset: the planning default (SpecDefaults), bridge, or the plugin a Kubernetes node image has (kindest/node: ptp)
            CalicoBlockSize = CalicoBlockSize,
            CalicoManifest = CalicoManifest ?? "",
            Mtu = Mtu,
        };
        // Reset-DindCluster and Add-DindNode read the manifest again, from wherever they run: keep a full path.
        if (CalicoManifest is not null || !string.IsNullOrEmpty(spec.CalicoManifest))
            spec.CalicoManifest = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Invoke(() => LabInput.Path(spec.CalicoManifest, nameof(CalicoManifest))));
        // Pure checks first: a bad spec is reported before Docker is even asked.
        var planned = Invoke(() => AddressPlanner.Plan(spec, new PlanEnvironment()));
        var what = $"Create an IPv6-only {(NetworkOnly ? "network lab" : "Kubernetes cluster")} with {planned.NodeAddresses.Count} node(s) on {planned.ManagementPrefix}, DNS64 {planned.Dns64Address}, NAT64 {planned.Nat64Prefix}{(spec.AllowAaaa ? ", AAAA mode with host ip6tables rules" : "")}";
        if (!ShouldProcess(spec.ClusterName, what))
        {
            // What the bring-up would warn about (it warns itself when it runs).
            if (Nat64Advice.WellKnownPrefixWarning(planned.Nat64Prefix, planned.Dns64Upstream, planned.Subnet) is { } nat64Warning)
                WriteWarning(nat64Warning);
            return;
        }
        var options = BuildOptions(NetworkOnly.IsPresent, KubernetesVersion) with
        {
            // -Cni named here is the user's choice; a spec's bridge (given or defaulted) is the default either way.
            CniExplicit = ParameterSetName == ParametersSet ? MyInvocation.BoundParameters.ContainsKey(nameof(Cni)) : null,
        };
        RunLab(async lab => Emit(await lab.CreateAsync(spec, options).ConfigureAwait(false)));
    }
}
