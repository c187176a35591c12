using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Ipv6Dind.Core.Addressing;

/// <summary>
/// Fills the unset fields of a spec with the defaults of docs/design/README.md ("Address plan"). Deterministic: the same name gives the
/// same ranges on every machine, so a rebuild gets the same addresses (kind derives its IPv6 network the
/// same way, from a hash of the name).
/// </summary>
public static class SpecDefaults
{
    /// <summary>Subnet ids (bits 48..63 of the cluster /48) of each range, after kubeadm-dind-cluster's fd00:10/30/40 layout.</summary>
    public const int ManagementSubnetId = 0x10;
    public const int ServiceSubnetId = 0x30;
    public const int PodSubnetId = 0x40;
    public const int Nat64SubnetId = 0x64;

    public const int DefaultPodNodePrefixLength = 80;
    public const int DefaultServicePrefixLength = 112;
    public const int DefaultCalicoBlockSize = 122;
    public const string DefaultCni = "bridge";
    /// <summary>Ethernet's MTU, Docker's own default for a network.</summary>
    public const int DefaultMtu = 1500;
    /// <summary>IPv6's minimum link MTU (RFC 8200) and the largest an IP packet can be.</summary>
    public const int MinMtu = 1280, MaxMtu = 65535;
    public const string DefaultKubernetesVersion = "v1.33.0";

    /// <summary>Base of the default NAT64 pools: 198.18.0.0/16 (RFC 2544 benchmarking space, never routed on the Internet).</summary>
    private static readonly IPAddress PoolBase = IPAddress.Parse("198.18.0.0");

    /// <summary>
    /// True when a spec's CNI is the default: unset, or bridge (the value <see cref="Complete"/> fills in, so a spec
    /// from New-DindClusterSpec without -Cni and one New-DindCluster plans without -Cni say the same). With a
    /// Kubernetes node image lacking the bridge plugin, a default CNI becomes the plugin the image has.
    /// </summary>
    public static bool IsDefaultCni(string? cni) =>
        string.IsNullOrWhiteSpace(cni) || string.Equals(cni.Trim(), DefaultCni, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// True when a spec's Kubernetes version is the default: unset, or the value <see cref="Complete"/> fills in. A
    /// lab takes the version of its node image; only a version other than the default, in a spec, is worth a warning
    /// when the image has another (as with the CNI, New-DindClusterSpec without -KubernetesVersion and New-DindCluster
    /// without it must behave the same).
    /// </summary>
    public static bool IsDefaultKubernetesVersion(string? version) =>
        string.IsNullOrWhiteSpace(version) || version.Trim().TrimStart('v') == DefaultKubernetesVersion.TrimStart('v');

    /// <summary>A copy of <paramref name="spec"/> with every unset field filled in.</summary>
    public static DindClusterSpec Complete(DindClusterSpec spec, PlanEnvironment? environment = null)
    {
        var s = spec.Clone();
        s.ClusterName = (s.ClusterName ?? "").Trim(' '); // blanks only: "lab\r\n" is refused, not quietly made "lab"
        s.Dns64Upstream ??= Array.Empty<string>();
        if (string.IsNullOrWhiteSpace(s.Cni)) s.Cni = DefaultCni;
        s.Cni = s.Cni.Trim().ToLowerInvariant();
        if (s.PodNodePrefixLength == 0) s.PodNodePrefixLength = DefaultPodNodePrefixLength;
        if (s.CalicoBlockSize == 0) s.CalicoBlockSize = DefaultCalicoBlockSize;
        if (s.Mtu == 0) s.Mtu = DefaultMtu;
        if (string.IsNullOrWhiteSpace(s.KubernetesVersion)) s.KubernetesVersion = DefaultKubernetesVersion;
        s.NodeImage ??= "";
        s.FeatureGates ??= new(StringComparer.Ordinal);
        s.RuntimeConfig ??= new(StringComparer.Ordinal);
        s.KubeadmConfigPatches ??= new();
        s.KubeadmConfigPatchesJson6902 ??= new();
        s.ContainerdConfigPatches ??= new();
        s.NodeSettings ??= new();

        if (string.IsNullOrWhiteSpace(s.Subnet))
            s.Subnet = DeriveSubnet(s.ClusterName, environment ?? PlanEnvironment.Empty).ToString();

        // Ranges carved from the subnet only when the subnet parses; otherwise validation reports the subnet.
        var subnet = Ipv6Prefix.TryParse(s.Subnet, out _);
        if (subnet is not null && subnet.Length <= 56)
        {
            if (string.IsNullOrWhiteSpace(s.ManagementPrefix)) s.ManagementPrefix = Carve(subnet, ManagementSubnetId, 64).ToString();
            if (string.IsNullOrWhiteSpace(s.PodPrefix)) s.PodPrefix = Carve(subnet, PodSubnetId, 64).ToString();
            if (string.IsNullOrWhiteSpace(s.ServicePrefix)) s.ServicePrefix = Carve(subnet, ServiceSubnetId, DefaultServicePrefixLength).ToString();
            if (string.IsNullOrWhiteSpace(s.Nat64Prefix)) s.Nat64Prefix = Carve(subnet, Nat64SubnetId, 96).ToString();
        }
        if (string.IsNullOrWhiteSpace(s.Nat64Pool)) s.Nat64Pool = DerivePool(s.ClusterName, Math.Max(1, s.Nodes), environment ?? PlanEnvironment.Empty).ToString();
        return s;
    }

    /// <summary>
    /// RFC 4193-style ULA /48 from the name: fd + 40 bits of SHA-256(name). If it would overlap a reserved
    /// range (a host address, another cluster), the next attempt hashes "name/attempt", as kind retries.
    /// </summary>
    public static Ipv6Prefix DeriveSubnet(string name, PlanEnvironment environment)
    {
        var reserved = environment.Reserved
            .Select(r => Ipv6Prefix.TryParse(r.Prefix, out _))
            .Where(p => p is not null)
            .ToList();
        for (var attempt = 0; ; attempt++)
        {
            var candidate = UlaFromName(attempt == 0 ? name : $"{name}/{attempt}");
            if (!reserved.Any(r => r!.Overlaps(candidate)) || attempt >= 64)
                return candidate;
        }
    }

    internal static Ipv6Prefix UlaFromName(string seed)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed));
        var bytes = new byte[16];
        bytes[0] = 0xfd;
        Array.Copy(hash, 0, bytes, 1, 5);
        return Ipv6Prefix.Containing(new IPAddress(bytes), 48);
    }

    /// <summary>The range with subnet id <paramref name="subnetId"/> in bits 48..63, of length <paramref name="length"/>.</summary>
    public static Ipv6Prefix Carve(Ipv6Prefix subnet, int subnetId, int length)
    {
        var start = IPNetwork2.ToBigInteger(subnet.Network) + (new BigInteger(subnetId) << 64);
        return Ipv6Prefix.Containing(IPNetwork2.ToIPAddress(start, System.Net.Sockets.AddressFamily.InterNetworkV6), length);
    }

    /// <summary>
    /// Default NAT64 pool: the upper half of a block inside 198.18.0.0/16 chosen by the name's hash, sized for
    /// two mappings per node and never smaller than a /25 (kubeadm-dind-cluster's 126-address pool).
    /// </summary>
    public static Ipv4Prefix DerivePool(string name, int nodes) => DerivePool(name, nodes, PlanEnvironment.Empty);

    /// <summary>
    /// As above, but a pool that would overlap an IPv4 range in use (a Docker network such as the default bridge,
    /// a host route, another cluster's pool) is derived again from "name/attempt", as the subnet is: a default must
    /// not fail where another default would do. A pool given by the user is never moved (validation reports it).
    /// </summary>
    public static Ipv4Prefix DerivePool(string name, int nodes, PlanEnvironment environment)
    {
        var reserved = environment.Reserved
            .Select(r => Ipv4Prefix.TryParse(r.Prefix, out _))
            .Where(p => p is not null)
            .ToList();
        for (var attempt = 0; ; attempt++)
        {
            var candidate = DerivePoolFrom(attempt == 0 ? name : $"{name}/{attempt}", nodes);
            if (!reserved.Any(r => r!.Overlaps(candidate)) || attempt >= 64)
                return candidate;
        }
    }

    private static Ipv4Prefix DerivePoolFrom(string name, int nodes)
    {
        var poolLength = 25;
        while (poolLength > 17 && (1L << (32 - poolLength)) < 2L * nodes) poolLength--;
        var blockLength = poolLength - 1;
        var blocks = 1 << (blockLength - 16);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("nat64-pool/" + name));
        var index = (int)(BitConverter.ToUInt32(hash, 0) % (uint)blocks);
        var blockStart = IPNetwork2.ToBigInteger(PoolBase) + ((BigInteger)index << (32 - blockLength));
        var poolStart = blockStart + (BigInteger.One << (32 - poolLength));
        return Ipv4Prefix.Containing(IPNetwork2.ToIPAddress(poolStart, System.Net.Sockets.AddressFamily.InterNetwork), poolLength);
    }
}
