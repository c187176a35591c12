namespace Ipv6Dind.Core.Kubernetes;

/// <summary>
/// What the lab needs from a cluster's API server, in our own types (no KubernetesClient type crosses this
/// line). Every call fails only with <see cref="DindException"/> or, when the caller cancels,
/// <see cref="OperationCanceledException"/>. Built by <see cref="KubernetesApiFactory"/>.
/// </summary>
public interface IKubernetesApi : IDisposable
{
    /// <summary>The URL it talks to (https://[::1]:port for a lab).</summary>
    string Server { get; }

    Task<IReadOnlyList<KubeNodeStatus>> GetNodesAsync(CancellationToken ct);

    /// <summary>
    /// Waits until every named node is Ready and deployment kube-system/coredns has all replicas available
    /// (and its latest rollout is complete). Polls every <see cref="KubernetesApiOptions.PollInterval"/>, reports
    /// progress text ("2/3 nodes Ready; CoreDNS 0/2 available"); on timeout throws KubernetesNotReady
    /// (OperationTimeout) naming what was not ready. Connection failures, request timeouts and 5xx/429 answers
    /// (an API server still starting) are retried until the deadline; 401/403 fail at once (KubernetesApiError).
    /// </summary>
    Task WaitForReadyAsync(IReadOnlyCollection<string> nodeNames, TimeSpan timeout, IProgress<string>? progress, CancellationToken ct);

    /// <summary>
    /// Sets data["Corefile"] of ConfigMap kube-system/coredns and restarts deployment kube-system/coredns the way
    /// `kubectl rollout restart` does (annotation kubectl.kubernetes.io/restartedAt on the pod template).
    /// Idempotent: a Corefile already equal (line endings and trailing blank lines aside) changes nothing and
    /// returns false; true when it wrote and restarted.
    /// </summary>
    Task<bool> ConfigureCoreDnsAsync(string corefile, CancellationToken ct);

    /// <summary>data["Corefile"] of ConfigMap kube-system/coredns; null when the ConfigMap or the key is missing.</summary>
    Task<string?> GetCoreDnsCorefileAsync(CancellationToken ct);

    /// <summary>
    /// Sets data["config.conf"] of ConfigMap kube-system/kube-proxy (kube-proxy's KubeProxyConfiguration, as kubeadm
    /// stores it) and restarts DaemonSet kube-system/kube-proxy the way `kubectl rollout restart` does (annotation
    /// kubectl.kubernetes.io/restartedAt on the pod template): kube-proxy reads its configuration only when it starts.
    /// Idempotent: a configuration already equal (line endings and trailing blank lines aside) changes nothing and
    /// returns false; true when it wrote and restarted. A missing ConfigMap or DaemonSet fails with
    /// KubernetesApiError (ObjectNotFound).
    /// </summary>
    Task<bool> ConfigureKubeProxyAsync(string config, CancellationToken ct);

    /// <summary>
    /// An earlier <see cref="ConfigureKubeProxyAsync"/> wrote the ConfigMap but its DaemonSet restart did not happen
    /// (the DaemonSet still carries the restart-pending mark of the current config.conf); calling
    /// ConfigureKubeProxyAsync with the current value finishes it.
    /// </summary>
    Task<bool> KubeProxyRestartPendingAsync(CancellationToken ct);

    /// <summary>data["config.conf"] of ConfigMap kube-system/kube-proxy; null when the ConfigMap or the key is missing.</summary>
    Task<string?> GetKubeProxyConfigAsync(CancellationToken ct);

    /// <summary>Pods of a namespace, optionally filtered by a label selector ("k8s-app=kube-dns").</summary>
    Task<IReadOnlyList<KubePodStatus>> GetPodsAsync(string @namespace, string? labelSelector, CancellationToken ct);

    /// <summary>
    /// Deletes Node <paramref name="name"/> as `kubectl delete node` does (Remove-DindNode: its pods are then
    /// rescheduled instead of waiting on a node that will never come back). False when it was not registered.
    /// </summary>
    Task<bool> DeleteNodeAsync(string name, CancellationToken ct);

    /// <summary>The API server's version (gitVersion of /version, "v1.31.2").</summary>
    Task<string> GetServerVersionAsync(CancellationToken ct);
}

/// <summary>One node as the API server reports it; Reason/Message come from its Ready condition.</summary>
public sealed record KubeNodeStatus(string Name, bool Ready, string? Reason, string? Message,
    IReadOnlyList<string> InternalIPs, string? KubeletVersion, IReadOnlyList<string> PodCidrs);

/// <summary>One pod: Ready is its Ready condition; Reason/Message the pod's own or its first waiting container's.</summary>
public sealed record KubePodStatus(string Namespace, string Name, string? Phase, bool Ready, string? NodeName,
    IReadOnlyList<string> PodIPs, string? Reason, string? Message);

/// <summary>How often <see cref="IKubernetesApi.WaitForReadyAsync"/> polls and how long one request may take.</summary>
public sealed record KubernetesApiOptions
{
    public static KubernetesApiOptions Default { get; } = new();

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>One HTTP request; a request that takes longer counts as a transient failure.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// Extra attempts of a single call (GetNodes, ConfigureCoreDns, ConfigureKubeProxy, ...) after a transient failure, PollInterval
    /// apart. WaitForReady does not use it: it retries until its own deadline.
    /// </summary>
    public int TransientRetries { get; init; } = 2;
}
