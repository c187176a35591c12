using System.Text.Json;
using Ipv6Dind.IntegrationTests.Lab;
using Ipv6Dind.Tests;

namespace Ipv6Dind.IntegrationTests.Kubernetes;

/// <summary>
/// A Kubernetes lab through the cmdlets only, with no seam: New-DindCluster, Get-DindKubeconfig, Test-DindCluster,
/// Add-/Remove-DindNode, Repair-ConntrackHashsize and Reset-DindCluster reach the control plane the way they do on a
/// real host, through the port Docker publishes on the host's [::1], the kubeconfig the module rewrites to it, TLS
/// checked against the cluster CA and KubernetesClient. Behind that port is the TEST DOUBLE of kube-apiserver
/// (tests/doubles/kubernetes/kubedouble/apiserver.py, started by the kubeadm double's init as a systemd unit; workers
/// register through the lab network as a kubelet would). No CoreDNS runs, so the two cluster-DNS checks must fail,
/// and say why.
/// </summary>
[Collection("lab")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KubernetesCmdletEndToEndTests
{
    private readonly LabFixture _f;
    public KubernetesCmdletEndToEndTests(LabFixture fixture) => _f = fixture;

    private const string Probes = "-ProbeName " + OutsideWorld.WwwName + " -ProbeUrl http://" + OutsideWorld.WwwName + "/";

    /// <summary>The requests the API server double answered, from its log in the control-plane node.</summary>
    private async Task<List<(string Method, string Path, string? User, int Code)>> ApiRequestsAsync(string controlPlane)
    {
        var text = await _f.Docker.GetFileAsync(controlPlane, "/var/log/kubernetes-double/api.jsonl", CancellationToken.None) ?? "";
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (e.GetProperty("method").GetString()!, e.GetProperty("path").GetString()!,
                e.GetProperty("user").ValueKind == JsonValueKind.String ? e.GetProperty("user").GetString() : null, e.GetProperty("code").GetInt32()))
            .ToList();
    }

    private List<CheckResult> Checks(string name)
    {
        var r = _f.Ps.Run($"Test-DindCluster {name} {Probes}");
        r.AssertSuccess();
        return r.All<CheckResult>().ToList();
    }

    /// <summary>Every check passes (or warns) but the two that need a real CoreDNS pod, which fail with their detail.</summary>
    private static void AssertOnlyClusterDnsFails(IReadOnlyList<CheckResult> checks, int nodes)
    {
        var failed = checks.Where(c => c.Status == CheckStatus.Fail).ToList();
        Assert.True(failed.All(c => c.Check.StartsWith("ClusterDns", StringComparison.Ordinal)), string.Join("\n", failed));
        Assert.Contains(failed, c => c.Check == "ClusterDnsService" && c.Detail.Contains("CoreDNS at"));
        var ready = checks.Where(c => c.Check == "KubernetesNodeReady").ToList();
        Assert.Equal(nodes, ready.Count);
        Assert.All(ready, c => Assert.True(c.Status == CheckStatus.Pass && c.Detail.StartsWith("Ready, kubelet v1.31.2, ", StringComparison.Ordinal), c.ToString()));
    }

    /// <summary>examples/nightly/Rebuild-DindLab.ps1 in a child pwsh (PwshProcess); asserts exit 2 for the two cluster-DNS checks only.</summary>
    private async Task<(string StdOut, string Log)> NightlyAsync(string name, string image, string log)
    {
        var before = File.Exists(log) ? await File.ReadAllTextAsync(log) : "";
        var nightly = await PwshProcess.RunAsync(new[]
        {
            "-File", Path.Combine(Repo.Root, "examples", "nightly", "Rebuild-DindLab.ps1"), "-ClusterName", name, "-LogPath", log,
            "-Nodes", "2", "-NodeImage", image, "-Dns64Upstream", _f.Upstream, "-TimeoutSec", "120",
            "-ProbeName", OutsideWorld.WwwName, "-ProbeUrl", $"http://{OutsideWorld.WwwName}/",
        }, TimeSpan.FromMinutes(10));
        var appended = (File.Exists(log) ? await File.ReadAllTextAsync(log) : "")[before.Length..];
        var summary = $"exit {nightly.ExitCode}\n{nightly.StdOut}\n{nightly.StdErr}\n{appended}";
        Assert.True(nightly.ExitCode == 2, summary);
        Assert.StartsWith($"Ipv6Dind nightly rebuild of '{name}' on {Environment.MachineName}: CHECKS FAILED (exit 2)", nightly.StdOut);
        var failedLines = nightly.StdOut.Split('\n').Where(l => l.StartsWith("  FAIL ", StringComparison.Ordinal)).ToList();
        Assert.True(failedLines.Count == 2 && failedLines.All(l => l.Contains(" ClusterDns", StringComparison.Ordinal)), summary);
        Assert.Contains($"OUTPUT: Pass {name}-node-2 KubernetesNodeReady: Ready, kubelet v1.31.2", appended);
        return (nightly.StdOut, appended);
    }

    [Fact]
    public async Task TheCmdletsDriveAKubernetesLabThroughThePublishedApiServerPort()
    {
        const string name = "it-k8s-e2e";
        var controlPlane = name + "-node-1";
        var image = await KubeDoubleImage.EnsureKubernetesNodeAsync(_f.Docker);
        var dir = Directory.CreateTempSubdirectory("ipv6dind-k8s-e2e-");
        try
        {
            var created = _f.Ps.Run($"New-DindCluster {name} -Nodes 2 -NodeImage {image} -Dns64Upstream {_f.Upstream} -TimeoutSec 120 -Verbose");
            created.AssertSuccess();
            var cluster = created.Single<DindCluster>();
            Assert.False(cluster.NetworkOnly);
            Assert.Equal("v1.31.2", cluster.KubernetesVersion);
            Assert.Contains(created.Verbose, v => v.Contains("CoreDNS now forwards to the cluster's DNS64", StringComparison.Ordinal));

            // The module's calls reached the double with the admin's client certificate: CoreDNS patched and
            // restarted, nodes polled until Ready.
            var calls = await ApiRequestsAsync(controlPlane);
            Assert.Contains(calls, c => c is ("PATCH", "/api/v1/namespaces/kube-system/configmaps/coredns", "kubernetes-admin", 200));
            Assert.Contains(calls, c => c is ("PATCH", "/apis/apps/v1/namespaces/kube-system/deployments/coredns", "kubernetes-admin", 200));
            Assert.True(calls.Any(c => c.Method == "GET" && c.Path.Split('?')[0] == "/api/v1/nodes" && c.User == "kubernetes-admin" && c.Code == 200),
                string.Join("\n", calls));
            // The worker registered itself through the lab network with its own node certificate.
            Assert.Contains(calls, c => c is ("POST", "/api/v1/nodes", "system:node:" + name + "-node-2", 201));

            // A kubeconfig for the host: 0600, the published loopback port, and it works (the checks below use it).
            var kubeconfig = Path.Combine(dir.FullName, "lab.conf");
            _f.Ps.Run($"Get-DindKubeconfig {name} -Path '{kubeconfig}'").AssertSuccess();
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(kubeconfig));
            Assert.Matches(@"server: https://\[::1\]:\d+", await File.ReadAllTextAsync(kubeconfig));

            AssertOnlyClusterDnsFails(Checks(name), 2);

            // kube-proxy was rendered with maxPerCore 0, so there is nothing to repair; read back through the API.
            var conntrack = _f.Ps.Run($"Repair-ConntrackHashsize -ClusterName {name} -Confirm:$false");
            conntrack.AssertSuccess();
            var status = conntrack.Single<ConntrackStatus>();
            Assert.Equal((name, 0, false), (status.Target, status.MaxPerCore, status.NeedsRepair));

            // A third node joins and registers; removing it deletes its Node object through the API.
            var added = _f.Ps.Run($"Add-DindNode {name} -TimeoutSec 60");
            added.AssertSuccess();
            Assert.Equal(name + "-node-3", added.Single<DindNode>().NodeName);
            AssertOnlyClusterDnsFails(Checks(name), 3);
            _f.Ps.Run($"Remove-DindNode {name} {name}-node-3 -Confirm:$false").AssertSuccess();
            Assert.Contains(await ApiRequestsAsync(controlPlane), c => c is ("DELETE", "/api/v1/nodes/" + name + "-node-3", "kubernetes-admin", 200));
            AssertOnlyClusterDnsFails(Checks(name), 2);

            // The nightly rebuild: new containers, a new control plane (and API server double), the same addresses.
            var before = _f.Ps.Run($"Get-DindNode {name}").All<DindNode>().ToDictionary(n => n.NodeName, n => (n.ContainerId, n.IPv6Address));
            _f.Ps.Run($"Reset-DindCluster {name} -TimeoutSec 120 -Confirm:$false").AssertSuccess();
            var after = _f.Ps.Run($"Get-DindNode {name}").All<DindNode>().ToDictionary(n => n.NodeName, n => (n.ContainerId, n.IPv6Address));
            Assert.Equal(before.Keys.Order(), after.Keys.Order());
            Assert.All(after, n => Assert.Equal(before[n.Key].IPv6Address, n.Value.IPv6Address));
            Assert.All(after, n => Assert.NotEqual(before[n.Key].ContainerId, n.Value.ContainerId));
            AssertOnlyClusterDnsFails(Checks(name), 2);

            // The nightly rebuild script's Kubernetes variant, as its systemd unit runs it (pwsh, a
            // child process). Both branches: the lab exists, so Reset-DindCluster; then, the lab removed, New-DindCluster
            // with -NodeImage. Each time the checks follow, of which only the cluster-DNS ones fail here: exit 2 with
            // those two in the summary.
            var log = Path.Combine(dir.FullName, "nightly.log");
            var reset = await NightlyAsync(name, image, log);
            Assert.Contains($"the lab exists (Running, 2 node(s)): Reset-DindCluster", reset.Log);
            _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false").AssertSuccess();
            var recreated = await NightlyAsync(name, image, log);
            Assert.Contains($"no lab named '{name}': New-DindCluster with 2 node(s)", recreated.Log);
            Assert.False(_f.Ps.Run($"Get-DindCluster {name}").Single<DindCluster>().NetworkOnly);
        }
        finally
        {
            _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false");
            dir.Delete(recursive: true);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }
}
