namespace Ipv6Dind.Core.Lab;

/// <summary>How New-DindCluster, Reset-DindCluster and Add-DindNode build a lab or its nodes.</summary>
public sealed record LabOptions
{
    /// <summary>How long an operation waits for another run holding the cluster's lock, unless told otherwise.</summary>
    public static readonly TimeSpan DefaultLockWait = TimeSpan.FromSeconds(60);

    /// <summary>Only the network lab (no Kubernetes phase).</summary>
    public bool NetworkOnly { get; init; } = true;
    /// <summary>How many nodes are created and configured at the same time, unless told otherwise.</summary>
    public const int DefaultParallelism = 8;

    /// <summary>Nodes created and configured at the same time.</summary>
    public int Parallelism { get; init; } = DefaultParallelism;
    /// <summary>How long DNS64 and NAT64 may take to answer after start.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>The Kubernetes version the user asked for (-KubernetesVersion): the node image must have it. Null: the image's.</summary>
    public string? KubernetesVersion { get; init; }
    /// <summary>How long to wait for another run that holds the cluster's lock.</summary>
    public TimeSpan LockWait { get; init; } = DefaultLockWait;
    /// <summary>How long nodes may take to become Ready and CoreDNS available after kubeadm (Kubernetes phase).</summary>
    public TimeSpan KubernetesReadyTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>How long one kubeadm init or join may run.</summary>
    public TimeSpan KubeadmTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>How long a rollback may take before it gives up (and says what is left).</summary>
    public TimeSpan RollbackBudget { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>
    /// Whether the CNI was named on the command line (New-DindCluster -Cni): then a node image without that plugin
    /// is an error. Null: judged from the spec, where bridge counts as the default (<see cref="Addressing.SpecDefaults.IsDefaultCni"/>).
    /// </summary>
    public bool? CniExplicit { get; init; }
    /// <summary>-Cni calico: the prepared manifest (set by the lab itself during its preflight).</summary>
    internal Rendering.PreparedCalicoManifest? Calico { get; init; }
}

/// <summary>Names of the bring-up steps, in order (error records and the test seam name them).</summary>
public static class LabSteps
{
    public const string Preflight = "preflight";
    /// <summary>Reset-DindCluster's removal of the old nodes (before <see cref="Nodes"/>).</summary>
    public const string RemoveNodes = "remove-nodes";
    public const string Network = "network";
    public const string Dns64 = "dns64";
    public const string Nat64 = "nat64";
    public const string Nodes = "nodes";
    public const string Routes = "routes";
    public const string HostRules = "host-rules";
    public const string KubeadmInit = "kubeadm-init";
    public const string KubeadmJoin = "kubeadm-join";
    public const string CoreDns = "coredns";
    public const string KubernetesReady = "kubernetes-ready";
    /// <summary>Start-DindCluster's start of the lab's stopped containers.</summary>
    public const string StartContainers = "start-containers";
    /// <summary>Remove-DindNode's deletion of the node object from the Kubernetes API.</summary>
    public const string KubernetesNode = "kubernetes-node";
    /// <summary>Add-DindNode's last step: the existing nodes learn the new nodes' pod prefixes.</summary>
    public const string RouteExisting = "route-existing";
    public const string Verify = "verify";
    /// <summary>Stop-DindCluster: the nodes first, then NAT64 and DNS64.</summary>
    public const string StopNodes = "stop-nodes", StopServices = "stop-services";
    /// <summary>Remove-DindCluster (and the sweep after a failed bring-up): containers, volumes, host rules, network.</summary>
    public const string RemoveContainers = "remove-containers", RemoveVolumes = "remove-volumes",
        RemoveHostRules = "remove-host-rules", RemoveNetwork = "remove-network";

    /// <summary>Steps of a network lab (-NetworkOnly).</summary>
    public static readonly IReadOnlyList<string> All = new[] { Preflight, Network, Dns64, Nat64, Nodes, Routes, HostRules, Verify };

    /// <summary>Steps of a Kubernetes cluster, in order.</summary>
    public static readonly IReadOnlyList<string> Kubernetes = new[] { Preflight, Network, Dns64, Nat64, Nodes, Routes, HostRules, KubeadmInit, KubeadmJoin, CoreDns, KubernetesReady, Verify };
}
