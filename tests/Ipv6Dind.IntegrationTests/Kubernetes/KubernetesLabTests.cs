using System.Text.Json;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Images;
using Ipv6Dind.Core.Kubernetes;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.FakeKubeApi;
using Ipv6Dind.IntegrationTests.Lab;

namespace Ipv6Dind.IntegrationTests.Kubernetes;

/// <summary>
/// The Kubernetes phase end to end, as far as this machine allows: REAL dockerd, bind9, tayga, systemd and
/// containerd in the nodes (the product's kubernetes-node image), with a TEST DOUBLE of kubeadm/kubelet (it checks
/// every config against the upstream types and writes the files kubeadm writes, but runs no Kubernetes) and a
/// FAKE API server on host loopback standing in for kube-apiserver (seeded with the lab's node names). No real
/// kubeadm, kubelet or kube-apiserver binary exists in any registry these machines reach.
/// </summary>
[Collection("lab")]
public sealed class KubernetesLabTests
{
    private readonly LabFixture _f;
    public KubernetesLabTests(LabFixture fixture) => _f = fixture;

    private Task<string> NodeImageAsync() => KubeDoubleImage.EnsureKubernetesNodeAsync(_f.Docker);

    private DindClusterSpec Spec(string name, int nodes, string image) =>
        new() { ClusterName = name, Nodes = nodes, NodeImage = image, Dns64Upstream = new[] { _f.Upstream } };

    /// <summary>The lab, its API calls going to the fake (the kubeconfig the double wrote is checked on the way).</summary>
    private DindLab Lab(FakeKubeApiServer fake, List<(string Kubeconfig, string Server)> seen, CancellationToken ct = default)
    {
        var lab = _f.Lab(ct);
        lab.ConnectKubernetes = (kubeconfig, server) =>
        {
            lock (seen) seen.Add((kubeconfig, server));
            return KubernetesApiFactory.FromKubeconfig(fake.Kubeconfig, null, new KubernetesApiOptions { PollInterval = TimeSpan.FromMilliseconds(200) });
        };
        return lab;
    }

    private static LabOptions Kubernetes(int readySeconds = 60) =>
        new() { NetworkOnly = false, KubernetesReadyTimeout = TimeSpan.FromSeconds(readySeconds) };

    private async Task<IReadOnlyList<JsonElement>> CallsAsync(string node)
    {
        var text = await _f.Docker.GetFileAsync(node, "/var/log/kubernetes-double/calls.jsonl", CancellationToken.None) ?? "";
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
    }

    private static IEnumerable<string> Commands(IEnumerable<JsonElement> calls, string tool) =>
        calls.Where(c => c.GetProperty("argv")[0].GetString()!.EndsWith(tool, StringComparison.Ordinal))
             .Select(c => string.Join(' ', c.GetProperty("argv").EnumerateArray().Skip(1).Select(a => a.GetString())) + (c.GetProperty("ok").GetBoolean() ? "" : " (rejected)"));

    [Fact]
    public async Task ThreeNodeClusterInitsJoinsPointsCoreDnsAtDns64AndRebuildsWithTheSameAddresses()
    {
        const string name = "it-k8s";
        var image = await NodeImageAsync();
        var nodes = new[] { $"{name}-node-1", $"{name}-node-2", $"{name}-node-3" };
        await using var fake = await FakeKubeApiServer.StartWithNodesAsync(nodes, readyAfterPolls: 1);
        var seen = new List<(string, string)>();
        var lab = Lab(fake, seen);
        try
        {
            var cluster = await lab.CreateAsync(Spec(name, 3, image), Kubernetes());
            Assert.False(cluster.NetworkOnly);
            Assert.Equal(KubeDoubleImage.DefaultVersion, cluster.KubernetesVersion);
            Assert.Equal("Running", cluster.State);

            // kubeadm init on node 1 only, a pinned join on the others, every config accepted by the double.
            var init = Commands(await CallsAsync(nodes[0]), "kubeadm").ToList();
            Assert.Contains(init, c => c.StartsWith("init --config=/kind/kubeadm.conf", StringComparison.Ordinal) && !c.EndsWith("(rejected)"));
            foreach (var worker in nodes.Skip(1))
            {
                var calls = Commands(await CallsAsync(worker), "kubeadm").ToList();
                Assert.Contains(calls, c => c.StartsWith("join --config=/kind/kubeadm.conf", StringComparison.Ordinal) && !c.EndsWith("(rejected)"));
                var join = await _f.Docker.GetFileAsync(worker, "/kind/kubeadm.conf", CancellationToken.None);
                Assert.Contains("caCertHashes:", join);
                Assert.DoesNotContain("unsafeSkipCAVerification", join);
            }

            // Each node got its own pod /80 in the CNI config before kubelet needs it.
            var plan = (await lab.GetNodesAsync(name)).ToDictionary(n => n.NodeName);
            foreach (var node in nodes)
                Assert.Contains(plan[node].PodPrefix, await _f.Docker.GetFileAsync(node, "/etc/cni/net.d/10-ipv6dind.conflist", CancellationToken.None));

            // The API server is published on host loopback only, and the lab reached it with admin.conf from the node.
            var cp = await _f.Docker.InspectContainerAsync(nodes[0], CancellationToken.None);
            Assert.Equal("::1", cp!.Ports["6443/tcp"].HostIp);
            var (kubeconfig, server) = seen.First();
            Assert.Equal($"https://[::1]:{cp.Ports["6443/tcp"].HostPort}", server);
            Assert.Contains("kubernetes-admin", kubeconfig);
            Assert.Null((await _f.Docker.InspectContainerAsync(nodes[1], CancellationToken.None))!.Ports.GetValueOrDefault("6443/tcp").HostIp);

            // Node privileges read back from dockerd and from the kernel: --privileged where the daemon permits it,
            // else every capability but SYS_RESOURCE with seccomp and AppArmor unconfined (docs/design/README.md, "Docker and kernel facts"), and only node 1
            // publishing anything.
            var lastCap = int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim(), System.Globalization.CultureInfo.InvariantCulture);
            var allCaps = lastCap >= 63 ? ulong.MaxValue : (1UL << (lastCap + 1)) - 1;
            foreach (var node in nodes)
            {
                var c = (await _f.Docker.InspectContainerAsync(node, CancellationToken.None))!;
                if (!c.Privileged)
                {
                    Assert.Equal(new[] { "ALL" }, c.CapAdd);
                    Assert.Equal(new[] { "SYS_RESOURCE" }, c.CapDrop);
                    Assert.Contains("seccomp=unconfined", c.SecurityOptions);
                    Assert.Contains("apparmor=unconfined", c.SecurityOptions);
                }
                Assert.Empty(c.Devices);
                Assert.Equal(node == nodes[0] ? 1 : 0, c.PortBindings.Count);
                var status = await _f.Docker.ExecAsync(node, new[] { "cat", "/proc/1/status" }, null, null, CancellationToken.None);
                var bounding = ulong.Parse(status.StandardOutput.Split('\n').Single(l => l.StartsWith("CapBnd:", StringComparison.Ordinal))["CapBnd:".Length..].Trim(),
                    System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                // linux/capability.h: SYS_RESOURCE is 24; CAP_AUDIT_READ (37) is the last one Docker 20.10's "ALL" knows
                // (newer kernels have up to cap_last_cap; --privileged gets those too).
                const int sysResource = 24, auditRead = 37;
                var known = (1UL << (auditRead + 1)) - 1;
                if (c.Privileged)
                    Assert.Equal(allCaps, bounding);
                else
                {
                    Assert.Equal(0UL, bounding & (1UL << sysResource));
                    Assert.Equal(known & ~(1UL << sysResource), bounding & known);
                }
            }

            // CoreDNS forwards to the cluster's DNS64, and was restarted once.
            Assert.Contains($"forward . {cluster.Dns64Address}", fake.Cluster.CoreDns.Corefile);
            Assert.NotNull(fake.Cluster.CoreDns.RestartedAt);

            // systemd is PID 1 in the nodes and containerd runs under it (the node image contract).
            var pid1 = await _f.Docker.ExecAsync(nodes[1], new[] { "cat", "/proc/1/comm" }, null, null, CancellationToken.None);
            Assert.Equal("systemd", pid1.StandardOutput.Trim());
            var containerd = await _f.Docker.ExecAsync(nodes[1], new[] { "systemctl", "is-active", "containerd" }, null, null, CancellationToken.None);
            Assert.Equal("active", containerd.StandardOutput.Trim());

            // Get-DindKubeconfig's content: the published server, the ipv6dind-<name> context.
            var (named, published, context) = await lab.GetKubeconfigAsync(name);
            Assert.Equal(server, published);
            Assert.Equal("ipv6dind-" + name, context);
            Assert.Contains($"server: {server}", named);
            Assert.Contains("current-context: ipv6dind-" + name, named);

            // Test-DindCluster: the network checks and node readiness pass; the cluster-DNS checks need a real CoreDNS
            // pod, which the double does not run, so they must fail with a clear detail (not pass by accident).
            var checks = await new LabTester(lab).TestAsync(name, new LabTestOptions { ProbeName = "www.example.test", ProbeUrl = "http://www.example.test/" });
            var failed = checks.Where(c => c.Status == CheckStatus.Fail && !c.Check.StartsWith("ClusterDns", StringComparison.Ordinal)).ToList();
            Assert.True(failed.Count == 0, string.Join("\n", failed));
            Assert.Equal(3, checks.Count(c => c.Check == "KubernetesNodeReady" && c.Status == CheckStatus.Pass));
            Assert.Contains(checks, c => c.Check == "ClusterDnsService" && c.Status == CheckStatus.Fail && c.Detail.Contains("CoreDNS at"));

            // Copy-DindImage: a small image saved once, streamed into every node's containerd (ctr import from stdin,
            // as kind does): nothing is staged in the nodes, and the host's one copy is gone afterwards.
            var tiny = await TinyImageAsync();
            var loaded = await lab.CopyImagesAsync(name, new[] { tiny }, null, 3);
            Assert.Equal(nodes.OrderBy(n => n), loaded.OrderBy(n => n));
            foreach (var node in nodes)
            {
                var ls = await _f.Docker.ExecAsync(node, new[] { "ctr", "--namespace=k8s.io", "images", "ls", "-q" }, null, null, CancellationToken.None);
                Assert.Contains(tiny, ls.StandardOutput);
                Assert.Contains("--namespace=k8s.io images import --all-platforms -", Commands(await CallsAsync(node), "ctr"));
                var staged = await _f.Docker.ExecAsync(node, new[] { "ls", "-A", "/var/tmp", "/tmp" }, null, null, CancellationToken.None);
                Assert.DoesNotContain("ipv6dind-images-", staged.StandardOutput);
                Assert.DoesNotContain("ctr-import-", staged.StandardOutput);
            }
            Assert.Empty(Directory.GetFiles(Path.GetTempPath(), "ipv6dind-images-*"));

            // Reset-DindCluster: new containers, the same names and addresses, kubeadm init again.
            var before = (await lab.GetNodesAsync(name)).ToDictionary(n => n.NodeName, n => (n.ContainerId, n.IPv6Address));
            var reset = await lab.ResetAsync(name, Kubernetes() with { LockWait = TimeSpan.FromSeconds(5) });
            Assert.Equal("Running", reset.State);
            var after = (await lab.GetNodesAsync(name)).ToDictionary(n => n.NodeName, n => (n.ContainerId, n.IPv6Address));
            Assert.Equal(before.Keys.OrderBy(k => k), after.Keys.OrderBy(k => k));
            foreach (var (node, (id, address)) in before)
            {
                Assert.NotEqual(id, after[node].ContainerId);
                Assert.Equal(address, after[node].IPv6Address);
            }
            Assert.Single(Commands(await CallsAsync(nodes[0]), "kubeadm"), c => c.StartsWith("init", StringComparison.Ordinal));

            // Add-DindNode joins a fourth node with a fresh token.
            fake.Cluster.AddNode($"{name}-node-4", readyAfterPolls: 0);
            var added = await lab.AddNodesAsync(name, 1, Kubernetes());
            Assert.Equal($"{name}-node-4", added.Single().NodeName);
            Assert.Contains(Commands(await CallsAsync(nodes[0]), "kubeadm"), c => c.StartsWith("token create", StringComparison.Ordinal));
            Assert.Contains(Commands(await CallsAsync($"{name}-node-4"), "kubeadm"), c => c.StartsWith("join", StringComparison.Ordinal) && !c.EndsWith("(rejected)"));

            // Remove-DindNode deletes the worker's Node object (kubectl delete node) before its container; the
            // control-plane node is refused, with nothing removed.
            await lab.RemoveNodeAsync(name, $"{name}-node-4");
            Assert.DoesNotContain(fake.Cluster.Nodes, n => n.Name == $"{name}-node-4");
            Assert.Contains(fake.Requests, r => r.Method == "DELETE" && r.Path == $"/api/v1/nodes/{name}-node-4");
            var refused = await Assert.ThrowsAsync<DindException>(() => lab.RemoveNodeAsync(name, nodes[0]));
            Assert.Equal(ErrorIds.ControlPlaneNodeRemoval, refused.ErrorId);
            Assert.Equal(3, (await lab.GetNodesAsync(name)).Count);
            Assert.Contains(fake.Cluster.Nodes, n => n.Name == nodes[0]);
        }
        finally
        {
            await lab.RemoveAsync(name);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task RepairConntrackHashsizeSetsKubeProxyMaxPerCoreToZeroRestartsItOnceAndThenChangesNothing()
    {
        const string name = "it-k8s-kp";
        var image = await NodeImageAsync();
        await using var fake = await FakeKubeApiServer.StartWithNodesAsync(new[] { $"{name}-node-1" });
        var lab = Lab(fake, new List<(string, string)>());
        try
        {
            await lab.CreateAsync(Spec(name, 1, image), Kubernetes());
            // A cluster whose kube-proxy ConfigMap was replaced with kube-proxy's defaults (kubeadm's own writes null).
            var kubeProxy = fake.Cluster.KubeProxy;
            kubeProxy.MaxPerCore = 32768;
            var before = kubeProxy.Config!;

            // -WhatIf (or "no"): asked once, for the cluster, and nothing is changed, probed or returned.
            var asked = new List<(string Target, string Action)>();
            Assert.Null(await lab.RepairConntrackAsync(name, (target, action) => { asked.Add((target, action)); return false; }));
            Assert.Equal((name, DindLab.KubeProxyRepairAction), Assert.Single(asked));
            Assert.Equal(before, kubeProxy.Config);
            Assert.Equal((0, 0), (kubeProxy.ConfigMapPatches, kubeProxy.DaemonSetPatches));

            asked.Clear();
            var status = await lab.RepairConntrackAsync(name, (target, action) => { asked.Add((target, action)); return true; });

            Assert.NotNull(status);
            Assert.Equal(0, kubeProxy.MaxPerCore);
            Assert.Equal(before.Replace("  maxPerCore: 32768\n", "  maxPerCore: 0\n"), kubeProxy.Config!.TrimEnd('\n'));
            Assert.Equal((1, 2), (kubeProxy.ConfigMapPatches, kubeProxy.DaemonSetPatches));    // DaemonSet: the restart-pending mark, the restart
            Assert.NotNull(kubeProxy.RestartedAt);
            Assert.Equal((name, 0, 32768, false), (status.Target, status.MaxPerCore, status.PreviousMaxPerCore, status.NeedsRepair));
            Assert.Contains("had conntrack.maxPerCore 32768", status.Detail);
            Assert.Contains("DaemonSet kube-system/kube-proxy restarted", status.Detail);
            // The probe ran too, in the node, behind its own question (the host may lack nf_conntrack: then it says so).
            Assert.Equal([name, $"{name}-node-1"], asked.Select(a => a.Target));
            Assert.True(status.Detail.Contains($"hashsize write in {name}-node-1", StringComparison.Ordinal)
                || status.Detail.Contains("nf_conntrack is not loaded", StringComparison.Ordinal), status.Detail);

            // A second run finds 0, asks nothing about the ConfigMap and changes nothing.
            asked.Clear();
            var again = await lab.RepairConntrackAsync(name, (target, action) => { asked.Add((target, action)); return true; });
            Assert.NotNull(again);
            Assert.Null(again.PreviousMaxPerCore);
            Assert.Contains("has conntrack.maxPerCore: 0", again.Detail);
            Assert.DoesNotContain(asked, a => a.Action == DindLab.KubeProxyRepairAction);
            Assert.Equal((1, 2), (kubeProxy.ConfigMapPatches, kubeProxy.DaemonSetPatches));
            Assert.Equal(2, kubeProxy.Generation);

            // Reverted again, and this time the restart fails after the ConfigMap was written: the next run finds the
            // restart owed (the DaemonSet's restart-pending mark), asks for it, and does it.
            kubeProxy.MaxPerCore = 32768;
            fake.Faults.FailRequests(403, count: 1, pathPrefix: "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy", method: "PATCH", skip: 1);
            await Assert.ThrowsAsync<DindException>(() => lab.RepairConntrackAsync(name, (_, _) => true));
            Assert.Equal(0, kubeProxy.MaxPerCore);      // written ...
            Assert.Equal(2, kubeProxy.Generation);      // ... not restarted
            asked.Clear();
            var owed = await lab.RepairConntrackAsync(name, (target, action) => { asked.Add((target, action)); return true; });
            Assert.Contains((name, DindLab.KubeProxyRestartAction), asked);
            Assert.Contains("had not been restarted", owed!.Detail);
            Assert.Equal(3, kubeProxy.Generation);
            asked.Clear();
            await lab.RepairConntrackAsync(name, (target, action) => { asked.Add((target, action)); return true; });
            Assert.DoesNotContain(asked, a => a.Target == name);
            Assert.Equal(3, kubeProxy.Generation);
        }
        finally
        {
            await lab.RemoveAsync(name);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    /// <summary>A one-file image built locally (no registry), small enough to load into every node quickly.</summary>
    private async Task<string> TinyImageAsync(string reference = "ipv6dind-test/tiny:1")
    {
        if (await _f.Docker.InspectImageAsync(reference, CancellationToken.None) is not null) return reference;
        var tar = new MemoryStream();
        await using (var writer = new System.Formats.Tar.TarWriter(tar, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (file, text) in new[] { ("Dockerfile", "FROM scratch\nCOPY hello /hello\n"), ("hello", "hello from the host's Docker\n") })
                await writer.WriteEntryAsync(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, file)
                {
                    DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead | UnixFileMode.GroupRead,
                });
        }
        tar.Position = 0;
        await _f.Docker.BuildImageAsync(tar, reference, new ImageBuildOptions(), CancellationToken.None);
        return reference;
    }

    /// <summary>tests/doubles/calico/calico.yaml: shaped like Calico's manifest install, with local test images.</summary>
    private static readonly string CalicoFixture = Path.Combine(Ipv6Dind.Tests.Repo.Root, "tests", "doubles", "calico", "calico.yaml");
    private static readonly string[] CalicoImages =
        { "ipv6dind-test/calico-cni:v3.28.0", "ipv6dind-test/calico-node:v3.28.0", "ipv6dind-test/calico-kube-controllers:v3.28.0" };

    [Fact]
    public async Task CalicoFromTheUsersManifestIsMadeIpv6OnlyItsImagesCopiedAndAppliedRightAfterInit()
    {
        const string name = "it-calico";
        var image = await NodeImageAsync();
        foreach (var reference in CalicoImages) await TinyImageAsync(reference);
        var nodes = new[] { $"{name}-node-1", $"{name}-node-2" };
        var added = $"{name}-node-3";
        await using var fake = await FakeKubeApiServer.StartWithNodesAsync(nodes.Append(added), readyAfterPolls: 1);
        var lab = Lab(fake, new List<(string, string)>());
        var spec = Spec(name, 2, image);
        spec.Cni = "calico";
        spec.CalicoManifest = CalicoFixture;
        try
        {
            var cluster = await lab.CreateAsync(spec, Kubernetes());
            Assert.Equal("calico", cluster.Spec.Cni);
            Assert.Equal(CalicoFixture, cluster.Spec.CalicoManifest);
            await AssertCalicoInstalledAsync(lab, name, nodes);

            // Test-DindCluster reads calico-node's pods from the API (the fake's: one Ready, one that cannot pull its
            // image), and does not pretend its bridge-plugin probe says anything about Calico's pod network.
            var labels = new Dictionary<string, string> { ["k8s-app"] = "calico-node" };
            fake.Cluster.AddPod("kube-system", "calico-node-x1", labels, "Running", ready: true, nodeName: nodes[0]);
            fake.Cluster.AddPod("kube-system", "calico-node-x2", labels, "Pending", ready: false, nodeName: nodes[1]);
            var checks = await new LabTester(lab).TestAsync(name, new LabTestOptions { ProbeName = "www.example.test", ProbeUrl = "http://www.example.test/" });
            var calicoChecks = checks.Where(c => c.Check == "CalicoNodeReady").ToDictionary(c => c.Target, c => c.Status);
            Assert.Equal(CheckStatus.Pass, calicoChecks[nodes[0]]);
            Assert.Equal(CheckStatus.Fail, calicoChecks[nodes[1]]);
            var podToPod = Assert.Single(checks, c => c.Check == "PodToPod");
            Assert.Equal(CheckStatus.Warn, podToPod.Status);

            // The nightly rebuild installs it again on the new nodes, from the same manifest.
            await lab.ResetAsync(name, Kubernetes() with { LockWait = TimeSpan.FromSeconds(5) });
            await AssertCalicoInstalledAsync(lab, name, nodes);

            // A node added later gets Calico's images too, and no CNI config of the lab's own; it joins (no apply there).
            Assert.Equal(added, Assert.Single(await lab.AddNodesAsync(name, 1, Kubernetes())).NodeName);
            Assert.False(await _f.Docker.PathExistsAsync(added, "/etc/cni/net.d/10-ipv6dind.conflist", CancellationToken.None));
            var listed = await _f.Docker.ExecAsync(added, new[] { "ctr", "-n", "k8s.io", "images", "ls", "-q" }, null, null, CancellationToken.None);
            foreach (var reference in CalicoImages)
                Assert.Contains("docker.io/" + reference, listed.StandardOutput);
            Assert.Contains(Commands(await CallsAsync(added), "kubeadm"), c => c.StartsWith("join ", StringComparison.Ordinal) && !c.EndsWith("(rejected)"));
        }
        finally
        {
            await _f.Lab().RemoveAsync(name);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    private async Task AssertCalicoInstalledAsync(DindLab lab, string name, string[] nodes)
    {
        // kubectl apply on the control plane only, with kubeadm's admin.conf, after kubeadm init and before any join.
        var calls = await CallsAsync(nodes[0]);
        var sequence = calls.Select(c => string.Join(' ', c.GetProperty("argv").EnumerateArray().Take(3).Select(a => a.GetString()))).ToList();
        var init = sequence.FindIndex(c => c.StartsWith("kubeadm init", StringComparison.Ordinal));
        var apply = sequence.FindIndex(c => c == "kubectl --kubeconfig=/etc/kubernetes/admin.conf apply");
        Assert.True(init >= 0 && apply > init, string.Join('\n', sequence));
        Assert.Contains("--kubeconfig=/etc/kubernetes/admin.conf apply -f /kind/calico-ipv6.yaml", Commands(calls, "kubectl"));
        Assert.DoesNotContain(Commands(await CallsAsync(nodes[1]), "kubectl"), c => c.Contains("apply", StringComparison.Ordinal));

        // What was applied is the user's manifest made IPv6-only for this lab's pod prefix.
        var plan = Core.Addressing.AddressPlanner.Plan((await lab.GetClustersAsync(name)).Single().Spec);
        var applied = await _f.Docker.GetFileAsync(nodes[0], "/var/lib/kubernetes-double/kubectl/applied-1.yaml", CancellationToken.None);
        Assert.NotNull(applied);
        Assert.Contains($"- name: CALICO_IPV6POOL_CIDR\n          value: \"{plan.PodPrefix}\"", applied);
        Assert.Contains("- name: IP\n          value: \"none\"", applied);
        Assert.Contains("\"assign_ipv6\":\"true\"", applied);
        Assert.DoesNotContain("CALICO_IPV4POOL_CIDR", applied);

        // Calico brings its own CNI config (install-cni): the lab wrote none of its own.
        foreach (var node in nodes)
        {
            Assert.False(await _f.Docker.PathExistsAsync(node, "/etc/cni/net.d/10-ipv6dind.conflist", CancellationToken.None));
            // Its images are in every node's containerd, copied from the host's Docker (no registry).
            var listed = await _f.Docker.ExecAsync(node, new[] { "ctr", "-n", "k8s.io", "images", "ls", "-q" }, null, null, CancellationToken.None);
            foreach (var reference in CalicoImages)
                Assert.Contains("docker.io/" + reference, listed.StandardOutput);
        }
    }

    [Fact]
    public async Task CalicoWithoutAManifestOrWithAMissingImageIsRefusedBeforeAnythingIsCreated()
    {
        var image = await NodeImageAsync();
        foreach (var reference in CalicoImages) await TinyImageAsync(reference);   // all there but the one the test breaks
        await using var fake = await FakeKubeApiServer.StartWithNodesAsync(new[] { "it-calico-bad-node-1" }, readyAfterPolls: 1);
        var lab = Lab(fake, new List<(string, string)>());

        var spec = Spec("it-calico-bad", 1, image);
        spec.Cni = "calico";
        var none = await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(spec, Kubernetes()));
        Assert.Equal(ErrorIds.CalicoManifestRequired, none.ErrorId);
        Assert.Equal("CalicoManifest", none.ParameterName);

        var manifest = Path.Combine(Path.GetTempPath(), $"ipv6dind-calico-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(manifest, File.ReadAllText(CalicoFixture).Replace("ipv6dind-test/calico-node:v3.28.0", "ipv6dind-test/calico-node:missing"));
        try
        {
            spec.CalicoManifest = manifest;
            var missing = await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(spec, Kubernetes()));
            Assert.Equal(ErrorIds.ImageNotFound, missing.ErrorId);
            Assert.Contains("ipv6dind-test/calico-node:missing", missing.Message);
            Assert.Contains("docker pull ipv6dind-test/calico-node:missing", missing.RecommendedAction);
        }
        finally
        {
            File.Delete(manifest);
        }
        Assert.Empty(await _f.LeftoversAsync("it-calico-bad"));
    }

    /// <summary>
    /// The join (which the 1-node fault sweep of tests/Ipv6Dind.IntegrationTests/Faults/FaultSweepTests.cs has no
    /// worker for) and the last Kubernetes step (everything is up when it fails). kubeadm init and CoreDNS fail at every
    /// one of their calls in that sweep; the runner's seam after each step is tested in tests/Ipv6Dind.Core.Tests/Lab/StepRunnerTests.cs.
    /// </summary>
    public static TheoryData<string> KubernetesSteps() => new(new[] { LabSteps.KubeadmJoin, LabSteps.KubernetesReady });

    [Theory]
    [MemberData(nameof(KubernetesSteps))]
    public async Task AFailureAfterAnyKubernetesStepRemovesEverything(string step)
    {
        var name = "it-kf-" + step.Replace("-", "");
        if (name.Length > 32) name = name[..32];
        var image = await NodeImageAsync();
        await using var fake = await FakeKubeApiServer.StartWithNodesAsync(new[] { $"{name}-node-1", $"{name}-node-2" });
        var lab = Lab(fake, new List<(string, string)>());
        lab.AfterStep = (s, _) => s == step ? throw new InvalidOperationException($"injected failure after {s}") : Task.CompletedTask;
        var ex = await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(Spec(name, 2, image), Kubernetes()));
        Assert.Equal(ErrorIds.ClusterBringUpFailed, ex.ErrorId);
        Assert.Contains($"'{step}'", ex.Message);
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task NodesThatNeverGetReadyEndInATimeoutThatNamesThemAndARollback()
    {
        const string name = "it-k8s-slow";
        var image = await NodeImageAsync();
        await using var fake = await FakeKubeApiServer.StartAsync();
        fake.Cluster.AddNode($"{name}-node-1", readyAfterPolls: 0);
        fake.Cluster.AddNode($"{name}-node-2", readyAfterPolls: null);
        var lab = Lab(fake, new List<(string, string)>());
        var ex = await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(Spec(name, 2, image), Kubernetes(readySeconds: 5)));
        Assert.Equal(ErrorIds.KubernetesNotReady, ex.ErrorId);
        Assert.Contains($"{name}-node-2", ex.Message);
        Assert.Contains($"'{LabSteps.KubernetesReady}'", ex.Message);
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    [Fact]
    public async Task AnImageWithoutKubeadmOrWithAnotherVersionIsRefusedBeforeAnythingIsCreated()
    {
        var image = await NodeImageAsync();
        await using var fake = await FakeKubeApiServer.StartAsync();
        var lab = Lab(fake, new List<(string, string)>());

        var plain = await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(Spec("it-k8s-plain", 1, ImageBuilder.ReferenceFor("node")), Kubernetes()));
        Assert.Equal(ErrorIds.NodeImageNotKubernetes, plain.ErrorId);
        Assert.Contains("no kubeadm", plain.Message);
        Assert.Empty(await _f.LeftoversAsync("it-k8s-plain"));

        // -KubernetesVersion (LabOptions.KubernetesVersion) is a demand; a spec's version is only what to assume.
        var mismatch = await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(Spec("it-k8s-ver", 1, image), Kubernetes() with { KubernetesVersion = "v1.30.4" }));
        Assert.Equal(ErrorIds.KubernetesVersionMismatch, mismatch.ErrorId);
        Assert.Equal("KubernetesVersion", mismatch.ParameterName);
        Assert.Empty(await _f.LeftoversAsync("it-k8s-ver"));
    }
}
