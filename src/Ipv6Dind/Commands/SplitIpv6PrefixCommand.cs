using System.Management.Automation;
using System.Numerics;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Commands;

/// <summary>
/// Splits a prefix into sub-prefixes of one length, streaming (the seed's `sipcalc -S 80 $new_ip6_prefix`):
/// a /48 into /80s is 2^32 prefixes, and the first reaches the pipeline at once. -First/-Skip page without
/// enumerating what is skipped.
/// </summary>
[Cmdlet(VerbsCommon.Split, "Ipv6Prefix", SupportsPaging = true)]
[OutputType(typeof(Ipv6Subnet))]
public sealed class SplitIpv6PrefixCommand : DindCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Network")]
    public string Prefix { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("NewLength")]
    public int SubnetLength { get; set; }

    protected override void ProcessRecord()
    {
        var prefix = Invoke(() => PrefixSplitter.ParsePrefix(Prefix));
        var skip = new BigInteger(PagingParameters.Skip);
        var subnets = Invoke(() => PrefixSplitter.Split(prefix, SubnetLength, skip));
        if (PagingParameters.IncludeTotalCount)
        {
            // A /0 split into /128s has 2^128 members: beyond UInt64 the count is a lower bound, said by its accuracy.
            var count = prefix.SubPrefixCount(SubnetLength);
            WriteObject(PagingParameters.NewTotalCount((ulong)BigInteger.Min(count, ulong.MaxValue), count > ulong.MaxValue ? 0.0 : 1.0));
        }

        var first = PagingParameters.First;
        ulong written = 0;
        foreach (var subnet in subnets)
        {
            if (written >= first) break;
            // Long splits honour Ctrl-C between items (WriteObject throws once the pipeline is stopping).
            WriteObject(subnet);
            written++;
        }
    }
}
