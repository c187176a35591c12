using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ipv6Dind.Core.Kubernetes;
using Ipv6Dind.FakeKubeApi;

namespace Ipv6Dind.Kubernetes.Tests;

/// <summary>KubernetesApi against the fake API server, over real HTTPS on [::1] with the fake's CA.</summary>
public sealed class KubernetesApiTests : IAsyncLifetime
{
    private static readonly KubernetesApiOptions Fast = new()
    {
        PollInterval = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(5),
    };

    private FakeKubeApiServer _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeKubeApiServer.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    private IKubernetesApi Connect(KubernetesApiOptions? options = null, bool clientCertificate = false) =>
        KubernetesApiFactory.FromKubeconfig(clientCertificate ? _fake.ClientCertificateKubeconfig : _fake.Kubeconfig, null, options ?? Fast);

    private sealed class Collect : IProgress<string>
    {
        public readonly List<string> Lines = [];
        public void Report(string value) { lock (Lines) Lines.Add(value); }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GetNodes_reads_status_addresses_and_cidrs_with_token_or_client_certificate(bool clientCertificate)
    {
        _fake.Cluster.AddNode("lab-control-plane", internalIp: "fd00:77:1::3", podCidr: "fd00:77:2:0:1::/80", kubeletVersion: "v1.31.2");
        _fake.Cluster.AddNode("lab-worker", readyAfterPolls: null);
        using var api = Connect(clientCertificate: clientCertificate);

        var nodes = await api.GetNodesAsync(CancellationToken.None);

        Assert.Equal(_fake.Server, api.Server);
        Assert.Equal(["lab-control-plane", "lab-worker"], nodes.Select(n => n.Name));
        var cp = nodes[0];
        Assert.True(cp.Ready);
        Assert.Equal(["fd00:77:1::3"], cp.InternalIPs);
        Assert.Equal(["fd00:77:2:0:1::/80"], cp.PodCidrs);
        Assert.Equal("v1.31.2", cp.KubeletVersion);
        var worker = nodes[1];
        Assert.False(worker.Ready);
        Assert.Equal("KubeletNotReady", worker.Reason);
        Assert.Contains("cni plugin not initialized", worker.Message);
        Assert.Equal(clientCertificate ? "certificate" : "token", _fake.Requests.Single().Authentication);
    }

    [Fact]
    public async Task Two_restarts_in_quick_succession_each_roll_the_workload()
    {
        // kubectl's restartedAt has whole seconds: a second restart within the same second would leave the pod
        // template as it was, and the controller would roll nothing (this once made a repair right after a
        // bring-up silently keep the old kube-proxy setting).
        using var api = Connect();
        var coreDns = _fake.Cluster.CoreDns;
        Assert.True(await api.ConfigureCoreDnsAsync(".:53 {\n    forward . fd00:77:1::100\n}\n", CancellationToken.None));
        var first = coreDns.RestartedAt;
        Assert.True(await api.ConfigureCoreDnsAsync(".:53 {\n    forward . fd00:77:1::101\n}\n", CancellationToken.None));
        Assert.NotEqual(first, coreDns.RestartedAt);
        Assert.Equal(3, coreDns.Generation);
    }

    [Fact]
    public async Task DeleteNode_removes_a_registered_node_and_reports_one_that_was_not()
    {
        _fake.Cluster.AddNodes(["lab-node-1", "lab-node-2"]);
        using var api = Connect();

        Assert.True(await api.DeleteNodeAsync("lab-node-2", CancellationToken.None));
        Assert.Equal(["lab-node-1"], _fake.Cluster.Nodes.Select(n => n.Name));
        Assert.False(await api.DeleteNodeAsync("lab-node-2", CancellationToken.None));   // 404: already gone, not an error
        Assert.Equal(["DELETE", "DELETE"], _fake.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task WaitForReady_returns_once_every_node_is_Ready_and_CoreDNS_available()
    {
        _fake.Cluster.AddNode("lab-control-plane", readyAfterPolls: 1);
        _fake.Cluster.AddNode("lab-worker", readyAfterPolls: 3);
        _fake.Cluster.AddNode("lab-worker2", readyAfterPolls: 2, registerAfterPolls: 1);
        _fake.Cluster.CoreDns.AvailableAfterPolls = 2;
        using var api = Connect();
        var progress = new Collect();

        await api.WaitForReadyAsync(["lab-control-plane", "lab-worker", "lab-worker2"], TimeSpan.FromSeconds(30), progress, CancellationToken.None);

        Assert.Equal(4, _fake.Cluster.NodeListCount);
        Assert.Equal("0/3 nodes Ready; CoreDNS 0/2 available", progress.Lines[0]);
        Assert.Equal("3/3 nodes Ready; CoreDNS 2/2 available", progress.Lines[^1]);
        Assert.All(_fake.Cluster.Nodes, n => Assert.True(n.Ready));
        // Only changes are reported.
        Assert.Equal(progress.Lines.Count, progress.Lines.Distinct().Count());
    }

    [Fact]
    public async Task WaitForReady_timeout_names_the_node_that_is_not_Ready_with_its_reason()
    {
        _fake.Cluster.AddNode("lab-control-plane");
        var worker = _fake.Cluster.AddNode("lab-worker", readyAfterPolls: null);
        worker.NotReadyReason = "KubeletNotReady";
        worker.NotReadyMessage = "PLEG is not healthy: pleg has yet to be successful";
        using var api = Connect();
        var watch = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<DindException>(() =>
            api.WaitForReadyAsync(["lab-control-plane", "lab-worker", "lab-worker3"], TimeSpan.FromMilliseconds(600), null, CancellationToken.None));

        Assert.Equal(ErrorIds.KubernetesNotReady, e.ErrorId);
        Assert.Equal(DindErrorCategory.OperationTimeout, e.Category);
        Assert.Contains("node lab-worker is not Ready (KubeletNotReady: PLEG is not healthy: pleg has yet to be successful)", e.Message);
        Assert.Contains("node lab-worker3 has not registered", e.Message);
        Assert.DoesNotContain("lab-control-plane", e.Message);
        Assert.Equal("lab-worker, lab-worker3", e.Target);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(550), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task WaitForReady_timeout_names_CoreDNS_replica_counts()
    {
        _fake.Cluster.AddNodes(["a", "b"]);
        _fake.Cluster.CoreDns.AvailableAfterPolls = null;
        using var api = Connect();

        var e = await Assert.ThrowsAsync<DindException>(() =>
            api.WaitForReadyAsync(["a", "b"], TimeSpan.FromMilliseconds(400), null, CancellationToken.None));

        Assert.Equal(ErrorIds.KubernetesNotReady, e.ErrorId);
        Assert.Contains("Deployment kube-system/coredns has 0/2 replicas available", e.Message);
        Assert.DoesNotContain("node ", e.Message);
    }

    [Fact]
    public async Task WaitForReady_retries_503_while_the_API_server_starts()
    {
        _fake.Cluster.AddNodes(["a"]);
        var fault = _fake.Faults.FailRequests(503, count: 4);
        using var api = Connect();
        var progress = new Collect();

        await api.WaitForReadyAsync(["a"], TimeSpan.FromSeconds(30), progress, CancellationToken.None);

        Assert.Equal(4, fault.Hits);
        Assert.Equal(4, _fake.Requests.Count(r => r.StatusCode == 503));
        Assert.Contains(progress.Lines, l => l.StartsWith($"waiting for the API server at {_fake.Server}", StringComparison.Ordinal) && l.Contains("503"));
    }

    [Fact]
    public async Task WaitForReady_retries_dropped_connections_and_slow_answers()
    {
        _fake.Cluster.AddNodes(["a"]);
        _fake.Faults.DropConnections(count: 2);
        _fake.Faults.DelayRequests(TimeSpan.FromSeconds(3), count: 1);
        using var api = Connect(Fast with { RequestTimeout = TimeSpan.FromMilliseconds(300) });

        await api.WaitForReadyAsync(["a"], TimeSpan.FromSeconds(30), null, CancellationToken.None);

        Assert.True(_fake.Cluster.NodeListCount >= 1);
    }

    [Fact]
    public async Task WaitForReady_retries_connection_refused_until_the_API_server_listens()
    {
        var port = FreePort();
        var kubeconfig = _fake.CreateKubeconfig(server: $"https://[::1]:{port}");
        using var api = KubernetesApiFactory.FromKubeconfig(kubeconfig, null, Fast);
        var progress = new Collect();

        var wait = api.WaitForReadyAsync(["late"], TimeSpan.FromSeconds(30), progress, CancellationToken.None);
        await Task.Delay(400);
        Assert.False(wait.IsCompleted);
        await using var late = await FakeKubeApiServer.StartAsync(new FakeKubeApiOptions { Port = port, Token = _fake.Token });
        late.Cluster.AddNode("late");
        await wait;

        Assert.Contains(progress.Lines, l => l.StartsWith("waiting for the API server", StringComparison.Ordinal));
        Assert.Equal("1/1 nodes Ready; CoreDNS 2/2 available", progress.Lines[^1]);
    }

    [Fact]
    public async Task WaitForReady_says_the_API_server_never_answered()
    {
        using var api = KubernetesApiFactory.FromKubeconfig(_fake.CreateKubeconfig(server: $"https://[::1]:{FreePort()}"), null, Fast);

        var e = await Assert.ThrowsAsync<DindException>(() =>
            api.WaitForReadyAsync(["a"], TimeSpan.FromMilliseconds(300), null, CancellationToken.None));

        Assert.Equal(ErrorIds.KubernetesNotReady, e.ErrorId);
        Assert.Contains("did not answer within 0.3 s; last error: Cannot reach the Kubernetes API server", e.Message);
    }

    [Theory]
    [InlineData(403)]
    [InlineData(401)]
    public async Task WaitForReady_fails_at_once_on_403_and_401(int status)
    {
        _fake.Cluster.AddNodes(["a"]);
        _fake.Faults.FailRequests(status);
        using var api = Connect();
        var watch = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<DindException>(() =>
            api.WaitForReadyAsync(["a"], TimeSpan.FromSeconds(30), null, CancellationToken.None));

        Assert.Equal(ErrorIds.KubernetesApiError, e.ErrorId);
        Assert.Equal(DindErrorCategory.PermissionDenied, e.Category);
        Assert.Contains($"with {status}", e.Message);
        Assert.Single(_fake.Requests);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task A_wrong_token_is_refused_by_the_fake_and_fails_at_once()
    {
        _fake.Cluster.AddNodes(["a"]);
        var kubeconfig = _fake.Kubeconfig.Replace(_fake.Token, "not-the-token");
        using var api = KubernetesApiFactory.FromKubeconfig(kubeconfig, null, Fast);

        var e = await Assert.ThrowsAsync<DindException>(() => api.GetNodesAsync(CancellationToken.None));

        Assert.Equal(ErrorIds.KubernetesApiError, e.ErrorId);
        Assert.Equal(DindErrorCategory.PermissionDenied, e.Category);
        Assert.Equal(401, _fake.Requests.Single().StatusCode);
    }

    [Fact]
    public async Task A_server_certificate_from_another_CA_fails_at_once()
    {
        var other = FakeCertificates.Create(["other.invalid"]);
        var kubeconfig = _fake.Kubeconfig.Replace(
            Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(_fake.CaPem)),
            Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(other.CaPem)));
        using var api = KubernetesApiFactory.FromKubeconfig(kubeconfig, null, Fast);
        var watch = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<DindException>(() =>
            api.WaitForReadyAsync(["a"], TimeSpan.FromSeconds(30), null, CancellationToken.None));

        Assert.Equal(ErrorIds.KubernetesApiError, e.ErrorId);
        Assert.Contains("TLS handshake", e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Cancellation_stops_the_wait_promptly()
    {
        _fake.Cluster.AddNode("a", readyAfterPolls: null);
        using var api = Connect(Fast with { PollInterval = TimeSpan.FromSeconds(10) });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            api.WaitForReadyAsync(["a"], TimeSpan.FromMinutes(5), null, cts.Token));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Cancellation_stops_a_hanging_request_promptly()
    {
        _fake.Cluster.AddNodes(["a"]);
        _fake.Faults.DelayRequests(TimeSpan.FromSeconds(30));
        using var api = Connect(Fast with { RequestTimeout = TimeSpan.FromSeconds(20) });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();

        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            api.WaitForReadyAsync(["a"], TimeSpan.FromMinutes(5), null, cts.Token));

        Assert.Equal(cts.Token, e.CancellationToken);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task ConfigureCoreDns_writes_the_Corefile_and_restarts_then_changes_nothing_the_second_time()
    {
        using var api = Connect();
        const string corefile = ".:53 {\n    errors\n    forward . fd00:77:1::100\n    cache 30\n}\n";

        Assert.True(await api.ConfigureCoreDnsAsync(corefile, CancellationToken.None));

        var coreDns = _fake.Cluster.CoreDns;
        Assert.Equal(corefile, coreDns.Corefile);
        Assert.Equal(corefile, await api.GetCoreDnsCorefileAsync(CancellationToken.None));
        Assert.NotNull(coreDns.RestartedAt);
        Assert.True(DateTimeOffset.TryParse(coreDns.RestartedAt, out var restartedAt));
        Assert.InRange(restartedAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(2, coreDns.Generation);
        // The restart-pending mark on the Deployment's own metadata (no rollout), the ConfigMap, then the restart,
        // which also takes the mark away.
        var patches = _fake.Requests.Where(r => r.Method == "PATCH").ToList();
        Assert.Equal(3, patches.Count);
        Assert.Equal("/apis/apps/v1/namespaces/kube-system/deployments/coredns", patches[0].Path);
        Assert.StartsWith("{\"metadata\":{\"annotations\":{\"ipv6dind.io/restart-pending\":", patches[0].Body);
        Assert.Equal("/api/v1/namespaces/kube-system/configmaps/coredns", patches[1].Path);
        Assert.StartsWith("application/merge-patch+json", patches[1].ContentType);
        Assert.Equal("/apis/apps/v1/namespaces/kube-system/deployments/coredns", patches[2].Path);
        Assert.StartsWith("application/strategic-merge-patch+json", patches[2].ContentType);
        Assert.Contains("kubectl.kubernetes.io/restartedAt", patches[2].Body);
        Assert.Contains("\"ipv6dind.io/restart-pending\":null", patches[2].Body);

        _fake.ClearRequests();
        Assert.False(await api.ConfigureCoreDnsAsync(corefile.Replace("\n", "\r\n") + "\n", CancellationToken.None));
        Assert.DoesNotContain(_fake.Requests, r => r.Method == "PATCH");
        Assert.Equal(1, coreDns.ConfigMapPatches);
        Assert.Equal(2, coreDns.DeploymentPatches);
    }

    [Fact]
    public async Task WaitForReady_after_a_restart_waits_for_the_rollout()
    {
        _fake.Cluster.AddNodes(["a"]);
        _fake.Cluster.CoreDns.RolloutPolls = 3;
        using var api = Connect();
        Assert.True(await api.ConfigureCoreDnsAsync(".:53 {\n    forward . fd00:77:1::100\n}\n", CancellationToken.None));
        var progress = new Collect();

        await api.WaitForReadyAsync(["a"], TimeSpan.FromSeconds(30), progress, CancellationToken.None);

        Assert.Equal(4, _fake.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith("/deployments/coredns", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ConfigureCoreDns_without_the_ConfigMap_fails_with_ObjectNotFound()
    {
        _fake.Cluster.CoreDns.Exists = false;
        using var api = Connect();

        Assert.Null(await api.GetCoreDnsCorefileAsync(CancellationToken.None));
        var e = await Assert.ThrowsAsync<DindException>(() => api.ConfigureCoreDnsAsync(".:53 {\n}\n", CancellationToken.None));

        Assert.Equal(ErrorIds.KubernetesApiError, e.ErrorId);
        Assert.Equal(DindErrorCategory.ObjectNotFound, e.Category);
        Assert.Contains("configmaps \"coredns\" not found", e.Message);
    }

    private const string KubeProxyConfigMapPath = "/api/v1/namespaces/kube-system/configmaps/kube-proxy";
    private const string KubeProxyDaemonSetPath = "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy";

    [Fact]
    public async Task GetKubeProxyConfig_reads_config_conf_as_kubeadm_stores_it()
    {
        using var api = Connect();

        var config = await api.GetKubeProxyConfigAsync(CancellationToken.None);

        Assert.Equal(FakeKubeProxy.KubeadmConfig, config);
        Assert.Equal(32768, KubeProxyConfig.MaxPerCore(config!));
        var get = Assert.Single(_fake.Requests);
        Assert.Equal(("GET", KubeProxyConfigMapPath, 200), (get.Method, get.Path, get.StatusCode));
    }

    [Fact]
    public async Task ConfigureKubeProxy_writes_config_conf_and_restarts_the_DaemonSet_then_changes_nothing_the_second_time()
    {
        var kubeProxy = _fake.Cluster.KubeProxy;
        kubeProxy.MaxPerCore = 32768;
        using var api = Connect();
        var fixedConfig = KubeProxyConfig.WithZeroMaxPerCore((await api.GetKubeProxyConfigAsync(CancellationToken.None))!);

        Assert.True(await api.ConfigureKubeProxyAsync(fixedConfig, CancellationToken.None));

        Assert.Equal(fixedConfig, kubeProxy.Config);
        Assert.Equal(0, kubeProxy.MaxPerCore);
        Assert.Equal(fixedConfig, await api.GetKubeProxyConfigAsync(CancellationToken.None));
        Assert.True(DateTimeOffset.TryParse(kubeProxy.RestartedAt, out var restartedAt));
        Assert.InRange(restartedAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(2, kubeProxy.Generation);
        var patches = _fake.Requests.Where(r => r.Method == "PATCH").ToList();
        Assert.Equal(3, patches.Count);
        Assert.Equal(KubeProxyDaemonSetPath, patches[0].Path);       // the restart-pending mark
        Assert.Equal(KubeProxyConfigMapPath, patches[1].Path);
        Assert.StartsWith("application/merge-patch+json", patches[1].ContentType);
        // Only the one key: kubeconfig.conf, kubeadm's other key, is left alone.
        Assert.StartsWith("{\"data\":{\"config.conf\":", patches[1].Body);
        Assert.DoesNotContain("\"kubeconfig.conf\":", patches[1].Body);
        Assert.Equal(KubeProxyDaemonSetPath, patches[2].Path);
        Assert.StartsWith("application/strategic-merge-patch+json", patches[2].ContentType);
        Assert.Contains("kubectl.kubernetes.io/restartedAt", patches[2].Body);
        // CoreDNS is not touched.
        Assert.Equal((0, 0), (_fake.Cluster.CoreDns.ConfigMapPatches, _fake.Cluster.CoreDns.DeploymentPatches));

        _fake.ClearRequests();
        Assert.False(await api.ConfigureKubeProxyAsync(fixedConfig.Replace("\n", "\r\n") + "\n", CancellationToken.None));
        Assert.DoesNotContain(_fake.Requests, r => r.Method == "PATCH");
        Assert.Equal((1, 2), (kubeProxy.ConfigMapPatches, kubeProxy.DaemonSetPatches));
    }

    [Fact]
    public async Task A_restart_that_failed_after_the_ConfigMap_was_written_is_finished_by_the_next_call()
    {
        var kubeProxy = _fake.Cluster.KubeProxy;
        kubeProxy.MaxPerCore = 32768;
        using var api = Connect();
        var fixedConfig = KubeProxyConfig.WithZeroMaxPerCore((await api.GetKubeProxyConfigAsync(CancellationToken.None))!);
        // The mark goes through; the restart (the DaemonSet's second PATCH) is forbidden once.
        _fake.Faults.FailRequests(403, count: 1, pathPrefix: KubeProxyDaemonSetPath, method: "PATCH", skip: 1);

        var e = await Assert.ThrowsAsync<DindException>(() => api.ConfigureKubeProxyAsync(fixedConfig, CancellationToken.None));
        Assert.Contains("restart of DaemonSet kube-system/kube-proxy", e.Message);
        Assert.Equal(0, kubeProxy.MaxPerCore);           // written ...
        Assert.Null(kubeProxy.RestartedAt);              // ... but kube-proxy still runs with the old setting
        Assert.True(await api.KubeProxyRestartPendingAsync(CancellationToken.None));

        // The same value again: nothing to write, but the owed restart is done, and the mark is gone.
        Assert.True(await api.ConfigureKubeProxyAsync(fixedConfig, CancellationToken.None));
        Assert.NotNull(kubeProxy.RestartedAt);
        Assert.Equal(1, kubeProxy.ConfigMapPatches);
        Assert.False(await api.KubeProxyRestartPendingAsync(CancellationToken.None));
        Assert.False(await api.ConfigureKubeProxyAsync(fixedConfig, CancellationToken.None));
    }

    [Fact]
    public async Task ConfigureKubeProxy_without_the_ConfigMap_fails_with_ObjectNotFound_and_restarts_nothing()
    {
        _fake.Cluster.KubeProxy.ConfigMapExists = false;
        using var api = Connect();

        Assert.Null(await api.GetKubeProxyConfigAsync(CancellationToken.None));
        var e = await Assert.ThrowsAsync<DindException>(() => api.ConfigureKubeProxyAsync(FakeKubeProxy.KubeadmConfig, CancellationToken.None));

        Assert.Equal(ErrorIds.KubernetesApiError, e.ErrorId);
        Assert.Equal(DindErrorCategory.ObjectNotFound, e.Category);
        Assert.Contains("patch of ConfigMap kube-system/kube-proxy", e.Message);
        Assert.Contains("configmaps \"kube-proxy\" not found", e.Message);
        Assert.Equal("kube-proxy", e.Target);
        Assert.DoesNotContain(_fake.Requests, r => r.Path == KubeProxyDaemonSetPath);
    }

    [Fact]
    public async Task ConfigureKubeProxy_without_the_DaemonSet_fails_before_anything_is_written()
    {
        _fake.Cluster.KubeProxy.DaemonSetExists = false;
        using var api = Connect();
        var fixedConfig = KubeProxyConfig.WithZeroMaxPerCore(FakeKubeProxy.KubeadmConfig);

        var e = await Assert.ThrowsAsync<DindException>(() => api.ConfigureKubeProxyAsync(fixedConfig, CancellationToken.None));

        Assert.Equal(DindErrorCategory.ObjectNotFound, e.Category);
        Assert.Contains("DaemonSet kube-system/kube-proxy", e.Message);
        Assert.Contains("daemonsets.apps \"kube-proxy\" not found", e.Message);
        // Found by the restart-pending mark, before anything was written.
        Assert.Null(_fake.Cluster.KubeProxy.MaxPerCore);     // kubeadm's null, unchanged
        Assert.Equal(0, _fake.Cluster.KubeProxy.ConfigMapPatches);
    }

    [Fact]
    public async Task KubeProxy_calls_retry_transient_failures_then_give_up()
    {
        using var api = Connect(Fast with { TransientRetries = 2 });

        _fake.Faults.FailRequests(503, count: 2, pathPrefix: KubeProxyConfigMapPath);
        Assert.Equal(FakeKubeProxy.KubeadmConfig, await api.GetKubeProxyConfigAsync(CancellationToken.None));
        Assert.Equal(3, _fake.Requests.Count(r => r.Path == KubeProxyConfigMapPath));

        _fake.Faults.DropConnections(count: 1, pathPrefix: KubeProxyDaemonSetPath);
        Assert.True(await api.ConfigureKubeProxyAsync(KubeProxyConfig.WithZeroMaxPerCore(FakeKubeProxy.KubeadmConfig), CancellationToken.None));
        Assert.Equal(2, _fake.Cluster.KubeProxy.DaemonSetPatches);    // the mark and the restart

        _fake.ClearRequests();
        _fake.Faults.FailRequests(500, pathPrefix: KubeProxyConfigMapPath);
        var e = await Assert.ThrowsAsync<DindException>(() => api.ConfigureKubeProxyAsync(FakeKubeProxy.KubeadmConfig, CancellationToken.None));
        Assert.Equal(ErrorIds.KubernetesApiError, e.ErrorId);
        Assert.Equal(DindErrorCategory.ResourceUnavailable, e.Category);
        Assert.Equal(3, _fake.Requests.Count);
        Assert.Equal(1, _fake.Cluster.KubeProxy.ConfigMapPatches);
    }

    [Fact]
    public async Task Single_calls_retry_a_few_transient_failures_then_give_up()
    {
        _fake.Cluster.AddNodes(["a"]);
        using var api = Connect(Fast with { TransientRetries = 2 });

        _fake.Faults.FailRequests(500, count: 2);
        Assert.Single(await api.GetNodesAsync(CancellationToken.None));

        _fake.Faults.FailRequests(503);
        var e = await Assert.ThrowsAsync<DindException>(() => api.GetNodesAsync(CancellationToken.None));
        Assert.Equal(ErrorIds.KubernetesApiError, e.ErrorId);
        Assert.Equal(DindErrorCategory.ResourceUnavailable, e.Category);
        Assert.Equal(6, _fake.Requests.Count);
    }

    [Fact]
    public async Task GetPods_filters_by_label_and_GetServerVersion_reads_version()
    {
        _fake.Cluster.AddNodes(["a"]);
        _fake.Cluster.AddPod("kube-system", "kube-proxy-x1", new Dictionary<string, string> { ["k8s-app"] = "kube-proxy" }, nodeName: "a", podIp: "fd00:77:1::3");
        _fake.Cluster.AddPod("default", "web", podIp: "fd00:77:2::5", phase: "Pending", ready: false);
        using var api = Connect();
        await api.GetNodesAsync(CancellationToken.None);

        var dns = await api.GetPodsAsync("kube-system", "k8s-app=kube-dns", CancellationToken.None);
        var all = await api.GetPodsAsync("kube-system", null, CancellationToken.None);
        var web = Assert.Single(await api.GetPodsAsync("default", null, CancellationToken.None));

        Assert.Equal(2, dns.Count);
        Assert.All(dns, p => { Assert.True(p.Ready); Assert.Equal("Running", p.Phase); Assert.Equal("a", p.NodeName); });
        Assert.Equal(3, all.Count);
        Assert.Equal(("web", "Pending", false, "ContainersNotReady"), (web.Name, web.Phase, web.Ready, web.Reason));
        Assert.Equal(["fd00:77:2::5"], web.PodIPs);
        Assert.Equal("v1.31.2", await api.GetServerVersionAsync(CancellationToken.None));
        Assert.Contains(_fake.Requests, r => r.Query == "labelSelector=k8s-app%3Dkube-dns&watch=false");
    }

    [Fact]
    public async Task Server_override_replaces_the_kubeconfig_server()
    {
        _fake.Cluster.AddNodes(["a"]);
        // An admin.conf names the node's own address; the lab talks to the published loopback port instead.
        var adminConf = _fake.CreateKubeconfig(server: "https://[fd00:77:1::3]:6443", clientCertificate: true);
        using var api = KubernetesApiFactory.FromKubeconfig(adminConf, _fake.Server, Fast);

        Assert.Equal(_fake.Server, api.Server);
        Assert.Single(await api.GetNodesAsync(CancellationToken.None));
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.IPv6Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
