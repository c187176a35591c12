// Checked against projectcalico/calico:
//   api/pkg/apis/projectcalico/v3/ippool.go (IPPoolSpec: cidr, blockSize, natOutgoing, nodeSelector, ipipMode, vxlanMode;
//       IPIPMode/VXLANMode values Never/Always/CrossSubnet)
//   node/pkg/lifecycle/startup/startup.go (configureIPPools: CALICO_IPV6POOL_CIDR, CALICO_IPV6POOL_BLOCK_SIZE,
//       CALICO_IPV6POOL_NAT_OUTGOING; the default IPv6 pool is named default-ipv6-ippool and never uses IPIP)
//   confd BIRD templates + the IPv6-only docs (CALICO_ROUTER_ID=hash: BGP needs a 32-bit router id, normally the
//       node's IPv4 address; "hash" derives one from the node name), operator env names (IP, IP6,
//       IP6_AUTODETECTION_METHOD, FELIX_IPV6SUPPORT) and the CNI ipam keys assign_ipv4 / assign_ipv6 (strings).
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ipv6Dind.Core.Addressing;
using static Ipv6Dind.Core.Rendering.KubernetesYaml;

namespace Ipv6Dind.Core.Rendering;

/// <summary>Calico for an IPv6-only cluster: one IPv6 pool over the pod supernet, no IPv4 anywhere.</summary>
public sealed record CalicoOptions
{
    public required string ClusterName { get; init; }

    /// <summary>The pod supernet the pool covers.</summary>
    public required string PoolCidr { get; init; }

    /// <summary>
    /// IPAM block length, 116..128. Calico takes IPv6 blocks of /116 to /128, and kubeadm refuses a node mask
    /// more than 16 bits longer than the pod subnet; the public "Kubernetes on IPv6 only" guide combines the two (largest pool /100 with /116 blocks).
    /// </summary>
    public required int BlockSize { get; init; }

    /// <summary>Masquerade pod traffic leaving the pool. Off: pods keep their own addresses, routed through the lab.</summary>
    public bool NatOutgoing { get; init; }

    /// <summary>How calico-node picks the node's IPv6 address (first-found, kubernetes-internal-ip, interface=…, cidr=…).</summary>
    public string Ip6AutodetectionMethod { get; init; } = "first-found";

    /// <summary>From a spec (an unset block size takes the planner's default) and its address plan.</summary>
    public static CalicoOptions From(DindClusterSpec spec, AddressPlan plan) => new()
    {
        ClusterName = plan.ClusterName,
        PoolCidr = plan.PodPrefix,
        BlockSize = spec.CalicoBlockSize == 0 ? SpecDefaults.DefaultCalicoBlockSize : spec.CalicoBlockSize,
    };
}

/// <summary>The IPPool manifest, the calico-node environment and the CNI IPAM fragment for an IPv6-only cluster.</summary>
public static class CalicoRenderer
{
    /// <summary>
    /// calico-node creates a pool of this name from CALICO_IPV6POOL_* when no IPv6 pool exists. Using the same
    /// name makes the manifest and the environment describe one pool, whichever reaches the datastore first.
    /// </summary>
    public const string PoolName = "default-ipv6-ippool";

    public const int MinBlockSize = 116;
    public const int MaxBlockSize = 128;

    /// <summary>Beside kind's /kind/manifests/default-cni.yaml on the control-plane node.</summary>
    public const string ManifestDirectory = "/kind/manifests";

    /// <summary>calico-ippool.yaml, calico-node-env.yaml, calico-ipam.json.</summary>
    public static IEnumerable<RenderedConfig> Render(CalicoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var pool = Pool(options);
        return new[]
        {
            File(options, "calico-ippool.yaml", KubernetesYaml.Write(IpPool(options, pool))),
            File(options, "calico-node-env.yaml", KubernetesYaml.Write(NodeEnvironment(options, pool),
                "Environment of the calico-node container (DaemonSet kube-system/calico-node) for an IPv6-only cluster.")),
            File(options, "calico-ipam.json", IpamJson()),
        };
    }

    private static Map IpPool(CalicoOptions options, string pool) => new()
    {
        { "apiVersion", "projectcalico.org/v3" },
        { "kind", "IPPool" },
        {
            "metadata", new Map
            {
                { "name", PoolName },
                { "labels", new Map { { "io.ipv6dind.cluster", options.ClusterName } } },
            }
        },
        {
            "spec", new Map
            {
                { "cidr", pool },
                { "blockSize", options.BlockSize },
                { "natOutgoing", options.NatOutgoing },
                { "nodeSelector", "all()" },
                // IPIP carries IPv4 only; nodes share one IPv6 network, so plain routing needs no VXLAN either.
                { "ipipMode", "Never" },
                { "vxlanMode", "Never" },
            }
        },
    };

    private static Seq NodeEnvironment(CalicoOptions options, string pool)
    {
        var seq = new Seq();
        foreach (var (name, value) in NodeEnvironmentVariables(options, pool))
            seq.Add(new Map { { "name", name }, { "value", value } });
        return seq;
    }

    /// <summary>
    /// The calico-node variables of an IPv6-only cluster (docs/design/README.md, "Kubernetes facts"), in order; New-DindCluster
    /// -Cni calico sets exactly these in the calico-node container of the user's calico.yaml.
    /// </summary>
    public static IReadOnlyList<(string Name, string Value)> NodeEnvironmentVariables(CalicoOptions options) =>
        NodeEnvironmentVariables(options, Pool(options));

    private static IReadOnlyList<(string Name, string Value)> NodeEnvironmentVariables(CalicoOptions options, string pool)
    {
        var method = options.Ip6AutodetectionMethod?.Trim();
        if (string.IsNullOrEmpty(method))
            throw new ArgumentException("Ip6AutodetectionMethod: give a calico-node autodetection method, e.g. first-found or kubernetes-internal-ip.", nameof(options));
        return new[]
        {
            ("FELIX_IPV6SUPPORT", "true"),
            // No IPv4 on the nodes: skip IPv4 autodetection instead of failing on it.
            ("IP", "none"),
            ("IP6", "autodetect"),
            ("IP6_AUTODETECTION_METHOD", method),
            ("CALICO_IPV6POOL_CIDR", pool),
            ("CALICO_IPV6POOL_BLOCK_SIZE", options.BlockSize.ToString(CultureInfo.InvariantCulture)),
            ("CALICO_IPV6POOL_NAT_OUTGOING", options.NatOutgoing ? "true" : "false"),
            // BGP's router id is 32 bits, normally the node's IPv4 address; without one, derive it from the node name.
            ("CALICO_ROUTER_ID", "hash"),
        };
    }

    /// <summary>The "ipam" object of Calico's CNI network config: addresses from Calico IPAM, IPv6 only.</summary>
    public static JsonObject IpamObject() => new()
    {
        ["type"] = "calico-ipam",
        // Strings, as in Calico's manifests; the plugin reads them as strings.
        ["assign_ipv4"] = "false",
        ["assign_ipv6"] = "true",
    };

    private static string IpamJson()
    {
        var text = IpamObject().ToJsonString(new JsonSerializerOptions { WriteIndented = true }).Replace("\r\n", "\n");
        return text + "\n";
    }

    private static string Pool(CalicoOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ClusterName))
            throw new ArgumentException("ClusterName: a cluster name is required.", nameof(options));
        var pool = KubernetesChecks.ParsePrefix(options.PoolCidr, nameof(options.PoolCidr));
        if (options.BlockSize < MinBlockSize || options.BlockSize > MaxBlockSize)
            throw new ArgumentException(
                $"BlockSize: Calico's IPv6 block size must be between {MinBlockSize} and {MaxBlockSize}, not {options.BlockSize}.", nameof(options));
        if (options.BlockSize < pool.Length)
            throw new ArgumentException(
                $"BlockSize: a /{options.BlockSize} block is larger than the pool {pool}; use {Math.Max(MinBlockSize, pool.Length)} to {MaxBlockSize}.", nameof(options));
        return pool.ToString();
    }

    private static RenderedConfig File(CalicoOptions options, string fileName, string content) => new()
    {
        ClusterName = options.ClusterName,
        Kind = "Calico",
        FileName = fileName,
        ContainerPath = $"{ManifestDirectory}/{fileName}",
        Content = content,
    };
}
