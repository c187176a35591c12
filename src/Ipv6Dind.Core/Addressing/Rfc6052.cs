using System.Net;
using System.Net.Sockets;

namespace Ipv6Dind.Core.Addressing;

/// <summary>
/// RFC 6052 IPv4-embedded IPv6 addresses (section 2.2). The IPv4 address fills the bits right after
/// the prefix, skipping bits 64..71 (the "u" octet, always zero); the suffix is zero.
/// <code>
///  /32: PL(0-31)  v4(32-63)  u  suffix
///  /40: PL(0-39)  v4(40-63)  u  v4(72-79)  suffix
///  /48: PL(0-47)  v4(48-63)  u  v4(72-87)  suffix
///  /56: PL(0-55)  v4(56-63)  u  v4(72-95)  suffix
///  /64: PL(0-63)             u  v4(72-103) suffix
///  /96: PL(0-95)                v4(96-127)
/// </code>
/// </summary>
public static class Rfc6052
{
    /// <summary>The prefix lengths RFC 6052 allows.</summary>
    public static readonly IReadOnlyList<int> ValidLengths = new[] { 32, 40, 48, 56, 64, 96 };

    /// <summary>The Well-Known Prefix 64:ff9b::/96.</summary>
    public static readonly Ipv6Prefix WellKnownPrefix = Ipv6Prefix.Parse("64:ff9b::/96");

    public static bool IsValidLength(int length) => ValidLengths.Contains(length);

    /// <summary>True when bits 64..71 of the prefix are zero (always true below /72 because they are not part of it).</summary>
    public static bool HasZeroUOctet(Ipv6Prefix prefix) => prefix.Network.GetAddressBytes()[8] == 0;

    /// <summary>Why <paramref name="prefix"/> cannot be a NAT64 prefix, or null when it can.</summary>
    public static string? Problem(Ipv6Prefix prefix)
    {
        if (!IsValidLength(prefix.Length))
            return $"/{prefix.Length} is not an RFC 6052 prefix length (valid: /32, /40, /48, /56, /64, /96)";
        if (!HasZeroUOctet(prefix))
            return "bits 64-71 (the RFC 6052 'u' octet) must be zero";
        return null;
    }

    /// <summary>
    /// IPv4 ranges RFC 6052 section 3.1 keeps out of the Well-Known Prefix (RFC 1918, RFC 6598 shared space and the
    /// special-use blocks of RFC 5735 section 3), as the translators enforce it: tayga 0.9.2 (Debian 12) drops
    /// 10/8, 172.16/12, 192.168/16, 192.0.2/24, 198.18/15, 198.51.100/24 and 203.0.113/24 under 64:ff9b::/96 and has
    /// no setting to allow them (tayga.conf(5) of that version has no wkpf-strict); 0/8, 127/8, 169.254/16 and 224/3
    /// it refuses under every prefix. Later tayga releases add 100.64/10.
    /// </summary>
    public static readonly IReadOnlyList<Ipv4Prefix> NonGlobalIpv4 = new[]
    {
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
    }.Select(Ipv4Prefix.Parse).ToArray();

    /// <summary>True for an IPv4 address the Well-Known Prefix must not carry (RFC 6052 section 3.1): a NAT64 drops it there.</summary>
    public static bool IsNonGlobal(IPAddress ipv4) =>
        ipv4.AddressFamily == AddressFamily.InterNetwork && NonGlobalIpv4.Any(p => p.Contains(ipv4));

    /// <summary>True when <paramref name="prefix"/> is 64:ff9b::/96 and <paramref name="ipv4"/> may not be translated under it.</summary>
    public static bool WellKnownPrefixRefuses(Ipv6Prefix prefix, IPAddress ipv4) =>
        WellKnownPrefix.Equals(prefix) && IsNonGlobal(ipv4);

    public static IPAddress Embed(Ipv6Prefix prefix, IPAddress ipv4)
    {
        if (ipv4.AddressFamily != AddressFamily.InterNetwork) throw new ArgumentException("IPv4 address expected", nameof(ipv4));
        if (Problem(prefix) is { } problem) throw new ArgumentException(problem, nameof(prefix));

        var bytes = prefix.Network.GetAddressBytes();
        var v4 = ipv4.GetAddressBytes();
        var positions = Positions(prefix.Length);
        for (var i = 0; i < 4; i++) bytes[positions[i]] = v4[i];
        return new IPAddress(bytes);
    }

    /// <summary>Extracts the IPv4 address; throws when the address is not inside the prefix.</summary>
    public static IPAddress Extract(Ipv6Prefix prefix, IPAddress ipv6)
    {
        if (ipv6.AddressFamily != AddressFamily.InterNetworkV6) throw new ArgumentException("IPv6 address expected", nameof(ipv6));
        if (Problem(prefix) is { } problem) throw new ArgumentException(problem, nameof(prefix));
        if (!prefix.Contains(ipv6)) throw new ArgumentException($"{ipv6} is not inside {prefix}", nameof(ipv6));

        var bytes = ipv6.GetAddressBytes();
        var positions = Positions(prefix.Length);
        var v4 = new byte[4];
        for (var i = 0; i < 4; i++) v4[i] = bytes[positions[i]];
        return new IPAddress(v4);
    }

    // Byte offsets (in the 16-byte address) of the four IPv4 octets; byte 8 is the u octet and never used.
    private static int[] Positions(int length) => length switch
    {
        32 => new[] { 4, 5, 6, 7 },
        40 => new[] { 5, 6, 7, 9 },
        48 => new[] { 6, 7, 9, 10 },
        56 => new[] { 7, 9, 10, 11 },
        64 => new[] { 9, 10, 11, 12 },
        96 => new[] { 12, 13, 14, 15 },
        _ => throw new ArgumentOutOfRangeException(nameof(length)),
    };
}
