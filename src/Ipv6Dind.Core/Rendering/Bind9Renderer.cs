using System.Net;
using System.Text;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Rendering;

/// <summary>What the DNS64 container's named.conf says.</summary>
/// <param name="Forwarders">Upstream resolvers (IPv4 and/or IPv6), in the order bind9 should try them.</param>
/// <param name="Nat64Prefix">RFC 6052 prefix AAAA answers are synthesized under (the one tayga translates).</param>
/// <param name="AllowAaaa">
/// False (kubeadm-dind-cluster's default): every AAAA answer is synthesized from the A record, so all
/// outside traffic goes through NAT64. True (DIND_ALLOW_AAAA_USE, k-d-c PR 148): real AAAA records pass
/// through and only IPv4-only names are synthesized.
/// </param>
/// <param name="ClusterName">Named in the file's header only.</param>
public sealed record Dns64Options(IReadOnlyList<string> Forwarders, string Nat64Prefix, bool AllowAaaa, string ClusterName)
{
    /// <summary>The plan's upstreams, NAT64 prefix and AAAA mode (Render refuses an empty upstream list).</summary>
    public static Dns64Options From(AddressPlan plan) =>
        new(plan.Dns64Upstream.ToArray(), plan.Nat64Prefix, plan.AllowAaaa, plan.ClusterName);
}

/// <summary>
/// Renders the complete /etc/bind/named.conf of the DNS64 container (bind9 9.18). The whole file is
/// replaced rather than Debian's named.conf.options, so no default zones (root hints, RFC 1918 empty
/// zones) come along: the server only forwards and synthesizes.
/// Grammar checked against bind9's doc/misc/options (9.18 branch) and verified with named-checkconf 9.18.
/// </summary>
public static class Bind9Renderer
{
    public const string Kind = "Bind9";
    public const string FileName = "named.conf";
    public const string ContainerPath = "/etc/bind/named.conf";

    public static RenderedConfig Render(Dns64Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var prefix = NetworkRenderText.Ipv6Prefix(options.Nat64Prefix, nameof(options.Nat64Prefix), ErrorIds.InvalidNat64Prefix);
        if (Rfc6052.Problem(prefix) is { } problem)
            throw NetworkRenderText.Invalid(ErrorIds.InvalidNat64PrefixLength, nameof(options.Nat64Prefix), options.Nat64Prefix,
                $"'{options.Nat64Prefix}' cannot be a DNS64 prefix: {problem}.");
        var forwarders = (options.Forwarders ?? Array.Empty<string>())
            .Select(f => NetworkRenderText.AnyAddress(f, nameof(options.Forwarders), ErrorIds.InvalidDns64Upstream))
            .ToList();
        if (forwarders.Count == 0)
            throw new DindException(ErrorIds.Dns64UpstreamMissing, DindErrorCategory.InvalidArgument,
                "The DNS64 server needs at least one upstream resolver to forward to; it never iterates from the root servers.",
                options.Forwarders, nameof(options.Forwarders),
                "Give -Dns64Upstream one or more resolver addresses (IPv4 or IPv6).");

        var sb = new StringBuilder();
        sb.Append("// named.conf of the DNS64 server of cluster '").Append(NetworkRenderText.Label(options.ClusterName)).Append("', ").Append(NetworkRenderText.GeneratedBy).Append(".\n");
        sb.Append("// Replaces the whole file: no default zones, the server only forwards and synthesizes AAAA records.\n");
        sb.Append("options {\n");
        sb.Append("\tdirectory \"/var/cache/bind\";\n");
        sb.Append("\tlisten-on-v6 { any; };\n");
        // IPv4 stays on the DNS64 container so it reaches IPv4-only upstreams directly, not through NAT64.
        sb.Append("\tlisten-on { any; };\n");
        // Pods ask through CoreDNS from pod addresses, which are not bind's "localnets": allow everyone
        // (allow-recursion and allow-query-cache inherit this). The server is reachable only inside the lab.
        sb.Append("\tallow-query { any; };\n");
        sb.Append("\trecursion yes;\n");
        // bind9's default (no); explicit as in kubeadm-dind-cluster: non-authoritative NXDOMAIN, per RFC 1035.
        sb.Append("\tauth-nxdomain no;\n");
        sb.Append("\t// The DNS64 container keeps its IPv4 address, so IPv4 upstreams are reached directly.\n");
        sb.Append("\tforwarders {\n");
        foreach (var forwarder in forwarders)
            sb.Append("\t\t").Append(forwarder).Append(";\n");
        sb.Append("\t};\n");
        // Without "forward only" bind9 falls back to iterating from the public root servers when the
        // forwarders fail: the lab would leak queries past its upstream (and hang on a host without a
        // route to the root servers) instead of failing fast.
        sb.Append("\t// Required: without it bind9 falls back to iterating from the root servers when a forwarder fails.\n");
        sb.Append("\tforward only;\n");
        // The forwarders do the validating, if anyone does; DNS64 synthesis cannot be validated anyway.
        sb.Append("\tdnssec-validation no;\n");
        sb.Append("\t// \"exclude { any; }\" forces synthesis: every real AAAA record is discarded and all outside traffic\n");
        sb.Append("\t// goes through NAT64. Without it (-AllowAaaa) real AAAA records are answered as they are.\n");
        sb.Append("\tdns64 ").Append(prefix).Append(" {\n");
        sb.Append("\t\tclients { any; };\n");
        // The one line that differs between the two modes (what kubeadm-dind-cluster PR 148 switched).
        if (!options.AllowAaaa)
            sb.Append("\t\texclude { any; };\n");
        sb.Append("\t};\n");
        sb.Append("};\n");

        return new RenderedConfig
        {
            ClusterName = options.ClusterName,
            Kind = Kind,
            FileName = FileName,
            ContainerPath = ContainerPath,
            Content = NetworkRenderText.Finish(sb.ToString()),
        };
    }
}
