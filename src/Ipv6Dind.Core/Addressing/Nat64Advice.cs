using System.Net;
using System.Net.Sockets;

namespace Ipv6Dind.Core.Addressing;

/// <summary>
/// What planning says about the Well-Known Prefix 64:ff9b::/96 (RFC 6052 section 3.1): the NAT64 drops traffic to
/// non-global IPv4 destinations under it (<see cref="Rfc6052.NonGlobalIpv4"/>), so a lab whose outside world is
/// non-global comes up Running and reaches nothing. A warning, not a refusal: the upstream's address only hints at
/// where its names point (a resolver at 10.0.0.2 commonly answers with global addresses), and on a real network the
/// Well-Known Prefix is the usual choice.
/// </summary>
public static class Nat64Advice
{
    /// <summary>
    /// The warning for a spec (null when there is none): the prefix is the Well-Known Prefix and an IPv4 DNS64
    /// upstream is non-global, which suggests the names it answers are too.
    /// </summary>
    public static string? WellKnownPrefixWarning(string? nat64Prefix, IEnumerable<string>? upstreams, string? subnet)
    {
        if (Ipv6Prefix.TryParse(nat64Prefix, out _) is not { } prefix || !Rfc6052.WellKnownPrefix.Equals(prefix))
            return null;
        var nonGlobal = (upstreams ?? Array.Empty<string>())
            .Select(u => IPAddress.TryParse(u.Trim(), out var a) ? a : null)
            .Where(a => a is { AddressFamily: AddressFamily.InterNetwork } && Rfc6052.IsNonGlobal(a))
            .Select(a => a!.ToString())
            .ToList();
        if (nonGlobal.Count == 0)
            return null;
        return $"Nat64Prefix {Rfc6052.WellKnownPrefix} is the Well-Known Prefix: the NAT64 (tayga) drops traffic to non-global IPv4 " +
               "destinations under it (RFC 6052 section 3.1: RFC 1918, 100.64/10, 198.18/15, the documentation ranges), and the DNS64 upstream " +
               $"{string.Join(", ", nonGlobal)} is non-global itself, so the names it answers probably are too. Such a lab comes up Running but " +
               $"reaches none of those servers. Use a network-specific prefix instead: -Nat64Prefix {SuggestedPrefix(subnet)}.";
    }

    /// <summary>
    /// A network-specific prefix to use instead of the Well-Known Prefix: the cluster's default (subnet id 64 of its
    /// /48, the one New-DindClusterSpec gives), or a unique-local example when the subnet does not give one.
    /// </summary>
    public static string SuggestedPrefix(string? subnet)
    {
        if (Ipv6Prefix.TryParse(subnet, out _) is { Length: <= 56 } s)
            return SpecDefaults.Carve(s, SpecDefaults.Nat64SubnetId, 96).ToString();
        return "fd00:77:64:ff9b::/96";
    }
}
