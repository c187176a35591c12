namespace Ipv6Dind;

/// <summary>One lab as Docker shows it (Docker is the source of truth: labels on the network and containers).</summary>
public sealed class DindCluster
{
    public string ClusterName { get; init; } = "";
    /// <summary>Running (everything up), Stopped, Degraded (some containers down or missing).</summary>
    public string State { get; init; } = "";
    public int Nodes { get; init; }
    public bool NetworkOnly { get; init; }
    /// <summary>Kubernetes version of the nodes ("v1.31.2"); empty for a network lab.</summary>
    public string KubernetesVersion { get; init; } = "";
    public string ManagementPrefix { get; init; } = "";
    public string Dns64Address { get; init; } = "";
    public string Nat64Address { get; init; } = "";
    public string Nat64Prefix { get; init; } = "";
    public bool AllowAaaa { get; init; }
    public string NetworkName { get; init; } = "";
    /// <summary>The spec of record (from the DNS64 container's labels).</summary>
    public DindClusterSpec Spec { get; init; } = new();
    public override string ToString() => ClusterName;
}

/// <summary>One node container.</summary>
public sealed class DindNode
{
    public string ClusterName { get; init; } = "";
    public string NodeName { get; init; } = "";
    public int Index { get; init; }
    public string Role { get; init; } = "";
    public string State { get; init; } = "";
    /// <summary>The node's management address (not "Address": pwsh would take System.Array's Address method for <c>$nodes.Address</c>).</summary>
    public string IPv6Address { get; init; } = "";
    public string PodPrefix { get; init; } = "";
    public string ContainerId { get; init; } = "";
    public string Image { get; init; } = "";
    public override string ToString() => NodeName;
}

/// <summary>A route a node must have (Kind: Pod, Nat64, Service, Host), and whether it has it; or one it has and must not (Kind: Stale).</summary>
public sealed class DindRoute
{
    public string ClusterName { get; init; } = "";
    public string NodeName { get; init; } = "";
    public string Destination { get; init; } = "";
    public string Gateway { get; init; } = "";
    /// <summary>Kind of a route the lab made that its plan no longer has (Present; Sync-DindRoute deletes it).</summary>
    public const string StaleKind = "Stale";

    public string Kind { get; init; } = "";
    public bool Present { get; init; }
    public override string ToString() => $"{NodeName}: {Destination} via {Gateway}";
}

/// <summary>The DNS64 server of a cluster.</summary>
public sealed class Dns64Settings
{
    public string ClusterName { get; init; } = "";
    /// <summary>The DNS64 server's address.</summary>
    public string IPv6Address { get; init; } = "";
    public string Nat64Prefix { get; init; } = "";
    public bool AllowAaaa { get; init; }
    public string[] Upstream { get; init; } = Array.Empty<string>();
    public bool Running { get; init; }
}

/// <summary>One entry of tayga's dynamic map: an IPv6 source and the pool address it is translated to.</summary>
public sealed class Nat64Mapping
{
    public string ClusterName { get; init; } = "";
    public string IPv4Address { get; init; } = "";
    public string IPv6Address { get; init; } = "";
    /// <summary>Last use, as tayga recorded it (Unix time in its map), when known.</summary>
    public DateTimeOffset? LastUse { get; init; }
}

/// <summary>Output of Invoke-DindCommand.</summary>
public sealed class DindCommandResult
{
    public string ClusterName { get; init; } = "";
    public string NodeName { get; init; } = "";
    public int ExitCode { get; init; }
    public string Output { get; init; } = "";
    public string Error { get; init; } = "";
    public override string ToString() => Output;
}
