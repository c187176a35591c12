using System.Net;
using System.Text.Json;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Rendering;

/// <summary>One node's CNI network: plugin, the node's pod prefix and its gateway.</summary>
/// <param name="ClusterName">The cluster (recorded on the rendered config).</param>
/// <param name="NodeName">The node the conflist is written into.</param>
/// <param name="Plugin">"bridge" (one Linux bridge per node, the k-d-c default) or "ptp" (one veth pair per pod, as kind does).</param>
/// <param name="PodPrefix">The node's own pod prefix (a /80 by default).</param>
/// <param name="PodGateway">The pods' next hop: the bridge's address, or the host side of each ptp veth (::1 of the prefix).</param>
/// <param name="Mtu">MTU of the bridge / veths.</param>
/// <param name="BridgeName">Bridge the bridge plugin creates (ignored for ptp).</param>
/// <param name="CniVersion">CNI spec version; 1.0.0 is supported by containernetworking-plugins 1.x and containerd 1.6+.</param>
public sealed record CniOptions(
    string ClusterName,
    string NodeName,
    string Plugin,
    string PodPrefix,
    string PodGateway,
    int Mtu = 1500,
    string BridgeName = "cni0",
    string CniVersion = CniRenderer.DefaultCniVersion)
{
    /// <summary>Options for <paramref name="node"/> of <paramref name="plan"/>.</summary>
    public static CniOptions From(AddressPlan plan, NodeAddress node, string plugin) =>
        new(plan.ClusterName, node.NodeName, plugin, node.PodPrefix, node.PodGateway, plan.Mtu);

    /// <summary>Options for the node with 1-based <paramref name="nodeIndex"/> of <paramref name="plan"/>.</summary>
    public static CniOptions From(AddressPlan plan, int nodeIndex, string plugin) =>
        From(plan, plan.NodeAddresses.FirstOrDefault(n => n.Index == nodeIndex)
            ?? throw new ArgumentOutOfRangeException(nameof(nodeIndex), $"cluster '{plan.ClusterName}' has no node {nodeIndex}"), plugin);
}

/// <summary>
/// Renders a node's /etc/cni/net.d/10-ipv6dind.conflist: the bridge or ptp plugin with host-local IPAM over
/// the node's pod prefix, followed by portmap (hostPort support, as kind's kindnet conflist does).
/// Field names checked against containernetworking/plugins: plugins/main/bridge/bridge.go (NetConf),
/// plugins/main/ptp/ptp.go, plugins/ipam/host-local (ranges, rangeStart, gateway, routes, dataDir) and
/// plugins/meta/portmap (capabilities.portMappings); containernetworking-plugins 1.1.1 accepts cniVersion 1.0.0.
/// </summary>
public static class CniRenderer
{
    public const string Kind = "Cni";
    public const string FileName = "10-ipv6dind.conflist";
    public const string ContainerPath = "/etc/cni/net.d/" + FileName;
    public const string DefaultCniVersion = "1.0.0";
    public const string NetworkName = "ipv6dind";

    /// <summary>
    /// host-local's allocation state. Under /run, as kind keeps it (/run/cni-ipam-state): a restarted node
    /// container starts with an empty /run, so addresses of pods that died with it are not leaked.
    /// </summary>
    public const string IpamDataDir = "/run/cni-ipam-state";

    public static readonly IReadOnlyList<string> Plugins = new[] { "bridge", "ptp" };

    public static RenderedConfig Render(CniOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var plugin = (options.Plugin ?? "").Trim().ToLowerInvariant();
        if (!Plugins.Contains(plugin))
            throw NetworkRenderText.Invalid(ErrorIds.InvalidCni, nameof(options.Plugin), options.Plugin,
                $"'{options.Plugin}' has no CNI conflist here: use bridge or ptp (Calico brings its own).");
        var subnet = NetworkRenderText.Ipv6Prefix(options.PodPrefix, nameof(options.PodPrefix), ErrorIds.InvalidPodPrefix);
        if (subnet.Length > 126)
            throw NetworkRenderText.Invalid(ErrorIds.InvalidPodNodePrefixLength, nameof(options.PodPrefix), options.PodPrefix,
                $"{subnet} leaves no pod addresses; a node's pod prefix must be /126 or shorter.");
        var gateway = NetworkRenderText.Ipv6Address(options.PodGateway, nameof(options.PodGateway));
        if (!subnet.Contains(gateway))
            throw NetworkRenderText.Invalid(ErrorIds.InvalidIPv6Address, nameof(options.PodGateway), options.PodGateway,
                $"the pod gateway {gateway} is outside the node's pod prefix {subnet}.");
        if (options.Mtu is < 1280 or > 65535)
            throw NetworkRenderText.Invalid(ErrorIds.InvalidCni, nameof(options.Mtu), options.Mtu,
                $"MTU {options.Mtu} is outside 1280 (the IPv6 minimum) to 65535.");
        var bridgeName = NetworkRenderText.InterfaceName(options.BridgeName, nameof(options.BridgeName));
        var cniVersion = (options.CniVersion ?? "").Trim();
        if (!Version.TryParse(cniVersion, out _))
            throw NetworkRenderText.Invalid(ErrorIds.InvalidCni, nameof(options.CniVersion), options.CniVersion,
                $"'{options.CniVersion}' is not a CNI spec version such as {DefaultCniVersion}.");

        // The pod range starts after the gateway so host-local never hands the gateway to a pod.
        var gatewayOffset = IPNetwork2.ToBigInteger(gateway) - IPNetwork2.ToBigInteger(subnet.Network);
        if (gatewayOffset + 1 >= subnet.Size)
            throw NetworkRenderText.Invalid(ErrorIds.InvalidIPv6Address, nameof(options.PodGateway), options.PodGateway,
                $"the pod gateway {gateway} is the last address of {subnet}; pods are allocated after it (use ::1).");
        var rangeStart = subnet.AddressAt(gatewayOffset + 1);

        var json = NetworkRenderText.Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("cniVersion", cniVersion);
            w.WriteString("name", NetworkName);
            w.WriteStartArray("plugins");

            w.WriteStartObject();
            w.WriteString("type", plugin);
            if (plugin == "bridge")
            {
                w.WriteString("bridge", bridgeName);
                // The bridge holds the gateway address and is the pods' default route.
                w.WriteBoolean("isGateway", true);
                w.WriteBoolean("isDefaultGateway", true);
            }
            // No NAT inside the cluster: the plugin would masquerade everything leaving the node's /80, pod-to-pod
            // across nodes included, hiding routing bugs. Only traffic leaving the cluster is masqueraded, on the host.
            w.WriteBoolean("ipMasq", false);
            if (plugin == "bridge")
                // A pod can reach itself through a service address (the packet goes out and back on the same port).
                w.WriteBoolean("hairpinMode", true);
            w.WriteNumber("mtu", options.Mtu);

            w.WriteStartObject("ipam");
            w.WriteString("type", "host-local");
            w.WriteString("dataDir", IpamDataDir);
            w.WriteStartArray("ranges");
            w.WriteStartArray();
            w.WriteStartObject();
            w.WriteString("subnet", subnet.ToString());
            w.WriteString("rangeStart", Ipv6Prefix.Format(rangeStart));
            w.WriteString("gateway", Ipv6Prefix.Format(gateway));
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndArray();
            // bridge: no "::/0" route here. isDefaultGateway already installs the default route via the bridge,
            // and an IPAM route ::/0 makes the plugin add the same route a second time: ADD fails with
            // "failed to add route ... file exists" (containernetworking-plugins 1.1.1, reproduced).
            // ptp installs no default route by itself, so there the IPAM route is what gives pods one.
            if (plugin == "ptp")
            {
                w.WriteStartArray("routes");
                w.WriteStartObject();
                w.WriteString("dst", "::/0");
                w.WriteEndObject();
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteEndObject();

            // hostPort support, as kind's conflist has it.
            w.WriteStartObject();
            w.WriteString("type", "portmap");
            w.WriteStartObject("capabilities");
            w.WriteBoolean("portMappings", true);
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteEndArray();
            w.WriteEndObject();
        });

        return new RenderedConfig
        {
            ClusterName = options.ClusterName,
            Kind = Kind,
            NodeName = options.NodeName,
            FileName = FileName,
            ContainerPath = ContainerPath,
            Content = json,
        };
    }
}
