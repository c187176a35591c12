using System.Management.Automation;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Commands;

/// <summary>IPv4 → RFC 6052 IPv4-embedded IPv6 address, as DNS64 synthesizes it.</summary>
[Cmdlet(VerbsData.ConvertTo, "Nat64Address")]
[OutputType(typeof(Nat64Address))]
public sealed class ConvertToNat64AddressCommand : DindCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Address", "IPAddress")]
    public string[] IPv4Address { get; set; } = Array.Empty<string>();

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Prefix")]
    public string Nat64Prefix { get; set; } = Nat64Conversion.DefaultPrefix;

    protected override void ProcessRecord()
    {
        foreach (var address in IPv4Address)
        {
            try { WriteObject(Nat64Conversion.ToIpv6(address, Nat64Prefix)); }
            catch (DindException ex) when (ex.ErrorId == ErrorIds.InvalidIPv4Address) { WriteDindError(ex); }
            catch (DindException ex) { ThrowDindError(ex); }
        }
    }
}
