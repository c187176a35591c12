// Field names checked against kubernetes/kubernetes staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go
// (master as of 2025: mode, bindAddress, clusterCIDR, conntrack.maxPerCore / min; KubeProxyConntrackConfiguration),
// behaviour against cmd/kube-proxy/app/conntrack.go (getConntrackMax: maxPerCore 0 returns 0 and SetMax is skipped),
// and the container setting against kubernetes-sigs/kind pkg/cluster/internal/kubeadm/config.go (conntrack.maxPerCore: 0).
using static Ipv6Dind.Core.Rendering.KubernetesYaml;

namespace Ipv6Dind.Core.Rendering;

/// <summary>What kube-proxy's configuration needs: the pod range, to tell cluster-local traffic apart.</summary>
public sealed record KubeProxyOptions
{
    public required string ClusterName { get; init; }

    /// <summary>The pod supernet (kube-proxy's clusterCIDR).</summary>
    public required string ClusterCidr { get; init; }

    public static KubeProxyOptions From(DindClusterSpec spec, AddressPlan plan) => new()
    {
        ClusterName = spec.ClusterName,
        ClusterCidr = plan.PodPrefix,
    };
}

/// <summary>KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1), iptables mode, IPv6 only, conntrack left alone.</summary>
public static class KubeProxyConfigRenderer
{
    public const string ApiVersion = "kubeproxy.config.k8s.io/v1alpha1";
    public const string Kind = "KubeProxyConfiguration";

    /// <summary>Where kube-proxy reads it inside its pod (kubeadm stores it in the kube-system/kube-proxy ConfigMap).</summary>
    public const string ContainerPath = "/var/lib/kube-proxy/config.conf";

    /// <summary>
    /// The conntrack saga (docs/design/README.md, "Kubernetes facts"; kubeadm-dind-cluster issue 50): with the default maxPerCore (32768)
    /// a many-core host gets nf_conntrack_max above four times the hashsize, so kube-proxy raises the hashsize
    /// by writing /sys/module/nf_conntrack/parameters/hashsize, which fails inside a container with
    /// "operation not supported" and kube-proxy exits. Command-line flags do not help once a config file is
    /// given, so the file itself says maxPerCore: 0 ("leave the limit as-is"): kube-proxy then writes neither
    /// nf_conntrack_max nor the hashsize. kind sets the same, because nf_conntrack_max is host-global.
    /// </summary>
    public const string ConntrackComment =
        "maxPerCore 0: leave nf_conntrack_max and the conntrack hashsize as they are. Raising them writes\n" +
        "/sys/module/nf_conntrack/parameters/hashsize, which fails inside a node container with\n" +
        "\"operation not supported\" (kubeadm-dind-cluster issue 50); kind sets 0 too.";

    public static RenderedConfig Render(KubeProxyOptions options) => new()
    {
        ClusterName = options.ClusterName,
        Kind = "KubeProxy",
        FileName = "kube-proxy-config.yaml",
        ContainerPath = ContainerPath,
        Content = KubernetesYaml.Write(Document(options)),
    };

    internal static Map Document(KubeProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clusterCidr = KubernetesChecks.PrefixText(options.ClusterCidr, nameof(options.ClusterCidr));

        return new Map
        {
            { "apiVersion", ApiVersion },
            { "kind", Kind },
            { "mode", "iptables" },
            // "::" marks the node's primary family as IPv6 (kube-proxy binds no socket to it); kubeadm derives the
            // same from an IPv6 advertise address, so giving it explicitly draws no warning.
            { "bindAddress", "::" },
            { "clusterCIDR", clusterCidr },
            { "conntrack", new Map { { "maxPerCore", 0, ConntrackComment } } },
        };
    }
}
