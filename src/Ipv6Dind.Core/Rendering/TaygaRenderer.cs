using System.Text;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Rendering;

/// <summary>What the NAT64 container's tayga.conf says.</summary>
/// <param name="Ipv4Address">tayga's own IPv4 address (source of its ICMPv4 errors); kept outside the pool.</param>
/// <param name="Ipv6Address">
/// tayga's own IPv6 address, or empty to let tayga derive it (its IPv4 address embedded in the prefix, which
/// nodes already route to the NAT64 container). Required with the well-known prefix 64:ff9b::/96, because
/// tayga refuses to embed non-global IPv4 addresses (198.18.0.0/15 included) there.
/// </param>
/// <param name="Nat64Prefix">RFC 6052 prefix the DNS64 synthesizes under.</param>
/// <param name="DynamicPool">IPv4 pool IPv6 sources are mapped into; it never leaves the NAT64 container.</param>
/// <param name="ClusterName">Named in the file's header only.</param>
/// <param name="TunDevice">The tun interface tayga creates (--mktun) and the container routes through.</param>
/// <param name="DataDir">Where tayga keeps dynamic.map, the mapping table Get-Nat64Mapping reads.</param>
public sealed record Nat64Options(
    string Ipv4Address,
    string Ipv6Address,
    string Nat64Prefix,
    string DynamicPool,
    string ClusterName,
    string TunDevice = "nat64",
    string DataDir = "/var/spool/tayga")
{
    /// <summary>
    /// The plan's NAT64 addresses. The IPv6 address is left to tayga except with the well-known prefix, where
    /// the NAT64 container's management address is used (the only lab address tayga will accept there).
    /// </summary>
    public static Nat64Options From(AddressPlan plan) =>
        new(plan.Nat64Ipv4Address,
            TaygaRenderer.IsWellKnownPrefix(plan.Nat64Prefix) ? plan.Nat64Address : "",
            plan.Nat64Prefix,
            plan.Nat64Pool,
            plan.ClusterName);
}

/// <summary>
/// Renders /etc/tayga.conf for tayga 0.9.2 (Debian 12). Directive names and rules checked against
/// tayga.conf(5) and tayga's conffile.c/addrmap.c: tun-device, ipv4-addr, ipv6-addr, prefix, dynamic-pool,
/// data-dir; ipv6-addr may not lie inside the prefix nor in 64:ff9b::/96; a pool is at most a /31.
/// </summary>
public static class TaygaRenderer
{
    public const string Kind = "Tayga";
    public const string FileName = "tayga.conf";
    public const string ContainerPath = "/etc/tayga.conf";

    public static bool IsWellKnownPrefix(string? prefix) =>
        Ipv6Prefix.TryParse(prefix, out _) is { } p && p.Equals(Rfc6052.WellKnownPrefix);

    public static RenderedConfig Render(Nat64Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var prefix = NetworkRenderText.Ipv6Prefix(options.Nat64Prefix, nameof(options.Nat64Prefix), ErrorIds.InvalidNat64Prefix);
        if (Rfc6052.Problem(prefix) is { } problem)
            throw NetworkRenderText.Invalid(ErrorIds.InvalidNat64PrefixLength, nameof(options.Nat64Prefix), options.Nat64Prefix,
                $"'{options.Nat64Prefix}' cannot be a NAT64 prefix: {problem}.");
        var pool = NetworkRenderText.Ipv4Prefix(options.DynamicPool, nameof(options.DynamicPool), ErrorIds.InvalidNat64Pool);
        if (pool.Length > 31)
            throw NetworkRenderText.Invalid(ErrorIds.Nat64PoolTooSmall, nameof(options.DynamicPool), options.DynamicPool,
                $"tayga's dynamic pool must be a /31 or larger, not {pool}.");
        var ipv4 = NetworkRenderText.Ipv4Address(options.Ipv4Address, nameof(options.Ipv4Address));
        // tayga would accept it inside the pool (and drop it from the pool), but the container's routes and
        // MASQUERADE rule treat the pool as translated sources only: keep tayga's own address out of it.
        if (pool.Contains(ipv4))
            throw NetworkRenderText.Invalid(ErrorIds.InvalidIPv4Address, nameof(options.Ipv4Address), options.Ipv4Address,
                $"tayga's IPv4 address {ipv4} must lie outside its dynamic pool {pool}.");
        var bytes = ipv4.GetAddressBytes();
        if (bytes[0] is 0 or 127 or >= 224 || (bytes[0] == 169 && bytes[1] == 254))
            throw NetworkRenderText.Invalid(ErrorIds.InvalidIPv4Address, nameof(options.Ipv4Address), options.Ipv4Address,
                $"tayga refuses the reserved address {ipv4} (0/8, 127/8, 169.254/16, 224/3).");

        string? ipv6Text = null;
        if (!string.IsNullOrWhiteSpace(options.Ipv6Address))
        {
            var ipv6 = NetworkRenderText.Ipv6Address(options.Ipv6Address, nameof(options.Ipv6Address));
            if (prefix.Contains(ipv6))
                throw NetworkRenderText.Invalid(ErrorIds.InvalidIPv6Address, nameof(options.Ipv6Address), options.Ipv6Address,
                    $"tayga's IPv6 address {ipv6} must not lie inside its NAT64 prefix {prefix}; leave it empty to let tayga derive one.");
            if (Rfc6052.WellKnownPrefix.Contains(ipv6))
                throw NetworkRenderText.Invalid(ErrorIds.InvalidIPv6Address, nameof(options.Ipv6Address), options.Ipv6Address,
                    $"tayga refuses an IPv6 address inside the well-known prefix {Rfc6052.WellKnownPrefix}.");
            ipv6Text = Ipv6Prefix.Format(ipv6);
        }
        else if (prefix.Equals(Rfc6052.WellKnownPrefix))
        {
            // tayga would derive 64:ff9b::<ipv4-addr>, but it refuses to embed non-global IPv4 addresses
            // (RFC 6052 section 3.1; 198.18.0.0/15 and 198.51.100.0/24 included) in the well-known prefix.
            throw NetworkRenderText.Invalid(ErrorIds.InvalidIPv6Address, nameof(options.Ipv6Address), options.Ipv6Address,
                $"With the well-known prefix {Rfc6052.WellKnownPrefix} tayga needs an explicit IPv6 address (outside the prefix).");
        }
        var tun = NetworkRenderText.InterfaceName(options.TunDevice, nameof(options.TunDevice));
        var dataDir = NetworkRenderText.AbsolutePath(options.DataDir, nameof(options.DataDir));

        var sb = new StringBuilder();
        sb.Append("# tayga.conf of the NAT64 translator of cluster '").Append(NetworkRenderText.Label(options.ClusterName)).Append("', ").Append(NetworkRenderText.GeneratedBy).Append(".\n");
        sb.Append("# The container routes the pool, ipv4-addr and the prefix through the tun device and masquerades\n");
        sb.Append("# the pool on its way out; the pool never leaves the container.\n");
        sb.Append("tun-device ").Append(tun).Append('\n');
        sb.Append("# Outside the dynamic pool: tayga's own address, source of its ICMPv4 errors.\n");
        sb.Append("ipv4-addr ").Append(ipv4).Append('\n');
        if (ipv6Text is null)
            sb.Append("# No ipv6-addr: tayga uses ipv4-addr embedded in the prefix, which the nodes already route here.\n");
        else
            sb.Append("ipv6-addr ").Append(ipv6Text).Append('\n');
        sb.Append("prefix ").Append(prefix).Append('\n');
        sb.Append("dynamic-pool ").Append(pool).Append('\n');
        sb.Append("# dynamic.map here is the IPv6-to-IPv4 mapping table.\n");
        sb.Append("data-dir ").Append(dataDir).Append('\n');

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
