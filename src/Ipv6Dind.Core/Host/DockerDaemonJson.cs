using Ipv6Dind.Core.Files;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Core.Host;

/// <summary>What a daemon.json change would do: the new text and whether it differs from the file's IPv6 keys.</summary>
public sealed record DaemonJsonChange(string Path, bool Exists, bool Changed, string Content, DockerIpv6Options Options);

/// <summary>
/// Enable-DockerIpv6 / Set-DockerIpv6Prefix on /etc/docker/daemon.json: the IPv6 keys (ipv6, fixed-cidr-v6,
/// ip6tables, experimental where the daemon needs it) are merged into the file and every other key is kept
/// (<see cref="DockerDaemonRenderer"/>). The file is replaced atomically (a temp file in the same folder, then a
/// rename, keeping the file's mode), after a timestamped copy of the old one. A file that is not valid JSON is
/// never touched: dockerd would refuse it too, and guessing would lose the user's settings.
/// </summary>
public static class DockerDaemonJson
{
    public const string DefaultPath = DockerDaemonRenderer.HostPath;

    /// <summary>
    /// The change for <paramref name="options"/>; reads the file (missing is fine: a new one is made). Pure
    /// apart from the read, so -WhatIf can show it.
    /// </summary>
    public static DaemonJsonChange Plan(string path, DockerIpv6Options options)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new DindException(ErrorIds.DaemonJsonWriteFailed, DindErrorCategory.InvalidArgument,
                $"ConfigPath: '{full}' is a directory; give the path of daemon.json.", full, "ConfigPath", "Give a file path such as /etc/docker/daemon.json.");
        string? existing = null;
        try { if (File.Exists(full)) existing = File.ReadAllText(full); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DindException(ErrorIds.DaemonJsonWriteFailed, ex is UnauthorizedAccessException ? DindErrorCategory.PermissionDenied : DindErrorCategory.ReadError,
                $"ConfigPath: cannot read '{full}': {ex.Message}", full, "ConfigPath", "Run as root, or give a path you may read.", ex);
        }
        var current = ParseObject(existing, full);
        var rendered = DockerDaemonRenderer.Render(options, existing).Content;
        var after = ParseObject(rendered, full)!;
        var changed = current is null || Keys.Any(k => !JsonNode.DeepEquals(current[k], after[k]));
        return new DaemonJsonChange(full, existing is not null, changed, rendered, options);
    }

    /// <summary>The keys this module owns in daemon.json.</summary>
    public static readonly IReadOnlyList<string> Keys = new[] { "ipv6", "fixed-cidr-v6", "ip6tables", "experimental" };

    /// <summary>
    /// Writes the change: a backup "&lt;file&gt;.&lt;UTC time&gt;.bak" of the old file first (returned; null when there
    /// was none), then the new text atomically with the old file's mode (0644 for a new one).
    /// </summary>
    public static string? Apply(DaemonJsonChange change, DateTimeOffset now)
    {
        string? backup = null;
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        var name = System.IO.Path.GetFileName(change.Path);
        SecureDirectory dir;
        try
        {
            // Relative to the open folder and never through a link (SecureDirectory): root's write cannot be redirected.
            dir = SecureDirectory.Open(System.IO.Path.GetDirectoryName(change.Path)!,
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        catch (IOException ex)
        {
            throw WriteFailed(change.Path, ex.Message, ex);
        }
        using (dir)
        {
            try
            {
                if (change.Exists)
                {
                    if (!OperatingSystem.IsWindows()) mode = File.GetUnixFileMode(change.Path) & (UnixFileMode)0x1FF;
                    backup = BackupPath(change.Path, now);
                    var old = File.ReadAllBytes(change.Path);
                    using var copy = dir.CreateNew(System.IO.Path.GetFileName(backup), mode);
                    copy.Write(old);
                    copy.Flush(flushToDisk: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw WriteFailed(change.Path, $"cannot make the backup {backup}: {ex.Message}", ex);
            }
            try
            {
                dir.WriteFile(name, change.Content, mode);
                return backup;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw WriteFailed(change.Path, ex.Message, ex);
            }
        }
    }

    /// <summary>"daemon.json.20261123T131500Z.bak" (a second within the same second gets a counter).</summary>
    public static string BackupPath(string path, DateTimeOffset now)
    {
        var stamp = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var candidate = $"{path}.{stamp}.bak";
        for (var i = 1; File.Exists(candidate); i++) candidate = $"{path}.{stamp}-{i}.bak";
        return candidate;
    }

    /// <summary>The IPv6 settings a daemon.json text holds (missing keys as dockerd's defaults: off, empty).</summary>
    public static DockerIpv6Settings Read(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var root = File.Exists(full) ? ParseObject(File.ReadAllText(full), full) : null;
        return new DockerIpv6Settings
        {
            ConfigPath = full,
            Ipv6 = Bool(root, "ipv6"),
            FixedCidrV6 = root?["fixed-cidr-v6"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "",
            Ip6Tables = Bool(root, "ip6tables"),
            Experimental = Bool(root, "experimental"),
        };
    }

    private static bool Bool(JsonObject? root, string key) => root?[key] is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    private static JsonObject? ParseObject(string? text, string path)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        JsonNode? node;
        try { node = JsonNode.Parse(text); }
        catch (JsonException e)
        {
            throw new DindException(ErrorIds.InvalidDaemonJson, DindErrorCategory.ParserError,
                $"ConfigPath: '{path}' is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {e.Message}); it was left untouched.",
                path, "ConfigPath", $"Repair {path} (dockerd refuses to start with it as it is), then run the command again.", e);
        }
        return node as JsonObject ?? throw new DindException(ErrorIds.InvalidDaemonJson, DindErrorCategory.InvalidData,
            $"ConfigPath: '{path}' holds JSON that is not an object; it was left untouched.", path, "ConfigPath", "daemon.json must be one JSON object ({ … }).");
    }

    private static DindException WriteFailed(string path, string why, Exception inner) =>
        new(ErrorIds.DaemonJsonWriteFailed, inner is UnauthorizedAccessException ? DindErrorCategory.PermissionDenied : DindErrorCategory.WriteError,
            $"ConfigPath: cannot write '{path}': {why}. The file was left as it was.", path, "ConfigPath",
            "Run as root (sudo), and check that the folder exists and is writable.", inner);
}

/// <summary>
/// Docker's IPv6 prefix (fixed-cidr-v6): validation, and the pick from a DHCPv6 delegated prefix (the seed's
/// dhclient hook: `sipcalc -S 80 $new_ip6_prefix`, first /80).
/// </summary>
public static class DockerIpv6Prefix
{
    /// <summary>
    /// Docker 20.10 gives default-bridge containers addresses made from their 48-bit MAC address, so
    /// fixed-cidr-v6 must leave at least 48 host bits: /80 or shorter.
    /// </summary>
    public const int LongestLength = 80;
    public const int DefaultSubnetLength = 80;

    /// <summary>Parses and checks a fixed-cidr-v6 value.</summary>
    public static Ipv6Prefix Validate(string? text, string parameter = "Prefix")
    {
        var prefix = Ipv6Prefix.TryParse(text, out var reason);
        if (prefix is null)
            throw Invalid(text, parameter, $"it is not an IPv6 prefix: {reason}");
        if (prefix.Length > LongestLength)
            throw new DindException(ErrorIds.InvalidDockerIpv6Prefix, DindErrorCategory.InvalidArgument,
                $"{parameter}: {prefix} is too small for Docker: fixed-cidr-v6 must be /{LongestLength} or shorter (containers' addresses are built from their 48-bit MAC).",
                text, parameter, $"Give a /{LongestLength} or a shorter prefix, e.g. {Ipv6Prefix.Containing(prefix.Network, LongestLength)}.");
        var first = prefix.Network.GetAddressBytes()[0];
        if (first is 0xff or 0 || prefix.Network.IsIPv6LinkLocal || prefix.Length < 8)
            throw Invalid(text, parameter, "it is not a unicast range Docker can hand out (multicast, link-local, ::/8 or shorter than /8)");
        return prefix;
    }

    /// <summary>ULA (fc00::/7): the only kind a MASQUERADE rule makes sense for (a global prefix is routed to the host).</summary>
    public static bool IsUla(Ipv6Prefix prefix) => (prefix.Network.GetAddressBytes()[0] & 0xfe) == 0xfc;

    /// <summary>The <paramref name="index"/>-th /<paramref name="subnetLength"/> of a delegated prefix.</summary>
    public static Ipv6Prefix FromDelegated(string? delegatedPrefix, int subnetLength = DefaultSubnetLength, long index = 0)
    {
        var delegated = Ipv6Prefix.TryParse(delegatedPrefix, out var reason)
            ?? throw Invalid(delegatedPrefix, "DelegatedPrefix", $"it is not an IPv6 prefix: {reason}");
        if (subnetLength is < 1 or > LongestLength)
            throw new DindException(ErrorIds.InvalidSubnetLength, DindErrorCategory.InvalidArgument,
                $"SubnetLength: /{subnetLength} is not usable for Docker; use /{Math.Min(delegated.Length, LongestLength)} to /{LongestLength}.",
                subnetLength, "SubnetLength", $"Use a length from /{Math.Min(delegated.Length, LongestLength)} to /{LongestLength} (default /{DefaultSubnetLength}).");
        if (delegated.Length > subnetLength)
            throw new DindException(ErrorIds.DelegatedPrefixTooSmall, DindErrorCategory.InvalidArgument,
                $"DelegatedPrefix: {delegated} is smaller than one /{subnetLength}; Docker needs a /{LongestLength} or shorter.",
                delegatedPrefix, "DelegatedPrefix", $"Ask the DHCPv6 server for a /{subnetLength} or shorter, or give -SubnetLength {delegated.Length} (at most /{LongestLength}).");
        var count = delegated.SubPrefixCount(subnetLength);
        if (index < 0 || index >= count)
            throw new DindException(ErrorIds.DelegatedPrefixTooSmall, DindErrorCategory.InvalidArgument,
                $"Index: {delegated} holds {count} /{subnetLength} prefix(es) (index 0 to {count - 1}); {index} is outside.",
                index, "Index", $"Give -Index from 0 to {count - 1}.");
        return Validate(delegated.SubPrefix(subnetLength, index).ToString(), "DelegatedPrefix");
    }

    private static DindException Invalid(string? text, string parameter, string why) =>
        new(ErrorIds.InvalidDockerIpv6Prefix, DindErrorCategory.InvalidArgument,
            $"{parameter}: '{text}' is not usable as Docker's IPv6 prefix: {why}.", text, parameter,
            "Give an IPv6 prefix in address/length form with the host bits zero, e.g. fd00:d0c:1::/64 or 2001:db8:1234:5600::/56.");

    /// <summary>
    /// The comment of the ULA MASQUERADE rule Enable-DockerIpv6 -Masquerade adds (one per host): in the daemon
    /// namespace, apart from every cluster's rules (LabNames.HostRuleComment).
    /// </summary>
    public const string MasqueradeComment = "ipv6dind/daemon/docker-ipv6";

    /// <summary>The comment 0.3 gave that rule; still recognised as this daemon's, so an upgrade can move or remove it.</summary>
    public const string LegacyMasqueradeComment = "ipv6dind:docker-ipv6";

    /// <summary>
    /// The seed's ULA MASQUERADE rule: containers with a ULA (not routed outside) leave behind the host's own
    /// address. Tagged with <see cref="MasqueradeComment"/> so removal is exact.
    /// </summary>
    public static HostRule MasqueradeRule(Ipv6Prefix prefix) =>
        new("nat", "POSTROUTING", new[] { "-s", prefix.ToString(), "!", "-d", prefix.ToString(), "-j", "MASQUERADE", "-m", "comment", "--comment", MasqueradeComment }, MasqueradeComment);
}
