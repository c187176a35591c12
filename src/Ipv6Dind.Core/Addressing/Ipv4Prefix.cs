using System.Net;
using System.Net.Sockets;

namespace Ipv6Dind.Core.Addressing;

/// <summary>An IPv4 prefix (the NAT64 pool, host routes). Strict like <see cref="Ipv6Prefix"/>; math by IPNetwork2.</summary>
public sealed class Ipv4Prefix : IEquatable<Ipv4Prefix>
{
    private readonly IPNetwork2 _network;

    private Ipv4Prefix(IPNetwork2 network) => _network = network;

    public IPAddress Network => _network.Network;
    public int Length => _network.Cidr;
    public long Size => 1L << (32 - Length);

    public static Ipv4Prefix? TryParse(string? text, out string reason)
    {
        reason = "";
        if (string.IsNullOrWhiteSpace(text)) { reason = "it is empty"; return null; }
        var trimmed = text.Trim();
        var slash = trimmed.IndexOf('/');
        if (slash < 0) { reason = "it has no prefix length (expected address/length, e.g. 198.18.0.128/25)"; return null; }
        var addrText = trimmed[..slash];
        var lenText = trimmed[(slash + 1)..];
        if (!IPAddress.TryParse(addrText, out var addr) || addr.AddressFamily != AddressFamily.InterNetwork || addrText.Count(c => c == '.') != 3)
        {
            reason = $"'{addrText}' is not a dotted-quad IPv4 address";
            return null;
        }
        if (!int.TryParse(lenText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var len) || len < 0 || len > 32)
        {
            reason = $"'{lenText}' is not a prefix length between 0 and 32";
            return null;
        }
        var network = IPNetwork2.Parse(addr, IPNetwork2.ToNetmask((byte)len, AddressFamily.InterNetwork));
        if (!network.Network.Equals(addr))
        {
            reason = $"host bits are set after /{len} (the network is {network.Network}/{len})";
            return null;
        }
        return new Ipv4Prefix(network);
    }

    public static Ipv4Prefix Parse(string text) =>
        TryParse(text, out var reason) ?? throw new FormatException($"'{text}' is not a valid IPv4 prefix: {reason}.");

    public static Ipv4Prefix Containing(IPAddress address, int length) =>
        new(IPNetwork2.Parse(address, IPNetwork2.ToNetmask((byte)length, AddressFamily.InterNetwork)));

    public bool Contains(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork && _network.Contains(address);
    public bool Overlaps(Ipv4Prefix other) => _network.Overlap(other._network);

    public IPAddress AddressAt(long offset)
    {
        if (offset < 0 || offset >= Size) throw new ArgumentOutOfRangeException(nameof(offset));
        return IPNetwork2.ToIPAddress(IPNetwork2.ToBigInteger(Network) + offset, AddressFamily.InterNetwork);
    }

    public override string ToString() => $"{Network}/{Length}";
    public bool Equals(Ipv4Prefix? other) => other is not null && other.Length == Length && other.Network.Equals(Network);
    public override bool Equals(object? obj) => obj is Ipv4Prefix p && Equals(p);
    public override int GetHashCode() => HashCode.Combine(Network, Length);
}
