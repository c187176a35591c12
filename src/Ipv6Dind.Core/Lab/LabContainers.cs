using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// The container specs of a lab: what each role runs with. Least privilege: DNS64 gets no extra capability,
/// NAT64 only NET_ADMIN and /dev/net/tun, network-lab nodes NET_ADMIN (routes, address flush) and NET_RAW (ping),
/// all with Docker's default seccomp profile and masked, read-only /proc paths. Test-DindCluster's probe containers
/// share a node's network namespace only: <see cref="ToolsProbe"/> with NET_RAW alone, <see cref="PodProbeHelper"/>
/// (short-lived, PodToPod) with SYS_ADMIN and NET_ADMIN. Kubernetes nodes (<see cref="KubernetesNode"/>) run as
/// kind runs its nodes. README.md, "Security model", has the table.
/// </summary>
public static class LabContainers
{
    public const string Dns64Config = "/etc/bind/named.conf";
    public const string Nat64Config = "/etc/tayga.conf";
    public const string Nat64Device = "nat64";

    private static readonly Dictionary<string, string> Ipv6On = new()
    {
        ["net.ipv6.conf.all.disable_ipv6"] = "0",
        ["net.ipv6.conf.default.disable_ipv6"] = "0",
    };

    public static ContainerSpec Dns64(DindClusterSpec spec, AddressPlan plan, string image, string specYaml)
    {
        var labels = LabLabels.For(spec.ClusterName, LabLabels.RoleDns64);
        labels[LabLabels.Spec] = specYaml;
        return new ContainerSpec(LabNames.Dns64(spec.ClusterName), image, labels)
        {
            Hostname = LabNames.Dns64(spec.ClusterName),
            // -g: foreground, logs on stderr (Export-DindLog reads them); -u bind: drop root after binding port 53.
            Command = new[] { "named", "-g", "-u", "bind", "-c", Dns64Config },
            Network = LabNames.Network(spec.ClusterName),
            Ipv6Address = plan.Dns64Address,
            Sysctls = Ipv6On,
            RestartPolicy = "unless-stopped",
        };
    }

    public static ContainerSpec Nat64(DindClusterSpec spec, AddressPlan plan, string image) =>
        new(LabNames.Nat64(spec.ClusterName), image, LabLabels.For(spec.ClusterName, LabLabels.RoleNat64))
        {
            Hostname = LabNames.Nat64(spec.ClusterName),
            // The image's start script makes tayga's tun device with the lab's MTU, then runs tayga in the foreground
            // on it (tayga sizes its packets by the device's MTU when it starts); the lab then routes through it.
            Command = new[] { Images.ImageRecipes.Nat64Start, Nat64Config, Nat64Device, plan.Mtu.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            Network = LabNames.Network(spec.ClusterName),
            Ipv6Address = plan.Nat64Address,
            CapAdd = new[] { "NET_ADMIN" },
            Devices = new[] { "/dev/net/tun" },
            Sysctls = new Dictionary<string, string>(Ipv6On)
            {
                ["net.ipv6.conf.all.forwarding"] = "1",
                ["net.ipv4.ip_forward"] = "1",
            },
            RestartPolicy = "unless-stopped",
        };

    public static ContainerSpec Node(DindClusterSpec spec, NodeAddress node, string image)
    {
        var labels = LabLabels.For(spec.ClusterName, LabLabels.RoleNode);
        labels[LabLabels.NodeIndex] = node.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ContainerSpec(node.NodeName, image, labels)
        {
            Hostname = node.NodeName,
            Command = new[] { "sleep", "infinity" },
            Init = true, // a PID-1 sleep ignores SIGTERM; an init makes stop and removal immediate
            Network = LabNames.Network(spec.ClusterName),
            Ipv6Address = node.IPv6Address,
            // NET_ADMIN: the route batch (address flush, route replace) and ip6tables in its own network namespace;
            // NET_RAW: ping (in Docker's default set already; named so that the contract is explicit). Nothing else:
            // no SYS_ADMIN, default seccomp and AppArmor, Docker's masked and read-only /proc paths (a read-only
            // /proc/sys). The net.* sysctls below are applied by the runtime in the container's namespace at creation;
            // nothing at bring-up writes /proc/sys. The PodToPod check runs in a helper beside the node (PodProbeHelper).
            CapAdd = new[] { "NET_ADMIN", "NET_RAW" },
            Sysctls = new Dictionary<string, string>(Ipv6On)
            {
                ["net.ipv6.conf.all.forwarding"] = "1",
                // Pod bridges (cni0) and veths are created later and inherit "default": without DAD their addresses
                // are usable at once instead of ~2 s later (nodad for the bridge address, docs/design/README.md, "Docker and kernel facts").
                ["net.ipv6.conf.default.accept_dad"] = "0",
                ["net.ipv6.conf.all.accept_dad"] = "0",
            },
            RestartPolicy = "unless-stopped",
        };
    }

    /// <summary>
    /// Test-DindCluster's container for a tool the node image lacks (dig, ping, curl; see <see cref="NodeTools"/>): the
    /// module's node image in the node's network namespace only (its own PID namespace: it sees none of the node's
    /// processes, and the node sees none of its). Every capability dropped but NET_RAW (ping); default seccomp, AppArmor
    /// and masked paths.
    /// </summary>
    public static ContainerSpec ToolsProbe(string cluster, DindNode node)
    {
        var labels = LabLabels.For(cluster, LabLabels.RoleProbe);
        labels[LabLabels.NodeIndex] = node.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        labels[LabLabels.Probe] = LabLabels.ProbeTools;
        return new ContainerSpec($"{node.NodeName}-probe", NodeTools.ProbeImage, labels)
        {
            Command = new[] { "sleep", "infinity" },
            NetworkOfContainer = node.ContainerId,
            CapDrop = new[] { "ALL" },
            CapAdd = new[] { "NET_RAW" },
        };
    }

    /// <summary>The command of <see cref="PodProbeHelper"/>: docker-init's child holds a new network namespace (the stand-in pod's).</summary>
    public static readonly IReadOnlyList<string> PodProbeHolder = new[] { "unshare", "--net", "--", "sleep", "infinity" };

    /// <summary>
    /// The PodToPod check's short-lived helper (<see cref="PodProbe"/>): the module's node image (its
    /// containernetworking-plugins, ping, unshare, nsenter) in the node's network namespace, where the CNI plugin
    /// makes the bridge or the host side of the veth, with its own PID namespace. docker-init stays PID 1 in the
    /// node's network namespace (docker exec enters the namespaces of a container's PID 1), its child
    /// (<see cref="PodProbeHolder"/>) holds the stand-in pod's namespace, reached as /proc/&lt;pid&gt;/ns/net without
    /// mounting anything (no ip netns add).
    /// Capabilities: every one dropped, then SYS_ADMIN (unshare of a network namespace, and setns into it by the
    /// plugin and by nsenter; Docker's default seccomp profile allows unshare and setns only with it), NET_ADMIN (the
    /// plugin's links, addresses and routes in both namespaces) and NET_RAW (ping from the pod). Default seccomp,
    /// AppArmor and masked, read-only /proc paths. SYS_ADMIN lets it mount (and so undo the read-only /proc/sys in its
    /// own mount namespace): it is acceptable here because the helper lives for one check, runs only the module's
    /// image and the module's commands, and nothing of the node can reach into it (no shared PID namespace, no shared
    /// files; exec is the daemon's).
    /// </summary>
    public static ContainerSpec PodProbeHelper(string cluster, DindNode node)
    {
        var labels = LabLabels.For(cluster, LabLabels.RoleProbe);
        labels[LabLabels.NodeIndex] = node.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        labels[LabLabels.Probe] = LabLabels.ProbePod;
        return new ContainerSpec($"{node.NodeName}-podprobe", NodeTools.ProbeImage, labels)
        {
            Command = PodProbeHolder,
            Init = true,
            NetworkOfContainer = node.ContainerId,
            CapDrop = new[] { "ALL" },
            CapAdd = new[] { "SYS_ADMIN", "NET_ADMIN", "NET_RAW" },
        };
    }

    /// <summary>
    /// A Kubernetes node from a kindest/node-compatible image, run as kind runs it: the image's own entrypoint
    /// (systemd as PID 1, so no docker-init), tmpfs /run and /tmp, an anonymous volume for /var (containerd's
    /// images, etcd; removed with the container), /lib/modules read-only when the host has it, a private cgroup
    /// namespace and container=docker for systemd. --privileged when the daemon permits it, else the
    /// near-privileged set of docs/design/README.md ("Docker and kernel facts") (all capabilities but SYS_RESOURCE, seccomp and AppArmor unconfined,
    /// unmasked /proc). The control plane publishes the API server on host loopback only ([::1], a free port).
    /// </summary>
    /// <param name="apiServerHostPort">
    /// The control plane's host port on [::1], chosen once at creation so that it survives stop and start (kind pins it
    /// for the same reason: kubeconfigs written earlier keep working); 0 lets Docker pick one at each start.
    /// </param>
    public static ContainerSpec KubernetesNode(DindClusterSpec spec, NodeAddress node, string image, bool privileged, bool hostHasModules, int apiServerHostPort = 0)
    {
        var network = Node(spec, node, image);
        var controlPlane = node.Index == 1;
        var labels = new Dictionary<string, string>(network.Labels)
        {
            [LabLabels.KubernetesRole] = controlPlane ? KubernetesControlPlane : KubernetesWorker,
            [LabLabels.Kubernetes] = spec.KubernetesVersion,
        };
        return network with
        {
            Labels = labels,
            Command = null,
            Init = false,
            Privileged = privileged,
            CapAdd = privileged ? Array.Empty<string>() : new[] { "ALL" },
            CapDrop = privileged ? Array.Empty<string>() : new[] { "SYS_RESOURCE" },
            SecurityOpt = new[] { "seccomp=unconfined", "apparmor=unconfined" },
            UnmaskSystemPaths = !privileged,
            Tmpfs = new Dictionary<string, string> { ["/run"] = "rw,nosuid,nodev,exec", ["/tmp"] = "rw,nosuid,nodev,exec" },
            Binds = hostHasModules ? new[] { "/lib/modules:/lib/modules:ro" } : Array.Empty<string>(),
            Volumes = new[] { "/var" },
            Environment = new[] { "container=docker" },
            CgroupnsMode = "private",
            PortBindings = controlPlane
                ? new Dictionary<string, (string, int)> { [ApiServerPort + "/tcp"] = ("::1", apiServerHostPort) }
                : new Dictionary<string, (string, int)>(),
        };
    }

    public const string KubernetesControlPlane = "control-plane";
    public const string KubernetesWorker = "worker";
    public const int ApiServerPort = 6443;

    /// <summary>The resolver of a node: the cluster's DNS64 only (Docker's 127.0.0.11 would time out on every lookup).</summary>
    public static string ResolvConf(AddressPlan plan) =>
        $"# Written by Ipv6Dind: the cluster's DNS64 is the only resolver of its nodes.\nnameserver {plan.Dns64Address}\noptions timeout:2 attempts:2\n";

    /// <summary>
    /// One `ip -batch` per node: drop IPv4 (nodes are IPv6-only; Docker 20.10 cannot make an IPv6-only network),
    /// then a route to every other node's pod prefix and to the NAT64 prefix. `replace` makes a re-run harmless.
    /// </summary>
    public static string RouteBatch(AddressPlan plan, NodeAddress node, IEnumerable<string>? staleDestinations = null)
    {
        var lines = new List<string> { "address flush dev eth0 to 0.0.0.0/0" };
        lines.AddRange((staleDestinations ?? Array.Empty<string>()).Select(d => $"route del {d}"));
        lines.AddRange(PlannedRoutes(plan, node).Select(r => $"route replace {r.Destination} via {r.Gateway} dev eth0"));
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>What a node must route: every other node's pod prefix via that node, the NAT64 prefix via NAT64.</summary>
    public static IEnumerable<(string Destination, string Gateway, string Kind)> PlannedRoutes(AddressPlan plan, NodeAddress node)
    {
        foreach (var other in plan.NodeAddresses)
            if (other.Index != node.Index)
                yield return (other.PodPrefix, other.IPv6Address, "Pod");
        yield return (plan.Nat64Prefix, plan.Nat64Address, "Nat64");
    }

    /// <summary>
    /// Routes in a node's table that the lab made but the plan no longer has: via a gateway on the management
    /// network, to a destination that is not planned (Docker's own default route via the bridge is kept).
    /// </summary>
    public static IEnumerable<string> StaleRoutes(AddressPlan plan, NodeAddress node, string routeTable) =>
        StaleRouteEntries(plan, node, routeTable).Select(r => r.Destination);

    /// <summary><see cref="StaleRoutes"/> with their gateways (Get-DindRoute shows them, Test-DindCluster names their node).</summary>
    public static IEnumerable<(string Destination, string Gateway)> StaleRouteEntries(AddressPlan plan, NodeAddress node, string routeTable)
    {
        var management = Addressing.Ipv6Prefix.Parse(plan.ManagementPrefix);
        var planned = PlannedRoutes(plan, node).Select(r => r.Destination).ToHashSet(StringComparer.Ordinal);
        foreach (var (destination, gateway) in DindLab.ParseRoutes(routeTable).OrderBy(r => r.Destination, StringComparer.Ordinal))
            if (!planned.Contains(destination) && System.Net.IPAddress.TryParse(gateway, out var gw) && management.Contains(gw))
                yield return (destination, gateway);
    }

    /// <summary>Inside the NAT64 container: bring tayga's device up and route the pool, its address and the prefix into it.</summary>
    public static string Nat64Batch(AddressPlan plan) =>
        $"link set {Nat64Device} up\n" +
        $"route replace {plan.Nat64Pool} dev {Nat64Device}\n" +
        $"route replace {plan.Nat64Ipv4Address}/32 dev {Nat64Device}\n" +
        $"route replace {plan.Nat64Prefix} dev {Nat64Device}\n";

    /// <summary>The pool never leaves the container: translated packets are masqueraded behind its own IPv4 address.</summary>
    public static string[] Nat64MasqueradeRule(AddressPlan plan) =>
        new[] { "-t", "nat", "-A", "POSTROUTING", "-s", plan.Nat64Pool, "-o", "eth0", "-j", "MASQUERADE" };

    /// <summary>Pods' traffic leaving the pod range is masqueraded behind the node; pod-to-pod is not (routing bugs stay visible).</summary>
    public static string[] PodMasqueradeRule(AddressPlan plan) =>
        new[] { "-t", "nat", "-A", "POSTROUTING", "-s", plan.PodPrefix, "!", "-d", plan.PodPrefix, "-j", "MASQUERADE" };

    public static RenderedConfig Bind9(AddressPlan plan) => Bind9Renderer.Render(Dns64Options.From(plan));
    public static RenderedConfig Tayga(AddressPlan plan) => TaygaRenderer.Render(Nat64Options.From(plan));
}
