using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Rendering;

/// <summary>The IPv6 settings Enable-DockerIpv6 puts into /etc/docker/daemon.json.</summary>
/// <param name="FixedCidrV6">IPv6 prefix of the default bridge (docker0).</param>
/// <param name="Ip6Tables">Let dockerd manage ip6tables rules (isolation, port publishing) as it does iptables.</param>
/// <param name="Experimental">Set "experimental": true, which ip6tables needs before Docker 27 (see <see cref="DockerDaemonRenderer.NeedsExperimental"/>).</param>
/// <param name="DefaultAddressPools">
/// Pools for networks dockerd creates, in dockerd's flag syntax "base=198.19.128.0/17,size=24"; null leaves
/// dockerd's default (which starts at 172.17.0.0/16).
/// </param>
/// <param name="Bip">docker0's own address and length ("198.18.254.1/24"); null leaves dockerd's default (172.17.0.1/16).</param>
public sealed record DockerIpv6Options(
    string FixedCidrV6,
    bool Ip6Tables = true,
    bool Experimental = false,
    IReadOnlyList<string>? DefaultAddressPools = null,
    string? Bip = null)
{
    /// <summary>Options for a daemon of <paramref name="dockerVersion"/>: "experimental" only where ip6tables still needs it.</summary>
    public static DockerIpv6Options From(Version dockerVersion, string fixedCidrV6, bool ip6Tables = true,
        IReadOnlyList<string>? defaultAddressPools = null, string? bip = null) =>
        new(fixedCidrV6, ip6Tables, ip6Tables && DockerDaemonRenderer.NeedsExperimental(dockerVersion), defaultAddressPools, bip);
}

/// <summary>
/// Renders daemon.json for IPv6 (keys as in dockerd's daemon.json reference: ipv6, fixed-cidr-v6, ip6tables,
/// experimental, bip, default-address-pools). Given the current file, it changes only these keys and keeps
/// every other key, in its place, so the user's own settings survive Enable-DockerIpv6.
/// </summary>
public static class DockerDaemonRenderer
{
    public const string Kind = "DockerDaemon";
    public const string FileName = "daemon.json";
    public const string HostPath = "/etc/docker/daemon.json";

    /// <summary>First release with --ip6tables (experimental only): Docker 20.10.</summary>
    public static readonly Version Ip6TablesSince = new(20, 10);

    /// <summary>
    /// First release where ip6tables is no longer experimental (and is on by default): Docker 27.0,
    /// moby/moby#47747 ("--ip6tables is now the default, and it no longer needs --experimental", docker/docs#20026).
    /// Before it, dockerd 20.10-26.x refuses to start with ip6tables but without experimental: moby
    /// daemon/daemon_unix.go verifyDaemonSettings, "ip6tables rules are only available if experimental
    /// features are enabled" (moby/moby#43455 marks the flag experimental in its help text).
    /// </summary>
    public static readonly Version Ip6TablesStableSince = new(27, 0);

    /// <summary>True when a daemon of <paramref name="dockerVersion"/> needs "experimental": true for ip6tables (below 27.0).</summary>
    public static bool NeedsExperimental(Version dockerVersion)
    {
        ArgumentNullException.ThrowIfNull(dockerVersion);
        return new Version(dockerVersion.Major, Math.Max(0, dockerVersion.Minor)) < Ip6TablesStableSince;
    }

    /// <summary>
    /// The daemon.json text: <paramref name="existingDaemonJson"/> (the current file, or null/empty for none)
    /// with the IPv6 keys set. Deterministic: existing keys keep their order, new ones follow in a fixed order.
    /// "experimental" is written only when true, never turned off: the user may rely on it for other things.
    /// </summary>
    public static RenderedConfig Render(DockerIpv6Options options, string? existingDaemonJson = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var fixedCidr = NetworkRenderText.Ipv6Prefix(options.FixedCidrV6, nameof(options.FixedCidrV6));
        var pools = (options.DefaultAddressPools ?? Array.Empty<string>()).Select(ParsePool).ToList();
        var bip = options.Bip is null ? null : ParseBip(options.Bip);

        JsonObject root;
        if (string.IsNullOrWhiteSpace(existingDaemonJson))
        {
            root = new JsonObject();
        }
        else
        {
            JsonNode? parsed;
            try { parsed = JsonNode.Parse(existingDaemonJson); }
            catch (JsonException e)
            {
                throw new DindException(ErrorIds.InvalidDaemonJson, DindErrorCategory.InvalidData,
                    $"The existing daemon.json is not valid JSON ({e.Message}); fix or move it before enabling IPv6.",
                    HostPath, recommendedAction: "Repair /etc/docker/daemon.json (dockerd refuses to start with it as it is).", inner: e);
            }
            root = parsed as JsonObject ?? throw new DindException(ErrorIds.InvalidDaemonJson, DindErrorCategory.InvalidData,
                "The existing daemon.json is not a JSON object.", HostPath);
        }

        root["ipv6"] = true;
        root["fixed-cidr-v6"] = fixedCidr.ToString();
        root["ip6tables"] = options.Ip6Tables;
        if (options.Experimental)
            root["experimental"] = true;
        if (bip is not null)
            root["bip"] = bip;
        if (pools.Count > 0)
        {
            var array = new JsonArray();
            foreach (var (poolBase, size) in pools)
                array.Add(new JsonObject { ["base"] = poolBase, ["size"] = size });
            root["default-address-pools"] = array;
        }

        var json = NetworkRenderText.Json(w => root.WriteTo(w));
        return new RenderedConfig
        {
            Kind = Kind,
            FileName = FileName,
            ContainerPath = HostPath,
            Content = json,
        };
    }

    /// <summary>"base=198.19.128.0/17,size=24" (dockerd's --default-address-pool syntax) into base and size.</summary>
    private static (string Base, int Size) ParsePool(string text)
    {
        string? poolBase = null;
        int? size = null;
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            var key = eq < 0 ? "" : part[..eq].Trim();
            var value = eq < 0 ? "" : part[(eq + 1)..].Trim();
            if (key == "base" && poolBase is null) poolBase = value;
            else if (key == "size" && size is null && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s)) size = s;
            else throw BadPool(text, $"'{part}' is not base=<prefix> or size=<length>");
        }
        if (poolBase is null || size is null) throw BadPool(text, "both base=<prefix> and size=<length> are needed");
        int length, max;
        string canonical;
        if (Ipv4Prefix.TryParse(poolBase, out _) is { } v4) { length = v4.Length; max = 32; canonical = v4.ToString(); }
        else if (Ipv6Prefix.TryParse(poolBase, out _) is { } v6) { length = v6.Length; max = 128; canonical = v6.ToString(); }
        else throw BadPool(text, $"'{poolBase}' is not an IPv4 or IPv6 prefix");
        if (size < length || size > max) throw BadPool(text, $"size {size} must lie between the base's /{length} and /{max}");
        return (canonical, size.Value);
    }

    private static DindException BadPool(string? text, string why) =>
        NetworkRenderText.Invalid(ErrorIds.InvalidDockerAddressPool, nameof(DockerIpv6Options.DefaultAddressPools), text,
            $"'{text}' is not an address pool ({why}); expected e.g. base=198.19.128.0/17,size=24.");

    /// <summary>docker0's address with its length ("198.18.254.1/24"): an address, not a network, so host bits are expected.</summary>
    private static string ParseBip(string text)
    {
        var slash = text.IndexOf('/');
        if (slash > 0 && IPAddress.TryParse(text[..slash].Trim(), out var address) && address.AddressFamily == AddressFamily.InterNetwork
            && text[..slash].Count(c => c == '.') == 3
            && int.TryParse(text[(slash + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var length) && length is >= 1 and <= 30)
            return $"{address}/{length}";
        throw NetworkRenderText.Invalid(ErrorIds.InvalidIPv4Address, nameof(DockerIpv6Options.Bip), text,
            $"'{text}' is not docker0's address and length (e.g. 198.18.254.1/24).");
    }
}
