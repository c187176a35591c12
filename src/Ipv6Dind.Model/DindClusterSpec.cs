namespace Ipv6Dind;

/// <summary>
/// The desired state of one lab: every range and option resolved, so that a spec exported to YAML
/// and imported again is the same spec. Produced by New-DindClusterSpec / Import-DindClusterSpec,
/// consumed by planning and (later) New-DindCluster. Prefixes are canonical strings ("fd00:10::/64").
/// </summary>
public sealed class DindClusterSpec
{
    /// <summary>Cluster name: lowercase DNS label, also the prefix of every Docker object name.</summary>
    public string ClusterName { get; set; } = "";

    /// <summary>Number of Kubernetes nodes (node 1 is the control plane).</summary>
    public int Nodes { get; set; } = 1;

    /// <summary>The cluster's ULA block (/32../56) the defaults were carved from; derived from the name unless given.</summary>
    public string Subnet { get; set; } = "";

    /// <summary>Management network (the Docker network): gateway ::1, DNS64 ::100, NAT64 ::200, nodes ::1000+i.</summary>
    public string ManagementPrefix { get; set; } = "";

    /// <summary>Pod supernet; node i gets the i-th sub-prefix of length <see cref="PodNodePrefixLength"/>.</summary>
    public string PodPrefix { get; set; } = "";

    /// <summary>Length of each node's pod prefix (kubeadm's node-cidr-mask-size-ipv6).</summary>
    public int PodNodePrefixLength { get; set; } = 80;

    /// <summary>Kubernetes service range (/108 or smaller).</summary>
    public string ServicePrefix { get; set; } = "";

    /// <summary>RFC 6052 NAT64 prefix used by DNS64 synthesis and the tayga translator.</summary>
    public string Nat64Prefix { get; set; } = "";

    /// <summary>IPv4 pool tayga maps IPv6 sources into; it never leaves the NAT64 container.</summary>
    public string Nat64Pool { get; set; } = "";

    /// <summary>Resolvers bind9 forwards to. Empty: the host's own non-loopback resolvers, read at bring-up.</summary>
    public string[] Dns64Upstream { get; set; } = Array.Empty<string>();

    /// <summary>Let real AAAA answers through (kubeadm-dind-cluster's DIND_ALLOW_AAAA_USE) instead of forced synthesis.</summary>
    public bool AllowAaaa { get; set; }

    /// <summary>
    /// MTU of the lab's links (1280..65535): the Docker network (so every container's eth0), tayga's device and the
    /// pod interfaces. 0 means the default, 1500.
    /// </summary>
    public int Mtu { get; set; }

    /// <summary>CNI plugin: bridge, ptp or calico.</summary>
    public string Cni { get; set; } = "bridge";

    /// <summary>Calico IPAM block size (116..128); only used when <see cref="Cni"/> is calico.</summary>
    public int CalicoBlockSize { get; set; } = 122;

    /// <summary>
    /// Path of Calico's manifest install (calico.yaml of a Calico release) that New-DindCluster -Cni calico makes
    /// IPv6-only and applies; Reset-DindCluster reads it again. Empty unless the CNI is calico.
    /// </summary>
    public string CalicoManifest { get; set; } = "";

    /// <summary>Kubernetes version the configs are rendered for (v1beta3 below 1.31, v1beta4 from 1.31).</summary>
    public string KubernetesVersion { get; set; } = "";

    /// <summary>Node image; empty means the module's own node image.</summary>
    public string NodeImage { get; set; } = "";

    /// <summary>
    /// Kubernetes feature gates, name to enabled, for every component (as kind's featureGates): the feature-gates
    /// argument of the API server, controller manager and scheduler, and featureGates of the kubelet and kube-proxy.
    /// </summary>
    public Dictionary<string, bool> FeatureGates { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The API server's --runtime-config, key to value (as kind's runtimeConfig), e.g. "api/alpha": "false".</summary>
    public Dictionary<string, string> RuntimeConfig { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Merge patches (RFC 7386, as kind applies them) for every node's kubeadm configuration: YAML documents, each
    /// applied to the rendered documents of its kind (and apiVersion, when it names one).
    /// </summary>
    public List<string> KubeadmConfigPatches { get; set; } = new();

    /// <summary>RFC 6902 patches for every node's kubeadm configuration, applied after the merge patches.</summary>
    public List<KubeadmJson6902Patch> KubeadmConfigPatchesJson6902 { get; set; } = new();

    /// <summary>kind's containerdConfigPatches (TOML). Carried in the spec; not yet applied to the nodes' containerd.</summary>
    public List<string> ContainerdConfigPatches { get; set; } = new();

    /// <summary>Per-node settings, at most one entry per node index (see <see cref="DindNodeSettings"/>).</summary>
    public List<DindNodeSettings> NodeSettings { get; set; } = new();

    /// <summary>
    /// A copy that shares no list or map with this spec (specs are mutable bags for binding; planning never mutates
    /// its input). A list left null stays null; SpecDefaults.Complete makes it empty.
    /// </summary>
    public DindClusterSpec Clone()
    {
        var copy = (DindClusterSpec)MemberwiseClone();
        copy.Dns64Upstream = (string[])Dns64Upstream.Clone();
        copy.FeatureGates = FeatureGates is null ? null! : new Dictionary<string, bool>(FeatureGates, StringComparer.Ordinal);
        copy.RuntimeConfig = RuntimeConfig is null ? null! : new Dictionary<string, string>(RuntimeConfig, StringComparer.Ordinal);
        copy.KubeadmConfigPatches = KubeadmConfigPatches is null ? null! : new List<string>(KubeadmConfigPatches);
        copy.KubeadmConfigPatchesJson6902 = KubeadmConfigPatchesJson6902?.Select(p => p?.Clone()!).ToList()!;
        copy.ContainerdConfigPatches = ContainerdConfigPatches is null ? null! : new List<string>(ContainerdConfigPatches);
        copy.NodeSettings = NodeSettings?.Select(n => n?.Clone()!).ToList()!;
        return copy;
    }

    public override string ToString() => $"{ClusterName} ({Nodes} node{(Nodes == 1 ? "" : "s")}, {Subnet})";
}
