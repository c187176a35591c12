// Over 400 lines on purpose: one adapter, one method per Kubernetes API request the lab makes, all sharing the
// request timeout, the transient retries and the error mapping at the bottom of the file.
using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace Ipv6Dind.Core.Kubernetes;

/// <summary>
/// <see cref="IKubernetesApi"/> over KubernetesClient. Every request runs under its caller's token and
/// <see cref="KubernetesApiOptions.RequestTimeout"/>; single calls retry transient failures a few times
/// (<see cref="KubernetesApiOptions.TransientRetries"/>), <see cref="WaitForReadyAsync"/> until its deadline.
/// </summary>
internal sealed class KubernetesApi : IKubernetesApi
{
    internal const string SystemNamespace = "kube-system";
    internal const string CoreDnsName = "coredns";
    internal const string CorefileKey = "Corefile";
    internal const string RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";
    private static readonly TimeSpan MinimumPollTimeout = TimeSpan.FromSeconds(1);

    private readonly k8s.Kubernetes _client;
    private readonly KubernetesApiOptions _options;
    private readonly TimeProvider _time;
    private bool _disposed;

    internal KubernetesApi(KubernetesClientConfiguration configuration, KubernetesApiOptions options, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PollInterval, TimeSpan.Zero, "options.PollInterval");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RequestTimeout, TimeSpan.Zero, "options.RequestTimeout");
        ArgumentOutOfRangeException.ThrowIfNegative(options.TransientRetries, "options.TransientRetries");
        _options = options;
        _time = time ?? TimeProvider.System;
        Server = configuration.Host.TrimEnd('/');
        // Our own per-request timeout (named in the message) replaces the client's.
        configuration.HttpClientTimeout = Timeout.InfiniteTimeSpan;
        _client = new k8s.Kubernetes(configuration);
    }

    public string Server { get; }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _client.Dispose();
    }

    // ---- plumbing -------------------------------------------------------------------------------------------

    /// <summary>
    /// One request: throws DindException (final), KubernetesTransientException (worth another try) or, when the
    /// caller cancels, OperationCanceledException.
    /// </summary>
    private async Task<T> AttemptAsync<T>(string operation, string? target, CancellationToken ct,
        Func<k8s.Kubernetes, CancellationToken, Task<T>> body, TimeSpan? timeout = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ct.ThrowIfCancellationRequested();
        var limit = timeout ?? _options.RequestTimeout;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(limit);
        Task<T>? work = null;
        try
        {
            work = body(_client, cts.Token);
            // WaitAsync bounds the wait even where a connect does not watch the token.
            return await work.WaitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Forget(work);
            throw new OperationCanceledException($"Kubernetes {operation} was cancelled.", null, ct);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Forget(work);
            throw KubernetesErrors.Timeout(Server, operation, limit);
        }
        catch (Exception e)
        {
            throw KubernetesErrors.Map(e, Server, operation, target);
        }
    }

    /// <summary>One call with a few retries of transient failures; fails only with DindException or cancellation.</summary>
    private async Task<T> CallAsync<T>(string operation, string? target, CancellationToken ct,
        Func<k8s.Kubernetes, CancellationToken, Task<T>> body)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await AttemptAsync(operation, target, ct, body).ConfigureAwait(false);
            }
            catch (KubernetesTransientException e)
            {
                if (attempt >= _options.TransientRetries) throw e.Final;
                await Task.Delay(_options.PollInterval, _time, ct).ConfigureAwait(false);
            }
        }
    }

    private static void Forget(Task? task) =>
        task?.ContinueWith(t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    // ---- reads ----------------------------------------------------------------------------------------------

    public Task<IReadOnlyList<KubeNodeStatus>> GetNodesAsync(CancellationToken ct) =>
        CallAsync("node list", null, ct, ListNodesAsync);

    private static async Task<IReadOnlyList<KubeNodeStatus>> ListNodesAsync(k8s.Kubernetes c, CancellationToken t)
    {
        var list = await c.CoreV1.ListNodeAsync(cancellationToken: t).ConfigureAwait(false);
        return (list.Items ?? []).Select(ToStatus).ToList();
    }

    internal static KubeNodeStatus ToStatus(V1Node node)
    {
        var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        var ips = (node.Status?.Addresses ?? []).Where(a => a.Type == "InternalIP").Select(a => a.Address).ToList();
        var cidrs = node.Spec?.PodCIDRs is { Count: > 0 } many ? many.ToList()
            : node.Spec?.PodCIDR is { Length: > 0 } one ? [one] : new List<string>();
        return new KubeNodeStatus(
            node.Metadata?.Name ?? "",
            string.Equals(ready?.Status, "True", StringComparison.Ordinal),
            NullIfEmpty(ready?.Reason),
            NullIfEmpty(ready?.Message),
            ips,
            NullIfEmpty(node.Status?.NodeInfo?.KubeletVersion),
            cidrs);
    }

    public Task<IReadOnlyList<KubePodStatus>> GetPodsAsync(string @namespace, string? labelSelector, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        return CallAsync<IReadOnlyList<KubePodStatus>>($"pod list in {@namespace}", @namespace, ct, async (c, t) =>
        {
            var list = await c.CoreV1.ListNamespacedPodAsync(@namespace, labelSelector: labelSelector, cancellationToken: t).ConfigureAwait(false);
            return (list.Items ?? []).Select(ToStatus).ToList();
        });
    }

    internal static KubePodStatus ToStatus(V1Pod pod)
    {
        var ready = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        var waiting = pod.Status?.ContainerStatuses?.Select(s => s.State?.Waiting).FirstOrDefault(w => w is not null);
        var ips = pod.Status?.PodIPs is { Count: > 0 } many ? many.Select(p => p.Ip).ToList()
            : pod.Status?.PodIP is { Length: > 0 } one ? [one] : new List<string>();
        return new KubePodStatus(
            pod.Metadata?.NamespaceProperty ?? "",
            pod.Metadata?.Name ?? "",
            NullIfEmpty(pod.Status?.Phase),
            string.Equals(ready?.Status, "True", StringComparison.Ordinal),
            NullIfEmpty(pod.Spec?.NodeName),
            ips,
            NullIfEmpty(pod.Status?.Reason) ?? NullIfEmpty(waiting?.Reason) ?? NullIfEmpty(ready?.Reason),
            NullIfEmpty(pod.Status?.Message) ?? NullIfEmpty(waiting?.Message) ?? NullIfEmpty(ready?.Message));
    }

    public Task<string> GetServerVersionAsync(CancellationToken ct) =>
        CallAsync("version", null, ct, async (c, t) =>
            (await c.Version.GetCodeAsync(t).ConfigureAwait(false)).GitVersion ?? "");

    public Task<bool> DeleteNodeAsync(string name, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return CallAsync($"delete of Node {name}", name, ct, async (c, t) =>
        {
            try
            {
                await c.CoreV1.DeleteNodeAsync(name, cancellationToken: t).ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (KubernetesErrors.IsNotFound(e))
            {
                return false;
            }
        });
    }

    public Task<string?> GetCoreDnsCorefileAsync(CancellationToken ct) => ReadConfigMapValueAsync(CoreDnsName, CorefileKey, ct);

    public Task<string?> GetKubeProxyConfigAsync(CancellationToken ct) =>
        ReadConfigMapValueAsync(KubeProxyConfig.ConfigMapName, KubeProxyConfig.ConfigKey, ct);

    /// <summary>data[key] of a kube-system ConfigMap; null when the ConfigMap or the key is missing.</summary>
    private Task<string?> ReadConfigMapValueAsync(string name, string key, CancellationToken ct) =>
        CallAsync($"read of ConfigMap {SystemNamespace}/{name}", name, ct, async (c, t) =>
        {
            try
            {
                var map = await c.CoreV1.ReadNamespacedConfigMapAsync(name, SystemNamespace, cancellationToken: t).ConfigureAwait(false);
                return map.Data is not null && map.Data.TryGetValue(key, out var value) ? value : null;
            }
            catch (Exception e) when (KubernetesErrors.IsNotFound(e))
            {
                return null;
            }
        });

    // ---- CoreDNS and kube-proxy -----------------------------------------------------------------------------

    public Task<bool> ConfigureCoreDnsAsync(string corefile, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(corefile);
        return SetConfigMapValueAndRestartAsync(CoreDnsName, CorefileKey, corefile, new Workload("Deployment", CoreDnsName,
            async (c, t) => (await c.AppsV1.ReadNamespacedDeploymentAsync(CoreDnsName, SystemNamespace, cancellationToken: t).ConfigureAwait(false)).Metadata?.Annotations,
            (c, patch, t) => c.AppsV1.PatchNamespacedDeploymentAsync(patch, CoreDnsName, SystemNamespace, cancellationToken: t)), ct);
    }

    public Task<bool> ConfigureKubeProxyAsync(string config, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(config);
        // kube-proxy has no reload: only new pods read the new configuration.
        return SetConfigMapValueAndRestartAsync(KubeProxyConfig.ConfigMapName, KubeProxyConfig.ConfigKey, config, KubeProxyWorkload, ct);
    }

    public async Task<bool> KubeProxyRestartPendingAsync(CancellationToken ct)
    {
        var current = await ReadConfigMapValueAsync(KubeProxyConfig.ConfigMapName, KubeProxyConfig.ConfigKey, ct).ConfigureAwait(false);
        return current is not null && await RestartPendingAsync(KubeProxyWorkload, current, ct).ConfigureAwait(false);
    }

    private static readonly Workload KubeProxyWorkload = new("DaemonSet", KubeProxyConfig.DaemonSetName,
        async (c, t) => (await c.AppsV1.ReadNamespacedDaemonSetAsync(KubeProxyConfig.DaemonSetName, SystemNamespace, cancellationToken: t).ConfigureAwait(false)).Metadata?.Annotations,
        (c, patch, t) => c.AppsV1.PatchNamespacedDaemonSetAsync(patch, KubeProxyConfig.DaemonSetName, SystemNamespace, cancellationToken: t));

    /// <summary>
    /// On the workload's own metadata (not its pod template, so it rolls nothing): the SHA-256 of a ConfigMap value
    /// written whose restart has not happened yet. Set before the ConfigMap is changed, removed by the restart; a
    /// later call that finds it matching the ConfigMap finishes the restart an interrupted call left undone.
    /// </summary>
    internal const string RestartPendingAnnotation = "ipv6dind.io/restart-pending";

    /// <summary>The workload that reads a ConfigMap: its kind and name, a read of its annotations, a patch.</summary>
    private sealed record Workload(string Kind, string Name,
        Func<k8s.Kubernetes, CancellationToken, Task<IDictionary<string, string>?>> ReadAnnotations,
        Func<k8s.Kubernetes, V1Patch, CancellationToken, Task> Patch);

    /// <summary>
    /// Sets data[key] of a kube-system ConfigMap and restarts the workload that reads it (kubeadm names both alike:
    /// coredns, kube-proxy), the way `kubectl rollout restart` does; false when the value is already the same and
    /// no restart is owed. A failure between the write and the restart leaves the restart-pending mark on the
    /// workload, and the next call (e.g. a second Repair-ConntrackHashsize) restarts it then.
    /// </summary>
    private async Task<bool> SetConfigMapValueAndRestartAsync(string name, string key, string value, Workload workload, CancellationToken ct)
    {
        var current = await ReadConfigMapValueAsync(name, key, ct).ConfigureAwait(false);
        if (current is not null && SameText(current, value))
        {
            if (!await RestartPendingAsync(workload, value, ct).ConfigureAwait(false)) return false;
            await RestartAsync(workload, ct).ConfigureAwait(false);     // an earlier call wrote the value but did not get to this
            return true;
        }

        // The mark first: metadata only, so nothing rolls yet. (A ConfigMap that is not there fails below, unmarked.)
        if (current is not null)
        {
            var mark = JsonSerializer.Serialize(new { metadata = new { annotations = new Dictionary<string, string> { [RestartPendingAnnotation] = Hash(value) } } });
            await CallAsync($"patch of {workload.Kind} {SystemNamespace}/{workload.Name}", workload.Name, ct, async (c, t) =>
            {
                await workload.Patch(c, new V1Patch(mark, V1Patch.PatchType.MergePatch), t).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        }

        // A merge patch of the one key leaves the ConfigMap's other keys (and a missing key) alone. The ConfigMap
        // itself must exist: kubeadm's addon phases create it with its workload.
        var mapPatch = JsonSerializer.Serialize(new { data = new Dictionary<string, string> { [key] = value } });
        await CallAsync($"patch of ConfigMap {SystemNamespace}/{name}", name, ct, (c, t) =>
            c.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch(mapPatch, V1Patch.PatchType.MergePatch), name, SystemNamespace, cancellationToken: t))
            .ConfigureAwait(false);

        await RestartAsync(workload, ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>The workload carries the restart-pending mark of exactly <paramref name="value"/>.</summary>
    private async Task<bool> RestartPendingAsync(Workload workload, string value, CancellationToken ct)
    {
        var annotations = await CallAsync($"read of {workload.Kind} {SystemNamespace}/{workload.Name}", workload.Name, ct, async (c, t) =>
        {
            try { return await workload.ReadAnnotations(c, t).ConfigureAwait(false); }
            catch (Exception e) when (KubernetesErrors.IsNotFound(e)) { return null; }
        }).ConfigureAwait(false);
        return annotations is not null && annotations.TryGetValue(RestartPendingAnnotation, out var pending) && pending == Hash(value);
    }

    private static string Hash(string value) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value.Replace("\r\n", "\n").TrimEnd()))).ToLowerInvariant();

    /// <summary>
    /// `kubectl rollout restart`: a new pod-template annotation makes the controller replace its pods, which then read
    /// the new value; the same patch removes the restart-pending mark.
    /// </summary>
    private async Task RestartAsync(Workload workload, CancellationToken ct)
    {
        // RFC 3339 as kubectl writes it, but to the 100 ns: kubectl's whole seconds make a second restart within the
        // same second the same pod template, which rolls nothing (a repair right after bring-up would be lost).
        var restartedAt = _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
        var patch = JsonSerializer.Serialize(new
        {
            metadata = new { annotations = new Dictionary<string, string?> { [RestartPendingAnnotation] = null } },
            spec = new { template = new { metadata = new { annotations = new Dictionary<string, string> { [RestartedAtAnnotation] = restartedAt } } } },
        });
        await CallAsync($"restart of {workload.Kind} {SystemNamespace}/{workload.Name}", workload.Name, ct, async (c, t) =>
        {
            await workload.Patch(c, new V1Patch(patch, V1Patch.PatchType.StrategicMergePatch), t).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
    }

    /// <summary>Equal but for line endings and trailing white space (YAML block scalars add or drop a final newline).</summary>
    internal static bool SameText(string a, string b) =>
        string.Equals(a.Replace("\r\n", "\n").TrimEnd(), b.Replace("\r\n", "\n").TrimEnd(), StringComparison.Ordinal);

    // ---- readiness ------------------------------------------------------------------------------------------

    public async Task WaitForReadyAsync(IReadOnlyCollection<string> nodeNames, TimeSpan timeout, IProgress<string>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(nodeNames);
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive.");
        var started = _time.GetTimestamp();
        ReadinessSnapshot? last = null;
        DindException? lastError = null;
        string? lastReport = null;
        while (true)
        {
            try
            {
                // A poll does not run (much) past the deadline: its time is bounded by what is left, but never
                // below a second, so that the last look at the deadline still has a chance to succeed.
                var left = timeout - _time.GetElapsedTime(started);
                var floor = _options.RequestTimeout < MinimumPollTimeout ? _options.RequestTimeout : MinimumPollTimeout;
                var pollTimeout = left < floor ? floor : left < _options.RequestTimeout ? left : _options.RequestTimeout;
                var snapshot = await AttemptAsync("readiness poll", null, ct, async (c, t) =>
                {
                    var nodes = await ListNodesAsync(c, t).ConfigureAwait(false);
                    var coreDns = await ReadCoreDnsDeploymentAsync(c, t).ConfigureAwait(false);
                    return new ReadinessSnapshot(nodeNames, nodes, coreDns);
                }, pollTimeout).ConfigureAwait(false);
                last = snapshot;
                lastError = null;
                if (snapshot.AllReady)
                {
                    progress?.Report(snapshot.Summary);
                    return;
                }
                Report(snapshot.Summary);
            }
            catch (KubernetesTransientException e)
            {
                lastError = e.Final;
                Report($"waiting for the API server at {Server}: {ShortReason(e.Final)}"
                    + (last is null ? "" : $" (last seen: {last.Summary})"));
            }

            var remaining = timeout - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero) throw NotReady(timeout, last, lastError);
            // The last wait ends at the deadline, and one more poll there decides: a cluster that became ready
            // in the last interval is not reported as late.
            await Task.Delay(remaining < _options.PollInterval ? remaining : _options.PollInterval, _time, ct).ConfigureAwait(false);
        }

        void Report(string text)
        {
            // Only changes are reported: a progress bar does not need the same line every two seconds.
            if (text == lastReport) return;
            lastReport = text;
            progress?.Report(text);
        }
    }

    private static async Task<V1Deployment?> ReadCoreDnsDeploymentAsync(k8s.Kubernetes c, CancellationToken t)
    {
        try
        {
            return await c.AppsV1.ReadNamespacedDeploymentAsync(CoreDnsName, SystemNamespace, cancellationToken: t).ConfigureAwait(false);
        }
        catch (Exception e) when (KubernetesErrors.IsNotFound(e))
        {
            // kubeadm's addon phase has not created it yet.
            return null;
        }
    }

    private DindException NotReady(TimeSpan timeout, ReadinessSnapshot? last, DindException? lastError)
    {
        var seconds = timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
        string message;
        object target;
        if (last is null)
        {
            message = $"The Kubernetes API server at {Server} did not answer within {seconds} s"
                + (lastError is null ? "." : $"; last error: {lastError.Message}");
            target = Server;
        }
        else
        {
            message = $"Kubernetes at {Server} was not ready after {seconds} s: {string.Join("; ", last.Problems)}."
                + (lastError is null ? "" : $" The last poll failed: {lastError.Message}");
            target = last.NotReadyNodes.Count > 0 ? string.Join(", ", last.NotReadyNodes) : $"{SystemNamespace}/{CoreDnsName}";
        }
        return new DindException(ErrorIds.KubernetesNotReady, DindErrorCategory.OperationTimeout, message, target: target,
            recommendedAction: "Look at the named nodes' kubelet (journalctl -u kubelet in the node) and at the kube-system pods; "
                + "a node that is not Ready often lacks its CNI configuration. A longer timeout helps on slow hosts.",
            inner: lastError);
    }

    private static string ShortReason(DindException e) =>
        e.InnerException is { } inner && e.Category == DindErrorCategory.ConnectionError
            ? KubernetesErrors.Innermost(inner).Message
            : e.Message;

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>One poll's view: which named nodes are Ready and how far CoreDNS is.</summary>
    private sealed class ReadinessSnapshot
    {
        public ReadinessSnapshot(IReadOnlyCollection<string> wanted, IReadOnlyList<KubeNodeStatus> nodes, V1Deployment? coreDns)
        {
            var byName = nodes.GroupBy(n => n.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            var problems = new List<string>();
            var notReady = new List<string>();
            var ready = 0;
            foreach (var name in wanted)
            {
                if (!byName.TryGetValue(name, out var node))
                {
                    notReady.Add(name);
                    problems.Add($"node {name} has not registered");
                }
                else if (!node.Ready)
                {
                    notReady.Add(name);
                    var why = node.Reason is null && node.Message is null ? "no Ready condition reported yet"
                        : node.Message is null ? node.Reason!
                        : node.Reason is null ? node.Message
                        : $"{node.Reason}: {node.Message}";
                    problems.Add($"node {name} is not Ready ({why})");
                }
                else ready++;
            }

            string coreDnsText;
            bool coreDnsReady;
            if (coreDns is null)
            {
                coreDnsReady = false;
                coreDnsText = "CoreDNS not deployed yet";
                problems.Add($"Deployment {SystemNamespace}/{CoreDnsName} does not exist yet");
            }
            else
            {
                // kubectl rollout status's test: the controller has seen the latest spec, every replica runs it, and
                // all of them are available (no pod of the previous template left).
                var desired = coreDns.Spec?.Replicas ?? 1;
                var status = coreDns.Status;
                var available = status?.AvailableReplicas ?? 0;
                var updated = status?.UpdatedReplicas ?? 0;
                var total = status?.Replicas ?? 0;
                var observed = (status?.ObservedGeneration ?? 0) >= (coreDns.Metadata?.Generation ?? 0);
                coreDnsReady = observed && updated >= desired && available >= desired && total <= updated;
                coreDnsText = $"CoreDNS {Math.Min(available, desired)}/{desired} available";
                if (!coreDnsReady)
                {
                    var rollout = !observed ? "its latest change not yet seen by the controller"
                        : updated < desired || total > updated ? $"{updated} of {desired} replicas updated, {total} running in all"
                        : "replicas not available yet";
                    problems.Add($"Deployment {SystemNamespace}/{CoreDnsName} has {available}/{desired} replicas available ({rollout})");
                }
            }

            NotReadyNodes = notReady;
            Problems = problems;
            AllReady = notReady.Count == 0 && coreDnsReady;
            Summary = $"{ready}/{wanted.Count} nodes Ready; {coreDnsText}";
        }

        public bool AllReady { get; }
        public string Summary { get; }
        public IReadOnlyList<string> Problems { get; }
        public IReadOnlyList<string> NotReadyNodes { get; }
    }
}
