using System.Net;
using System.Net.Sockets;

namespace Ipv6Dind.Core.Addressing;

/// <summary>RFC 6052 conversions with user-facing errors (ConvertTo-/ConvertFrom-Nat64Address).</summary>
public static class Nat64Conversion
{
    public const string DefaultPrefix = "64:ff9b::/96";

    public static Nat64Address ToIpv6(string ipv4Text, string prefixText)
    {
        var prefix = ParseNat64Prefix(prefixText);
        if (!IPAddress.TryParse(ipv4Text?.Trim(), out var v4) || v4.AddressFamily != AddressFamily.InterNetwork || ipv4Text!.Trim().Count(c => c == '.') != 3)
            throw new DindException(ErrorIds.InvalidIPv4Address, DindErrorCategory.InvalidArgument,
                $"IPv4Address: '{ipv4Text}' is not an IPv4 address. Give a dotted quad such as 198.51.100.80.",
                ipv4Text, "IPv4Address", "Give a dotted quad such as 198.51.100.80.");
        var v6 = Rfc6052.Embed(prefix, v4);
        return new Nat64Address { IPv4Address = v4.ToString(), IPv6Address = Ipv6Prefix.Format(v6), Prefix = prefix.ToString() };
    }

    public static Nat64Address ToIpv4(string ipv6Text, string prefixText)
    {
        var prefix = ParseNat64Prefix(prefixText);
        var trimmed = ipv6Text?.Trim() ?? "";
        if (!IPAddress.TryParse(trimmed, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6 || trimmed.Contains('%') || trimmed.Contains('/'))
            throw new DindException(ErrorIds.InvalidIPv6Address, DindErrorCategory.InvalidArgument,
                $"IPv6Address: '{ipv6Text}' is not an IPv6 address. Give an address such as 64:ff9b::c633:6450.",
                ipv6Text, "IPv6Address", "Give an address such as 64:ff9b::c633:6450.");
        if (!prefix.Contains(v6))
            throw new DindException(ErrorIds.AddressOutsideNat64Prefix, DindErrorCategory.InvalidArgument,
                $"IPv6Address: {v6} is not inside the NAT64 prefix {prefix}, so it embeds no IPv4 address. Give -Nat64Prefix the prefix it was synthesized with.",
                ipv6Text, "IPv6Address", $"Give an address inside {prefix}, or the -Nat64Prefix it was synthesized with.");
        var v4 = Rfc6052.Extract(prefix, v6);
        return new Nat64Address { IPv4Address = v4.ToString(), IPv6Address = Ipv6Prefix.Format(v6), Prefix = prefix.ToString() };
    }

    public static Ipv6Prefix ParseNat64Prefix(string? text)
    {
        var prefix = Ipv6Prefix.TryParse(text, out var reason);
        if (prefix is null)
            throw new DindException(reason.StartsWith("host bits", StringComparison.Ordinal) ? ErrorIds.PrefixHostBitsSet : ErrorIds.InvalidNat64Prefix,
                DindErrorCategory.InvalidArgument, $"Nat64Prefix: '{text}' is not a valid IPv6 prefix: {reason}. Give an RFC 6052 prefix such as 64:ff9b::/96.",
                text, "Nat64Prefix", "Give an RFC 6052 prefix such as 64:ff9b::/96 or fd00:77:64:ff9b::/96.");
        if (!Rfc6052.IsValidLength(prefix.Length))
            throw new DindException(ErrorIds.InvalidNat64PrefixLength, DindErrorCategory.InvalidArgument,
                $"Nat64Prefix: /{prefix.Length} is not an RFC 6052 prefix length. Use /32, /40, /48, /56, /64 or /96.",
                text, "Nat64Prefix", "Use /32, /40, /48, /56, /64 or /96.");
        if (!Rfc6052.HasZeroUOctet(prefix))
            throw new DindException(ErrorIds.Nat64PrefixUOctetNotZero, DindErrorCategory.InvalidArgument,
                $"Nat64Prefix: bits 64-71 (the RFC 6052 'u' octet) of {prefix} must be zero.",
                text, "Nat64Prefix", "Choose a prefix whose fifth 16-bit group starts with 00.");
        return prefix;
    }
}
