using System.Net;
using System.Net.Sockets;
using System.Numerics;

namespace Ipv6Dind.Core.Addressing;

/// <summary>
/// An IPv6 prefix (network address + length), always normalised to its network address.
/// Parsing, containment, overlap and splitting are done by IPNetwork2; this type only adds what
/// the lab needs on top: strict parsing (host bits set is an error, not a silent fix), canonical
/// RFC 5952 text, address arithmetic by offset, and a lazy split that streams.
/// </summary>
public sealed class Ipv6Prefix : IEquatable<Ipv6Prefix>
{
    private readonly IPNetwork2 _network;

    private Ipv6Prefix(IPNetwork2 network)
    {
        _network = network;
    }

    /// <summary>The network address (host bits zero).</summary>
    public IPAddress Network => _network.Network;

    /// <summary>Prefix length, 0..128.</summary>
    public int Length => _network.Cidr;

    /// <summary>The last address inside the prefix.</summary>
    public IPAddress LastAddress => _network.Broadcast ?? _network.LastUsable;

    /// <summary>Number of addresses (2^(128-Length)).</summary>
    public BigInteger Size => BigInteger.One << (128 - Length);

    /// <summary>Parses "addr/len". Returns null and a reason when the text is not an IPv6 prefix or has host bits set.</summary>
    public static Ipv6Prefix? TryParse(string? text, out string reason)
    {
        reason = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            reason = "it is empty";
            return null;
        }
        var trimmed = text.Trim();
        var slash = trimmed.IndexOf('/');
        if (slash < 0)
        {
            reason = "it has no prefix length (expected address/length, e.g. fd00:10::/64)";
            return null;
        }
        var addrText = trimmed[..slash];
        var lenText = trimmed[(slash + 1)..];
        if (!IPAddress.TryParse(addrText, out var addr) || addr.AddressFamily != AddressFamily.InterNetworkV6 || addrText.Contains('%'))
        {
            reason = $"'{addrText}' is not an IPv6 address";
            return null;
        }
        if (!int.TryParse(lenText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var len) || len < 0 || len > 128)
        {
            reason = $"'{lenText}' is not a prefix length between 0 and 128";
            return null;
        }
        var network = IPNetwork2.Parse(addr, IPNetwork2.ToNetmask((byte)len, AddressFamily.InterNetworkV6));
        if (!network.Network.Equals(addr))
        {
            reason = $"host bits are set after /{len} (the network is {Format(network.Network)}/{len})";
            return null;
        }
        return new Ipv6Prefix(network);
    }

    /// <summary>Parses or throws <see cref="FormatException"/> with the reason.</summary>
    public static Ipv6Prefix Parse(string text) =>
        TryParse(text, out var reason) ?? throw new FormatException($"'{text}' is not a valid IPv6 prefix: {reason}.");

    /// <summary>The prefix of the given length that contains <paramref name="address"/>.</summary>
    public static Ipv6Prefix Containing(IPAddress address, int length)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6) throw new ArgumentException("IPv6 address expected", nameof(address));
        if (length is < 0 or > 128) throw new ArgumentOutOfRangeException(nameof(length));
        return new Ipv6Prefix(IPNetwork2.Parse(address, IPNetwork2.ToNetmask((byte)length, AddressFamily.InterNetworkV6)));
    }

    public bool Contains(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 && _network.Contains(address);

    public bool Contains(Ipv6Prefix other) => _network.Contains(other._network);

    public bool Overlaps(Ipv6Prefix other) => _network.Overlap(other._network);

    /// <summary>The address at <paramref name="offset"/> from the network address (0 = the network address itself).</summary>
    public IPAddress AddressAt(BigInteger offset)
    {
        if (offset < 0 || offset >= Size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"offset {offset} is outside {this}");
        return IPNetwork2.ToIPAddress(IPNetwork2.ToBigInteger(Network) + offset, AddressFamily.InterNetworkV6);
    }

    /// <summary>The <paramref name="index"/>-th sub-prefix of length <paramref name="length"/> (0-based), without enumerating.</summary>
    public Ipv6Prefix SubPrefix(int length, BigInteger index)
    {
        CheckSubLength(length);
        var count = SubPrefixCount(length);
        if (index < 0 || index >= count)
            throw new ArgumentOutOfRangeException(nameof(index), $"{this} holds {count} /{length} prefixes; index {index} is outside");
        return new Ipv6Prefix(_network.Subnet((byte)length)[index]);
    }

    /// <summary>How many /<paramref name="length"/> prefixes this prefix holds.</summary>
    public BigInteger SubPrefixCount(int length) => BigInteger.One << (length - Length);

    /// <summary>
    /// The sub-prefixes of <paramref name="length"/> from index <paramref name="start"/> on, in order, lazily:
    /// IPNetwork2's subnet collection computes each member on demand by index, so splitting a /48 into /80s
    /// (2^32 of them) yields the first at once, and skipping a billion costs nothing.
    /// </summary>
    public IEnumerable<Ipv6Prefix> Split(int length, BigInteger start = default)
    {
        CheckSubLength(length);
        if (start < 0) throw new ArgumentOutOfRangeException(nameof(start));
        return SplitIterator(length, start);
    }

    private IEnumerable<Ipv6Prefix> SplitIterator(int length, BigInteger start)
    {
        using var subnets = _network.Subnet((byte)length);
        var count = subnets.Count;
        for (var i = start; i < count; i++)
            yield return new Ipv6Prefix(subnets[i]);
    }

    private void CheckSubLength(int length)
    {
        if (length < Length || length > 128)
            throw new ArgumentOutOfRangeException(nameof(length), $"/{length} is not a sub-prefix length of {this} (use /{Length} to /128)");
    }

    /// <summary>RFC 5952 canonical text of an address (lowercase, longest zero run compressed).</summary>
    public static string Format(IPAddress address) => address.ToString();

    public override string ToString() => $"{Format(Network)}/{Length}";

    public bool Equals(Ipv6Prefix? other) => other is not null && other.Length == Length && other.Network.Equals(Network);
    public override bool Equals(object? obj) => obj is Ipv6Prefix p && Equals(p);
    public override int GetHashCode() => HashCode.Combine(Network, Length);
}
