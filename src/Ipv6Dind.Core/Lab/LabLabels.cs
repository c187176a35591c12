namespace Ipv6Dind.Core.Lab;

/// <summary>
/// Labels are the state (as kind keeps it): every network, container and volume the module creates carries
/// them, listing is a label filter, and the spec of record travels on the DNS64 container.
/// </summary>
public static class LabLabels
{
    public const string Cluster = "io.ipv6dind.cluster";
    public const string Role = "io.ipv6dind.role";
    public const string NodeIndex = "io.ipv6dind.node-index";
    public const string Spec = "io.ipv6dind.spec";
    public const string NetworkOnly = "io.ipv6dind.network-only";
    public const string Version = "io.ipv6dind.version";
    /// <summary>On a cluster's network: the New-DindCluster run that made it (found again when its create answer was lost).</summary>
    public const string Operation = "io.ipv6dind.operation";
    /// <summary>On the network of a Kubernetes cluster: the Kubernetes version of its nodes.</summary>
    public const string Kubernetes = "io.ipv6dind.kubernetes";
    /// <summary>On a Kubernetes node: "control-plane" or "worker".</summary>
    public const string KubernetesRole = "io.ipv6dind.kubernetes-role";

    public const string RoleNetwork = "network";
    public const string RoleDns64 = "dns64";
    public const string RoleNat64 = "nat64";
    public const string RoleNode = "node";
    /// <summary>A throw-away container that inspects a node image before bring-up (removed at once).</summary>
    public const string RoleInspect = "inspect";
    /// <summary>
    /// A throw-away container of Test-DindCluster in a node's network namespace (never its PID namespace): one that
    /// runs a tool the node image lacks (kindest/node has no dig or ping), or the PodToPod check's stand-in pod;
    /// removed when the checks end. <see cref="Probe"/> says which.
    /// </summary>
    public const string RoleProbe = "probe";
    /// <summary>On a probe container: <see cref="ProbeTools"/> or <see cref="ProbePod"/>.</summary>
    public const string Probe = "io.ipv6dind.probe";
    /// <summary>A probe container for tools the node image lacks (<see cref="NodeTools"/>).</summary>
    public const string ProbeTools = "tools";
    /// <summary>The PodToPod check's helper: it holds the stand-in pod's network namespace and runs the CNI plugin (<see cref="PodProbe"/>).</summary>
    public const string ProbePod = "pod";

    /// <summary>Containers that live only during one cmdlet call and are not part of the lab's state.</summary>
    public static bool IsTransient(string role) => role is RoleInspect or RoleProbe;

    public static Dictionary<string, string> For(string cluster, string role)
    {
        var labels = new Dictionary<string, string>(Extra(Environment.GetEnvironmentVariable(ExtraVariable)), StringComparer.Ordinal)
        {
            [Cluster] = cluster,
            [Role] = role,
            [Version] = typeof(LabLabels).Assembly.GetName().Version?.ToString(3) ?? "0",
        };
        return labels;
    }

    /// <summary>
    /// Extra labels for every object the module creates, as <c>key=value[,key=value]</c> (for example a CI job's
    /// run id, so that its cleanup removes exactly its own clusters and never a user's).
    /// </summary>
    public const string ExtraVariable = "IPV6DIND_LABELS";

    /// <summary>Parses <see cref="ExtraVariable"/>; keys in the module's own namespace (io.ipv6dind.) are refused.</summary>
    public static IReadOnlyDictionary<string, string> Extra(string? value)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(value)) return labels;
        foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=');
            var key = eq > 0 ? pair[..eq] : "";
            if (key.Length == 0 || key.StartsWith("io.ipv6dind.", StringComparison.Ordinal) || key.Any(char.IsWhiteSpace))
                throw new DindException(ErrorIds.InvalidLabel, DindErrorCategory.InvalidArgument,
                    $"{ExtraVariable}: '{pair}' is not a label the module may add (key=value; keys other than io.ipv6dind.*).", value, ExtraVariable,
                    $"Set {ExtraVariable} to key=value pairs separated by commas, e.g. com.example.ci-run=1234, or unset it.");
            labels[key] = pair[(eq + 1)..];
        }
        return labels;
    }

    public static Dictionary<string, string> ClusterFilter(string cluster) => new() { [Cluster] = cluster };

    /// <summary>Every object of every cluster (label present, any value).</summary>
    public static Dictionary<string, string> AnyCluster() => new() { [Cluster] = "" };
}

/// <summary>Docker names of a cluster's objects.</summary>
public static class LabNames
{
    public static string Network(string cluster) => $"ipv6dind-{cluster}";
    public static string Dns64(string cluster) => $"{cluster}-dns64";
    public static string Nat64(string cluster) => $"{cluster}-nat64";
    public static string Node(string cluster, int index) => Addressing.AddressPlanner.NodeName(cluster, index);
    /// <summary>
    /// The comment every host rule of a cluster carries: "ipv6dind/cluster/&lt;name&gt;/&lt;network id&gt;", the name
    /// and the first 12 hex digits of the cluster's Docker network ID. Removal deletes exactly the rules of the
    /// network it removes (label and ID), never a rule of another cluster of the same name (a removed one, another
    /// daemon's) and never a host-level rule of the module (<see cref="HostRuleNamespace"/> "daemon").
    /// </summary>
    public static string HostRuleComment(string cluster, string networkId) =>
        $"{HostRuleClusterPrefix(cluster)}{networkId[..Math.Min(12, networkId.Length)]}";

    /// <summary>What every host rule comment of clusters of this name starts with (orphans are found by it, never removed by it).</summary>
    public static string HostRuleClusterPrefix(string cluster) => $"{HostRuleNamespace}/cluster/{cluster}/";

    /// <summary>
    /// The module's comment namespace on the host: "ipv6dind/cluster/…" for clusters, "ipv6dind/daemon/…" for
    /// rules of the Docker daemon's own setup (Enable-DockerIpv6). The two can never collide, whatever a cluster is named.
    /// </summary>
    public const string HostRuleNamespace = "ipv6dind";
}
