using System.Management.Automation;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Commands;

/// <summary>RFC 6052 IPv4-embedded IPv6 address → the IPv4 address inside it.</summary>
[Cmdlet(VerbsData.ConvertFrom, "Nat64Address")]
[OutputType(typeof(Nat64Address))]
public sealed class ConvertFromNat64AddressCommand : DindCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Address", "IPAddress")]
    public string[] IPv6Address { get; set; } = Array.Empty<string>();

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Prefix")]
    public string Nat64Prefix { get; set; } = Nat64Conversion.DefaultPrefix;

    protected override void ProcessRecord()
    {
        foreach (var address in IPv6Address)
        {
            try { WriteObject(Nat64Conversion.ToIpv4(address, Nat64Prefix)); }
            catch (DindException ex) when (ex.ErrorId is ErrorIds.InvalidIPv6Address or ErrorIds.AddressOutsideNat64Prefix) { WriteDindError(ex); }
            catch (DindException ex) { ThrowDindError(ex); }
        }
    }
}
