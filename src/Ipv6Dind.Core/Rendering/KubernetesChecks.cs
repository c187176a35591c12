using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Rendering;

/// <summary>
/// Input checks shared by the Kubernetes renderers. Options can be built by hand (New-KubeadmConfig),
/// so the renderers do not trust them: every address must be IPv6 and comes out in canonical text.
/// </summary>
internal static partial class KubernetesChecks
{
    /// <summary>The canonical text of an IPv6 address, or ArgumentException naming the option.</summary>
    public static string Ipv6Address(string? text, string option)
    {
        if (!IPAddress.TryParse((text ?? "").Trim(), out var address) || address.AddressFamily != AddressFamily.InterNetworkV6 || (text ?? "").Contains('%'))
            throw new ArgumentException($"{option}: '{text}' is not an IPv6 address; the cluster is IPv6-only (e.g. fd00:77:10::1001).", option);
        return address.ToString();
    }

    /// <summary>The canonical text of an IPv6 prefix, or ArgumentException naming the option.</summary>
    public static string PrefixText(string? text, string option) => ParsePrefix(text, option).ToString();

    public static Ipv6Prefix ParsePrefix(string? text, string option) =>
        Ipv6Prefix.TryParse(text, out var reason)
        ?? throw new ArgumentException($"{option}: '{text}' is not an IPv6 prefix: {reason}.", option);

    public static void Port(int port, string option)
    {
        if (port is < 1 or > 65535)
            throw new ArgumentException($"{option}: {port} is not a TCP port (1-65535).", option);
    }

    /// <summary>kubeadm's bootstrap token format, [a-z0-9]{6}.[a-z0-9]{16}.</summary>
    public static void BootstrapToken(string? token, string option)
    {
        if (token is null || !BootstrapTokenPattern().IsMatch(token))
            throw new ArgumentException($"{option}: a bootstrap token is 6 then 16 characters from [a-z0-9] joined by a dot (e.g. abcdef.0123456789abcdef).", option);
    }

    /// <summary>A dotted DNS name (cluster domain) of lowercase labels.</summary>
    public static void DnsDomain(string? domain, string option)
    {
        if (domain is null || domain.Length > 253 || !DnsDomainPattern().IsMatch(domain))
            throw new ArgumentException($"{option}: '{domain}' is not a DNS domain (e.g. cluster.local).", option);
    }

    [GeneratedRegex("^[a-z0-9]{6}\\.[a-z0-9]{16}\\z", RegexOptions.CultureInvariant)]
    internal static partial Regex BootstrapTokenPattern();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex DnsDomainPattern();
}
