namespace Ipv6Dind;

/// <summary>Every address and range of one cluster, computed from a validated spec. Pure data.</summary>
public sealed record AddressPlan
{
    public string ClusterName { get; init; } = "";
    public string Subnet { get; init; } = "";
    public string ManagementPrefix { get; init; } = "";
    public string ManagementGateway { get; init; } = "";
    public string Dns64Address { get; init; } = "";
    public string Nat64Address { get; init; } = "";
    public string PodPrefix { get; init; } = "";
    public int PodNodePrefixLength { get; init; }
    public string ServicePrefix { get; init; } = "";
    /// <summary>The cluster DNS service address (services prefix + ::a), as kubeadm picks it.</summary>
    public string KubeDnsAddress { get; init; } = "";
    public string Nat64Prefix { get; init; } = "";
    public string Nat64Pool { get; init; } = "";
    /// <summary>tayga's own IPv4 address: outside the pool, inside the container only.</summary>
    public string Nat64Ipv4Address { get; init; } = "";
    public IReadOnlyList<string> Dns64Upstream { get; init; } = Array.Empty<string>();
    public bool AllowAaaa { get; init; }
    /// <summary>MTU of the lab network, tayga's device and the pod interfaces.</summary>
    public int Mtu { get; init; } = 1500;
    public IReadOnlyList<NodeAddress> NodeAddresses { get; init; } = Array.Empty<NodeAddress>();
    /// <summary>The control plane's management address, where the API server is advertised.</summary>
    public string ApiServerAddress => NodeAddresses.Count > 0 ? NodeAddresses[0].IPv6Address : "";
}

/// <summary>One node's addresses.</summary>
public sealed class NodeAddress
{
    public string ClusterName { get; init; } = "";
    public string NodeName { get; init; } = "";
    public int Index { get; init; }
    public string Role { get; init; } = "";
    /// <summary>The node's management address (not "Address": pwsh would take System.Array's Address method for <c>$nodes.Address</c>).</summary>
    public string IPv6Address { get; init; } = "";
    public string PodPrefix { get; init; } = "";
    /// <summary>The pod bridge's address (first address of the pod prefix).</summary>
    public string PodGateway { get; init; } = "";
}

/// <summary>One row of an address plan as a table: what gets which address or range.</summary>
public sealed class DindAddressAssignment
{
    public string ClusterName { get; init; } = "";
    /// <summary>Management, Gateway, Dns64, Nat64, ControlPlane, Worker, Pods, Services, KubeDns, Nat64Prefix, Nat64Pool, Dns64Upstream.</summary>
    public string Role { get; init; } = "";
    public string Name { get; init; } = "";
    /// <summary>The row's address: IPv6, or IPv4 for the NAT64 pool's own address and an IPv4 DNS64 upstream.</summary>
    public string IPAddress { get; init; } = "";
    public string Prefix { get; init; } = "";
    public override string ToString() => $"{Role} {Name} {IPAddress}{Prefix}";
}
