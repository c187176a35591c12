using System.Net;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Core.Tests.Security;

/// <summary>
/// Least privilege as the container specs state it (the integration test LeastPrivilegeTests reads the same back
/// from dockerd): what each role may do, and that only the control plane publishes a port, on host loopback only.
/// </summary>
public sealed class ContainerPrivilegeTests
{
    private static DindClusterSpec Spec(int nodes) => SpecDefaults.Complete(new DindClusterSpec
    {
        ClusterName = "lab", Nodes = nodes, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" },
    });

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void KubernetesNodesPublishOnlyTheApiServerAndOnlyOnHostLoopback(bool privileged, bool hostHasModules)
    {
        var spec = Spec(5);
        var plan = AddressPlanner.Plan(spec);
        foreach (var node in plan.NodeAddresses)
        {
            foreach (var port in new[] { 0, 41234 })
            {
                var c = LabContainers.KubernetesNode(spec, node, "kindest/node:v1.31.2", privileged, hostHasModules, port);
                if (node.Index != 1)
                {
                    Assert.Empty(c.PortBindings);
                    continue;
                }
                var (key, (hostIp, hostPort)) = Assert.Single(c.PortBindings);
                Assert.Equal($"{LabContainers.ApiServerPort}/tcp", key);
                Assert.Equal(port, hostPort);
                // Never 0.0.0.0, ::, a node or host address: the admin key's API server is reachable from this host only.
                var address = IPAddress.Parse(hostIp);
                Assert.True(IPAddress.IsLoopback(address) && address.Equals(IPAddress.IPv6Loopback), $"published on {hostIp}");
                Assert.NotEqual(IPAddress.Any, address);
                Assert.NotEqual(IPAddress.IPv6Any, address);
            }
        }
    }

    [Fact]
    public void NetworkLabRolesGetOnlyTheirCapabilitiesAndPublishNothing()
    {
        var spec = Spec(2);
        var plan = AddressPlanner.Plan(spec);
        var dns64 = LabContainers.Dns64(spec, plan, "ipv6dind/dns64", "spec");
        var nat64 = LabContainers.Nat64(spec, plan, "ipv6dind/nat64");
        var node = LabContainers.Node(spec, plan.NodeAddresses[0], "ipv6dind/node");

        Assert.Empty(dns64.CapAdd);
        Assert.Empty(dns64.Devices);
        Assert.Empty(dns64.SecurityOpt);
        Assert.Equal(new[] { "NET_ADMIN" }, nat64.CapAdd);
        Assert.Equal(new[] { "/dev/net/tun" }, nat64.Devices);
        Assert.Empty(nat64.SecurityOpt);
        Assert.Equal(new[] { "NET_ADMIN", "NET_RAW" }, node.CapAdd.Order());
        Assert.Empty(node.Devices);
        Assert.Empty(node.SecurityOpt);
        foreach (var c in new[] { dns64, nat64, node })
        {
            Assert.False(c.Privileged, c.Name);
            Assert.False(c.UnmaskSystemPaths, c.Name);      // Docker's masked and read-only /proc paths
            Assert.Empty(c.CapDrop);
            Assert.Empty(c.PortBindings);
            Assert.Empty(c.Binds);
            Assert.Null(c.PidOfContainer);
        }
    }

    [Fact]
    public void ProbeContainersShareOnlyTheNodesNetworkNamespace()
    {
        var node = new DindNode { ClusterName = "lab", NodeName = "lab-node-2", Index = 2, ContainerId = "abc123" };
        var tools = LabContainers.ToolsProbe("lab", node);
        var pod = LabContainers.PodProbeHelper("lab", node);

        Assert.Equal(("lab-node-2-probe", "lab-node-2-podprobe"), (tools.Name, pod.Name));
        Assert.Equal(new[] { "ALL" }, tools.CapDrop);
        Assert.Equal(new[] { "NET_RAW" }, tools.CapAdd);
        Assert.Equal(new[] { "ALL" }, pod.CapDrop);
        Assert.Equal(new[] { "NET_ADMIN", "NET_RAW", "SYS_ADMIN" }, pod.CapAdd.Order());
        Assert.Equal(new[] { "unshare", "--net", "--", "sleep", "infinity" }, pod.Command);
        Assert.True(pod.Init);     // docker-init stays PID 1 in the node's namespace: docker exec enters that one
        foreach (var c in new[] { tools, pod })
        {
            Assert.Equal("abc123", c.NetworkOfContainer);
            Assert.Null(c.PidOfContainer);
            Assert.Null(c.Network);
            Assert.False(c.Privileged);
            Assert.False(c.UnmaskSystemPaths);
            Assert.Empty(c.SecurityOpt);
            Assert.Empty(c.Devices);
            Assert.Empty(c.Binds);
            Assert.Empty(c.PortBindings);
            Assert.Equal(("lab", LabLabels.RoleProbe, "2"), (c.Labels[LabLabels.Cluster], c.Labels[LabLabels.Role], c.Labels[LabLabels.NodeIndex]));
        }
        Assert.Equal((LabLabels.ProbeTools, LabLabels.ProbePod), (tools.Labels[LabLabels.Probe], pod.Labels[LabLabels.Probe]));
    }
}
