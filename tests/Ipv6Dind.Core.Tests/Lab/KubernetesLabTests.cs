using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Images;
using Ipv6Dind.Core.Kubernetes;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Core.Tests.Lab;

/// <summary>The pure parts of the Kubernetes phase: node containers, the CA pin, the cluster lock, the node image recipe.</summary>
public class KubernetesLabTests
{
    private static DindClusterSpec Spec(int nodes = 3) => SpecDefaults.Complete(new DindClusterSpec
    {
        ClusterName = "lab", Nodes = nodes, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" },
    });

    [Fact]
    public void ControlPlanePublishesTheApiServerOnHostLoopbackOnly()
    {
        var spec = Spec();
        var plan = AddressPlanner.Plan(spec);
        var cp = LabContainers.KubernetesNode(spec, plan.NodeAddresses[0], "kindest/node:v1.31.2", privileged: true, hostHasModules: true);
        var worker = LabContainers.KubernetesNode(spec, plan.NodeAddresses[1], "kindest/node:v1.31.2", privileged: true, hostHasModules: true);
        Assert.Equal(("::1", 0), cp.PortBindings["6443/tcp"]);
        Assert.Empty(worker.PortBindings);
        Assert.Equal(LabContainers.KubernetesControlPlane, cp.Labels[LabLabels.KubernetesRole]);
        Assert.Equal(LabContainers.KubernetesWorker, worker.Labels[LabLabels.KubernetesRole]);
        Assert.Equal("fd00:77:0:10::1001", cp.Ipv6Address);
    }

    [Fact]
    public void KubernetesNodesRunSystemdAsKindRunsIt()
    {
        var spec = Spec();
        var node = LabContainers.KubernetesNode(spec, AddressPlanner.Plan(spec).NodeAddresses[1], "img", privileged: true, hostHasModules: true);
        Assert.Null(node.Command);            // the image's own entrypoint: /sbin/init
        Assert.Null(node.Entrypoint);
        Assert.False(node.Init);              // systemd is PID 1, not docker-init
        Assert.Equal(new[] { "/run", "/tmp" }, node.Tmpfs.Keys.OrderBy(k => k));
        Assert.Equal(new[] { "/var" }, node.Volumes);
        Assert.Equal(new[] { "/lib/modules:/lib/modules:ro" }, node.Binds);
        Assert.Equal("private", node.CgroupnsMode);
        Assert.Contains("container=docker", node.Environment);
        Assert.True(node.Privileged);
        Assert.Empty(node.CapAdd);
    }

    [Fact]
    public void WithoutPrivilegedNodesGetTheCapabilitySetOfLabNotes()
    {
        var spec = Spec();
        var node = LabContainers.KubernetesNode(spec, AddressPlanner.Plan(spec).NodeAddresses[0], "img", privileged: false, hostHasModules: false);
        Assert.False(node.Privileged);
        Assert.Equal(new[] { "ALL" }, node.CapAdd);
        Assert.Equal(new[] { "SYS_RESOURCE" }, node.CapDrop);
        Assert.True(node.UnmaskSystemPaths);
        Assert.Contains("seccomp=unconfined", node.SecurityOpt);
        Assert.Empty(node.Binds);             // no /lib/modules on the host: nothing bound (Docker would create the path)
    }

    [Fact]
    public void CaPinIsTheSha256OfTheSubjectPublicKeyInfo()
    {
        // Expected value from: openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum
        var pem = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "test-ca.crt"));
        Assert.Equal("sha256:b03170a62bd0a789dd5cffd2234da51737c1ac9e2cb85f0ba3fb78617281e964", CaCertHash.FromPem(pem));
    }

    [Fact]
    public void CaPinOfSomethingElseIsAClearError()
    {
        var e = Assert.Throws<DindException>(() => CaCertHash.FromPem("not a certificate"));
        Assert.Equal(ErrorIds.KubeadmFailed, e.ErrorId);
    }

    [Fact]
    public async Task AHostileClusterNameNeverBecomesALockPath()
    {
        var e = await Assert.ThrowsAsync<DindException>(() => ClusterLock.AcquireAsync("daemon", "../../etc/x", "test", TimeSpan.Zero, CancellationToken.None, Path.GetTempPath()));
        Assert.Equal(ErrorIds.InvalidClusterName, e.ErrorId);
    }

    [Fact]
    public void AHolderWhoseProcessEndedIsReportedAsEnded()
    {
        Assert.Contains("which has ended", ClusterLock.Holder("999999999 Reset-DindCluster 2026-01-01T00:00:00Z\n"));
        Assert.Contains($"process {Environment.ProcessId} (Reset-DindCluster since", ClusterLock.Holder($"{Environment.ProcessId} Reset-DindCluster 2026-01-01T00:00:00Z"));
    }

    [Fact]
    public void KubernetesNodeImageIsKindestCompatible()
    {
        var dockerfile = ImageBuilder.KubernetesNodeDockerfile("ipv6dind/node:0.2.0");
        Assert.StartsWith("FROM ipv6dind/node:0.2.0\n", dockerfile);
        Assert.Contains("systemd systemd-sysv dbus containerd runc conntrack", dockerfile);
        Assert.Contains("COPY kind-version /kind/version\n", dockerfile); // a context file, not spliced into a RUN line
        Assert.Contains("systemctl enable containerd kubelet", dockerfile);
        Assert.EndsWith("STOPSIGNAL SIGRTMIN+3\nENTRYPOINT [\"/sbin/init\"]\n", dockerfile);
        Assert.Contains("SystemdCgroup = true", ImageBuilder.ContainerdConfig);
        Assert.Contains("ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS", ImageBuilder.KubeadmDropIn);
        Assert.Equal("ipv6dind/kubernetes-node:v1.31.2-" + ImageBuilder.ModuleVersion, ImageBuilder.KubernetesNodeReference("v1.31.2"));
    }

    [Fact]
    public void KubernetesStepsExtendTheNetworkLabSteps()
    {
        Assert.Equal(LabSteps.All.Take(LabSteps.All.Count - 1), LabSteps.Kubernetes.Take(LabSteps.All.Count - 1));
        Assert.Equal(LabSteps.Verify, LabSteps.Kubernetes[^1]);
        Assert.Contains(LabSteps.KubeadmInit, LabSteps.Kubernetes);
    }
}
