using System.Net;
using System.Numerics;

namespace Ipv6Dind.Core.Addressing;

/// <summary>
/// Spec in, plan out: defaults, validation, then every address of the cluster. Pure and deterministic;
/// linear in the node count (each node's ranges are computed by index, never by enumerating a split).
/// </summary>
public static class AddressPlanner
{
    /// <summary>Offsets inside the management prefix, after kubeadm-dind-cluster (DNS64 ::100, NAT64 ::200).</summary>
    public const int GatewayOffset = 0x1;
    public const int Dns64Offset = 0x100;
    public const int Nat64Offset = 0x200;
    public const int FirstNodeOffset = 0x1000;

    /// <summary>The cluster DNS service address: the tenth address of the service range, as kubeadm picks it.</summary>
    public const int KubeDnsOffset = 0xa;

    /// <summary>Completes and validates <paramref name="spec"/> (throwing the first problem), then plans it.</summary>
    public static AddressPlan Plan(DindClusterSpec spec, PlanEnvironment? environment = null)
    {
        environment ??= PlanEnvironment.Empty;
        var complete = SpecDefaults.Complete(spec, environment);
        SpecValidator.EnsureValid(complete, environment);
        return PlanValidated(complete, environment);
    }

    /// <summary>Plans a spec that is already complete and valid.</summary>
    public static AddressPlan PlanValidated(DindClusterSpec spec, PlanEnvironment environment)
    {
        var mgmt = Ipv6Prefix.Parse(spec.ManagementPrefix);
        var pods = Ipv6Prefix.Parse(spec.PodPrefix);
        var services = Ipv6Prefix.Parse(spec.ServicePrefix);
        var pool = Ipv4Prefix.Parse(spec.Nat64Pool);

        var nodes = new NodeAddress[spec.Nodes];
        for (var i = 1; i <= spec.Nodes; i++)
        {
            var podRange = pods.SubPrefix(spec.PodNodePrefixLength, i);
            nodes[i - 1] = new NodeAddress
            {
                ClusterName = spec.ClusterName,
                NodeName = NodeName(spec.ClusterName, i),
                Index = i,
                Role = i == 1 ? "ControlPlane" : "Worker",
                IPv6Address = Ipv6Prefix.Format(mgmt.AddressAt(FirstNodeOffset + i)),
                PodPrefix = podRange.ToString(),
                PodGateway = Ipv6Prefix.Format(podRange.AddressAt(1)),
            };
        }

        var upstream = spec.Dns64Upstream.Length > 0
            ? spec.Dns64Upstream.Select(u => System.Net.IPAddress.Parse(u.Trim()).ToString()).ToArray()
            : (environment.HostResolvers ?? Array.Empty<string>()).ToArray();

        return new AddressPlan
        {
            ClusterName = spec.ClusterName,
            Subnet = spec.Subnet,
            ManagementPrefix = mgmt.ToString(),
            ManagementGateway = Ipv6Prefix.Format(mgmt.AddressAt(GatewayOffset)),
            Dns64Address = Ipv6Prefix.Format(mgmt.AddressAt(Dns64Offset)),
            Nat64Address = Ipv6Prefix.Format(mgmt.AddressAt(Nat64Offset)),
            PodPrefix = pods.ToString(),
            PodNodePrefixLength = spec.PodNodePrefixLength,
            ServicePrefix = services.ToString(),
            KubeDnsAddress = Ipv6Prefix.Format(services.AddressAt(KubeDnsOffset)),
            Nat64Prefix = Ipv6Prefix.Parse(spec.Nat64Prefix).ToString(),
            Nat64Pool = pool.ToString(),
            // tayga's own IPv4 address sits just below the pool: outside it, and never a destination.
            Nat64Ipv4Address = IPNetwork2.ToIPAddress(IPNetwork2.ToBigInteger(pool.Network) - BigInteger.One, System.Net.Sockets.AddressFamily.InterNetwork).ToString(),
            Dns64Upstream = upstream,
            AllowAaaa = spec.AllowAaaa,
            Mtu = spec.Mtu == 0 ? SpecDefaults.DefaultMtu : spec.Mtu,
            NodeAddresses = nodes,
        };
    }

    /// <summary>Docker and host name of node <paramref name="index"/> (1-based).</summary>
    public static string NodeName(string clusterName, int index) => NodeNamePrefix(clusterName) + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>What every node name of a cluster starts with: "&lt;cluster&gt;-node-".</summary>
    public static string NodeNamePrefix(string clusterName) => clusterName + "-node-";

    /// <summary>The plan as table rows (Get-DindAddressPlan).</summary>
    public static IEnumerable<DindAddressAssignment> Rows(AddressPlan plan)
    {
        DindAddressAssignment Row(string role, string name, string address = "", string prefix = "") =>
            new() { ClusterName = plan.ClusterName, Role = role, Name = name, IPAddress = address, Prefix = prefix };

        yield return Row("Management", $"ipv6dind-{plan.ClusterName}", prefix: plan.ManagementPrefix);
        yield return Row("Gateway", "docker bridge", plan.ManagementGateway);
        yield return Row("Dns64", $"{plan.ClusterName}-dns64", plan.Dns64Address);
        yield return Row("Nat64", $"{plan.ClusterName}-nat64", plan.Nat64Address);
        foreach (var node in plan.NodeAddresses)
            yield return Row(node.Role == "ControlPlane" ? "ControlPlane" : "Worker", node.NodeName, node.IPv6Address, node.PodPrefix);
        yield return Row("Pods", "pod supernet", prefix: plan.PodPrefix);
        yield return Row("Services", "service range", prefix: plan.ServicePrefix);
        yield return Row("KubeDns", "kube-dns service", plan.KubeDnsAddress);
        yield return Row("Nat64Prefix", "DNS64 synthesis / tayga", prefix: plan.Nat64Prefix);
        yield return Row("Nat64Pool", "tayga dynamic pool", plan.Nat64Ipv4Address, plan.Nat64Pool);
        foreach (var upstream in plan.Dns64Upstream)
            yield return Row("Dns64Upstream", "forwarder", upstream);
    }
}
