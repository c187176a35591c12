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
