// Field names checked against kubernetes/kubernetes staging/src/k8s.io/kubelet/config/v1beta1/types.go
// (master as of 2025: address, healthzBindAddress, clusterDNS, clusterDomain, cgroupDriver, failSwapOn,
// imageGCHighThresholdPercent, evictionHard) and the node-in-a-container settings against
// kubernetes-sigs/kind pkg/cluster/internal/kubeadm/config.go (ConfigTemplateBetaV3, KubeletConfiguration).
using static Ipv6Dind.Core.Rendering.KubernetesYaml;

namespace Ipv6Dind.Core.Rendering;

/// <summary>What the kubelet configuration needs: the cluster DNS service address and domain.</summary>
public sealed record KubeletOptions
{
    public required string ClusterName { get; init; }

    /// <summary>The kube-dns service address (service prefix + ::a, where kubeadm puts CoreDNS).</summary>
    public required string KubeDnsAddress { get; init; }

    public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>The kubelet's version ("v1.35.0"), for fields that exist only from some release on; null: none of them.</summary>
    public string? KubernetesVersion { get; init; }

    public static KubeletOptions From(DindClusterSpec spec, AddressPlan plan) => new()
    {
        ClusterName = spec.ClusterName,
        KubeDnsAddress = plan.KubeDnsAddress,
        KubernetesVersion = string.IsNullOrWhiteSpace(spec.KubernetesVersion) ? null : spec.KubernetesVersion,
    };

    /// <summary>failCgroupV1 exists from 1.31 (KEP-5573); from 1.35 its default (true) makes the kubelet refuse cgroup v1 hosts.</summary>
    public static readonly Version FailCgroupV1Since = new(1, 31);
}

/// <summary>KubeletConfiguration (kubelet.config.k8s.io/v1beta1) for nodes that are containers on an IPv6-only network.</summary>
public static class KubeletConfigRenderer
{
    public const string ApiVersion = "kubelet.config.k8s.io/v1beta1";
    public const string Kind = "KubeletConfiguration";

    /// <summary>Where the kubelet reads it; kubeadm writes it there from the copy embedded in kubeadm.yaml.</summary>
    public const string ContainerPath = "/var/lib/kubelet/config.yaml";

    /// <summary>The configuration on its own (kubeadm gets the same document inside kubeadm.yaml).</summary>
    public static RenderedConfig Render(KubeletOptions options) => new()
    {
        ClusterName = options.ClusterName,
        Kind = "Kubelet",
        FileName = "kubelet-config.yaml",
        ContainerPath = ContainerPath,
        Content = KubernetesYaml.Write(Document(options)),
    };

    internal static Map Document(KubeletOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dns = KubernetesChecks.Ipv6Address(options.KubeDnsAddress, nameof(options.KubeDnsAddress));
        KubernetesChecks.DnsDomain(options.ClusterDomain, nameof(options.ClusterDomain));

        var map = new Map
        {
            { "apiVersion", ApiVersion },
            { "kind", Kind },
            // kindest/node runs systemd as PID 1; kind uses the systemd driver from 1.24 on.
            { "cgroupDriver", "systemd" },
            // Serve on every IPv6 address (the default 0.0.0.0 is IPv4 in spirit, and the node has no IPv4).
            { "address", "::" },
            // Healthz stays on loopback, as upstream's 127.0.0.1 default does. kubeadm >= 1.30.2 probes exactly
            // this address during init/join (kubernetes#125265); older kubeadm probes localhost, which is ::1 too.
            { "healthzBindAddress", "::1" },
            { "clusterDNS", new Seq { dns } },
            { "clusterDomain", options.ClusterDomain },
            // Nodes are containers on a host that may have swap.
            { "failSwapOn", false },
            {
                "imageGCHighThresholdPercent", 100,
                "Disk resource management off (as kind does): the kubelet sees the host disk behind the node\n" +
                "container's runtime and would try to reclaim space that is not the node's to reclaim."
            },
            {
                "evictionHard", new Map
                {
                    { "nodefs.available", "0%" },
                    { "nodefs.inodesFree", "0%" },
                    { "imagefs.available", "0%" },
                }
            },
        };
        if (Addressing.SpecValidator.ParseKubernetesVersion(options.KubernetesVersion) is { } v && v >= KubeletOptions.FailCgroupV1Since)
            map.Add("failCgroupV1", false,
                "Docker hosts with cgroup v1 are common for labs (this project's CI is one); from 1.35 the kubelet\n" +
                "refuses them unless told not to (kubernetes#134298). On cgroup v2 the field changes nothing.");
        return map;
    }
}
