using System.Numerics;

namespace Ipv6Dind.Core.Addressing;

/// <summary>Split-Ipv6Prefix: the seed's `sipcalc -S`, streamed.</summary>
public static class PrefixSplitter
{
    public static Ipv6Prefix ParsePrefix(string? text, string parameter = "Prefix")
    {
        var prefix = Ipv6Prefix.TryParse(text, out var reason);
        if (prefix is null)
            throw new DindException(reason.StartsWith("host bits", StringComparison.Ordinal) ? ErrorIds.PrefixHostBitsSet : ErrorIds.InvalidPrefix,
                DindErrorCategory.InvalidArgument, $"{parameter}: '{text}' is not a valid IPv6 prefix: {reason}. Give a prefix such as 2001:db8:77::/48.",
                text, parameter, "Give an IPv6 prefix in address/length form with the host bits zero, e.g. 2001:db8:77::/48.");
        return prefix;
    }

    /// <summary>The sub-prefixes of <paramref name="length"/>, from <paramref name="skip"/> on; lazily.</summary>
    public static IEnumerable<Ipv6Subnet> Split(Ipv6Prefix prefix, int length, BigInteger skip)
    {
        if (length < prefix.Length || length > 128)
            throw new DindException(ErrorIds.InvalidSubnetLength, DindErrorCategory.InvalidArgument,
                $"SubnetLength: /{length} cannot split {prefix}. Use a length from /{prefix.Length} to /128.",
                length, "SubnetLength", $"Use a length from /{prefix.Length} to /128.");
        return Iterate(prefix, length, skip);
    }

    private static IEnumerable<Ipv6Subnet> Iterate(Ipv6Prefix prefix, int length, BigInteger skip)
    {
        var parent = prefix.ToString();
        var index = skip;
        foreach (var sub in prefix.Split(length, skip))
        {
            yield return new Ipv6Subnet
            {
                Index = index++,
                Prefix = sub.ToString(),
                FirstAddress = Ipv6Prefix.Format(sub.Network),
                LastAddress = Ipv6Prefix.Format(sub.LastAddress),
                PrefixLength = length,
                ParentPrefix = parent,
            };
        }
    }
}
