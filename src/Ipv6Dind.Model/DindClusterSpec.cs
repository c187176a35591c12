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

    /// <summary>A memberwise copy (specs are mutable bags for binding; planning never mutates its input).</summary>
    public DindClusterSpec Clone()
    {
        var copy = (DindClusterSpec)MemberwiseClone();
        copy.Dns64Upstream = (string[])Dns64Upstream.Clone();
        return copy;
    }

    public override string ToString() => $"{ClusterName} ({Nodes} node{(Nodes == 1 ? "" : "s")}, {Subnet})";
}
