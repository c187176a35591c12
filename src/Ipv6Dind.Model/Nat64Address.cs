namespace Ipv6Dind;

/// <summary>An IPv4 address and its RFC 6052 IPv4-embedded IPv6 form under one NAT64 prefix.</summary>
public sealed class Nat64Address
{
    public string IPv4Address { get; init; } = "";
    public string IPv6Address { get; init; } = "";
    public string Prefix { get; init; } = "";
    public override string ToString() => IPv6Address;
}

/// <summary>One sub-prefix of a split (the seed's `sipcalc -S`).</summary>
public sealed class Ipv6Subnet
{
    /// <summary>Zero-based position of this sub-prefix within its parent.</summary>
    public System.Numerics.BigInteger Index { get; init; }
    public string Prefix { get; init; } = "";
    public string FirstAddress { get; init; } = "";
    public string LastAddress { get; init; } = "";
    public int PrefixLength { get; init; }
    public string ParentPrefix { get; init; } = "";
    public override string ToString() => Prefix;
}
