using System.Text.RegularExpressions;
using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Host;

/// <summary>
/// The host side of a lab network's Linux bridge (a local daemon, this process root). Docker gives the bridge its
/// gateway address with duplicate address detection: the address stays tentative until the first container joins and
/// DAD has run (about 2 s), and until then the host cannot answer for it, so nothing in the lab reaches the host or
/// anything behind it (the DNS64's first answer to the host waited for it; docs/design/README.md, "Docker and kernel
/// facts"). The address is made again with <c>nodad</c> right after the network is created, before any container
/// joins: the bridge is the lab's own (Docker names it br-&lt;first 12 hex digits of the network ID&gt;), and the
/// address is the plan's gateway, so nothing else is touched.
/// </summary>
public static partial class LabBridge
{
    [GeneratedRegex("^[0-9a-f]{12}")]
    private static partial Regex NetworkIdStart();

    /// <summary>Docker's name for the bridge of network <paramref name="networkId"/>; null for an ID that is not hex.</summary>
    public static string? BridgeName(string networkId) =>
        NetworkIdStart().Match(networkId) is { Success: true } m ? "br-" + m.Value : null;

    /// <summary>
    /// Makes the gateway address <paramref name="gateway"/>/<paramref name="prefixLength"/> of the network's bridge
    /// again without DAD. Returns why it was not done (no bridge of that name, no such address: nothing changed), or
    /// null when it was. Throws only when the address was removed and could not be added again.
    /// </summary>
    public static async Task<string?> SkipDadAsync(IHostCommandRunner run, string networkId, string gateway, int prefixLength, CancellationToken ct)
    {
        if (BridgeName(networkId) is not { } bridge) return $"network ID '{networkId}' is not Docker's";
        var ip = HostFirewall.Tool("ip");
        if (!Path.IsPathRooted(ip)) return "ip is not installed on this host";
        var address = $"{gateway}/{prefixLength}";
        var timeout = TimeSpan.FromSeconds(10);
        var removed = await run.RunAsync(ip, new[] { "-6", "address", "del", address, "dev", bridge }, null, timeout, ct).ConfigureAwait(false);
        if (!removed.Succeeded) return $"{bridge} has no address {address} ({removed.StandardError.Trim()})";
        // From here the gateway must come back whatever happens: not on the operation's token.
        var added = await run.RunAsync(ip, new[] { "-6", "address", "add", address, "dev", bridge, "nodad" }, null, timeout, CancellationToken.None).ConfigureAwait(false);
        if (!added.Succeeded)
            throw new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.InvalidOperation,
                $"The lab network's gateway {address} could not be added again to {bridge}: {added.StandardError.Trim()}", bridge, null,
                "The bring-up removes the network; run it again. If it fails the same way, see ip's message.");
        return null;
    }
}
