using System.Text;

namespace Ipv6Dind.Core.Rendering;

/// <summary>What ndppd.conf says (New-NdppdConfig).</summary>
/// <param name="Interface">The host's uplink, where the upstream router asks for the cluster's addresses.</param>
/// <param name="PodPrefix">Pod supernet: answered for an address only while the kernel has a route to it ("auto").</param>
/// <param name="ServicePrefix">Service range: virtual addresses with no route of their own, answered at once ("static").</param>
/// <param name="Router">Set the router flag in the advertisements (ndppd's default, yes).</param>
/// <param name="TimeoutMs">How long to wait for an answer on the inside before giving up (ndppd's default, 500 ms).</param>
/// <param name="TtlMs">How long an answer stays cached (ndppd's default, 30000 ms).</param>
/// <param name="ClusterName">Named in the header only.</param>
public sealed record NdppdOptions(
    string Interface,
    string PodPrefix,
    string ServicePrefix,
    bool Router = true,
    int TimeoutMs = 500,
    int TtlMs = 30000,
    string ClusterName = "")
{
    public static NdppdOptions From(AddressPlan plan, string uplinkInterface) =>
        new(uplinkInterface, plan.PodPrefix, plan.ServicePrefix, ClusterName: plan.ClusterName);
}

/// <summary>
/// Renders /etc/ndppd.conf for a host whose provider routes nothing to it but expects it to answer neighbor
/// solicitations for its addresses (sgryphon/kubernetes-ipv6, "Configure routing"). Syntax of ndppd 0.2.5
/// (Debian 12): ndppd.conf(5) and DanielAdolfsson/ndppd ndppd.conf-dist: "proxy IF { router, timeout, ttl,
/// rule PREFIX { auto | static | iface IF } }", blank-separated, no semicolons, '#' comments.
/// </summary>
public static class NdppdRenderer
{
    public const string Kind = "Ndppd";
    public const string FileName = "ndppd.conf";
    public const string HostPath = "/etc/ndppd.conf";

    public static RenderedConfig Render(NdppdOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var uplink = NetworkRenderText.InterfaceName(options.Interface, nameof(options.Interface));
        var pods = NetworkRenderText.Ipv6Prefix(options.PodPrefix, nameof(options.PodPrefix), ErrorIds.InvalidPodPrefix);
        var services = NetworkRenderText.Ipv6Prefix(options.ServicePrefix, nameof(options.ServicePrefix), ErrorIds.InvalidServicePrefix);
        if (options.TimeoutMs <= 0)
            throw NetworkRenderText.Invalid(ErrorIds.InvalidNdppdOption, nameof(options.TimeoutMs), options.TimeoutMs, "The timeout must be a positive number of milliseconds.");
        if (options.TtlMs <= 0)
            throw NetworkRenderText.Invalid(ErrorIds.InvalidNdppdOption, nameof(options.TtlMs), options.TtlMs, "The TTL must be a positive number of milliseconds.");

        var sb = new StringBuilder();
        sb.Append("# ndppd.conf for cluster '").Append(NetworkRenderText.Label(options.ClusterName)).Append("', ").Append(NetworkRenderText.GeneratedBy).Append(".\n");
        sb.Append("# Answers neighbor solicitations on ").Append(uplink).Append(" for the cluster's addresses, so that an upstream\n");
        sb.Append("# router that treats the prefix as on-link delivers their traffic to this host.\n");
        sb.Append("proxy ").Append(uplink).Append(" {\n");
        sb.Append("    router ").Append(options.Router ? "yes" : "no").Append('\n');
        sb.Append("    timeout ").Append(options.TimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("    ttl ").Append(options.TtlMs.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("    # Pods: answered only while a route to the address exists (a pod that is running).\n");
        sb.Append("    rule ").Append(pods).Append(" {\n");
        sb.Append("        auto\n");
        sb.Append("    }\n");
        sb.Append("    # Services: virtual addresses with no route of their own; answered at once.\n");
        sb.Append("    rule ").Append(services).Append(" {\n");
        sb.Append("        static\n");
        sb.Append("    }\n");
        sb.Append("}\n");

        return new RenderedConfig
        {
            ClusterName = options.ClusterName,
            Kind = Kind,
            FileName = FileName,
            ContainerPath = HostPath,
            Content = NetworkRenderText.Finish(sb.ToString()),
        };
    }
}
