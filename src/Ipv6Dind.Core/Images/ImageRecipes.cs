using System.Security.Cryptography;
using System.Text;

namespace Ipv6Dind.Core.Images;

/// <summary>A file a role image carries beyond its packages: sent in the build context, copied in by the Dockerfile.</summary>
/// <param name="Path">Absolute path in the image.</param>
/// <param name="Content">The file's text.</param>
/// <param name="Executable">Mode 0755 when true, 0644 otherwise.</param>
public sealed record ImageFile(string Path, string Content, bool Executable)
{
    /// <summary>Its name in the build context (the last part of the path).</summary>
    public string ContextName => System.IO.Path.GetFileName(Path);
}

/// <summary>One role image: the Debian packages it adds on top of the base, the files it carries, and why.</summary>
public sealed record ImageRecipe(string Role, IReadOnlyList<string> Packages, string Purpose, IReadOnlyList<ImageFile>? Files = null)
{
    /// <summary>The files the Dockerfile copies in (none for most roles).</summary>
    public IReadOnlyList<ImageFile> CopiedFiles => Files ?? Array.Empty<ImageFile>();

    /// <summary>
    /// The Dockerfile of this role on a given base. It is also the recipe text whose hash labels the image:
    /// change a package and the hash changes, so the cached image is rebuilt.
    /// </summary>
    public string Dockerfile(string baseReference)
    {
        var sb = new StringBuilder();
        sb.Append("# Ipv6Dind ").Append(Role).Append(" image: ").Append(Purpose).Append('\n');
        sb.Append("FROM ").Append(baseReference).Append('\n');
        sb.Append("RUN apt-get update \\\n");
        sb.Append(" && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ").Append(string.Join(' ', Packages)).Append(" \\\n");
        sb.Append(" && rm -rf /var/lib/apt/lists/*\n");
        // The content's hash is part of the text, so a changed file changes the recipe hash and the image is rebuilt.
        foreach (var file in CopiedFiles)
            sb.Append("# ").Append(file.ContextName).Append(" sha256 ").Append(ImageRecipes.Hash(file.Content)).Append('\n')
              .Append("COPY ").Append(file.ContextName).Append(' ').Append(file.Path).Append('\n');
        sb.Append("LABEL io.ipv6dind.role=\"").Append(Role).Append("\"\n");
        // A container started without a command stays up (with Init, it still stops on SIGTERM).
        sb.Append("CMD [\"sleep\", \"infinity\"]\n");
        return sb.ToString();
    }
}

/// <summary>
/// What the offline images are made of. The base is a debootstrap'd Debian (minbase plus the network tools every
/// role needs) imported as ipv6dind/base:&lt;hash12&gt;; each role is a Dockerfile layer of apt packages on it.
/// Nothing comes from a registry: only the Debian mirror the host already uses.
/// </summary>
public static class ImageRecipes
{
    public const string Suite = "bookworm";
    public const string Variant = "minbase";
    public const string BaseRepository = "ipv6dind/base";
    public const string RecipeLabel = "io.ipv6dind.recipe";
    public const string RoleLabel = "io.ipv6dind.role";
    public const string VersionLabel = "io.ipv6dind.version";

    public static IReadOnlyList<string> BasePackages { get; } =
        new[] { "iproute2", "iputils-ping", "curl", "bind9-dnsutils", "procps", "iptables", "netbase" };

    public static ImageRecipe Dns64 { get; } = new("dns64", new[] { "bind9", "bind9-dnsutils" }, "bind9 answering DNS64");
    public static ImageRecipe Nat64 { get; } = new("nat64", new[] { "tayga", "iproute2", "iptables" }, "tayga translating NAT64",
        new[] { new ImageFile(Nat64Start, Nat64StartScript, Executable: true) });

    /// <summary>The NAT64 container's command: makes tayga's device with the lab's MTU, then runs tayga on it.</summary>
    public const string Nat64Start = "/usr/local/sbin/ipv6dind-nat64";

    /// <summary>
    /// tayga reads its tun device's MTU once, when it starts, and sizes its packets by it: the device must have the
    /// lab's MTU before tayga runs, so the container's command makes the device (tayga --mktun), sets its MTU and
    /// queue length, and only then runs tayga in the foreground on it. Arguments: config file, device, MTU.
    /// </summary>
    public const string Nat64StartScript =
        "#!/bin/sh\n" +
        "# Ipv6Dind NAT64: tayga's tun device with the lab's MTU, then tayga on it (in the foreground, as PID 1's child).\n" +
        "# usage: ipv6dind-nat64 <tayga.conf> <device> <mtu>\n" +
        "set -eu\n" +
        "[ \"$#\" -eq 3 ] || { echo \"usage: ipv6dind-nat64 <tayga.conf> <device> <mtu>\" >&2; exit 2; }\n" +
        "config=\"$1\" device=\"$2\" mtu=\"$3\"\n" +
        "# After a restart in the same namespace the persistent device may still be there.\n" +
        "ip link show dev \"$device\" >/dev/null 2>&1 || tayga --config \"$config\" --mktun\n" +
        "ip link set dev \"$device\" mtu \"$mtu\" txqueuelen 1000\n" +
        "exec tayga -n --config \"$config\"\n";
    public static ImageRecipe Node { get; } = new("node",
        new[] { "iproute2", "iputils-ping", "curl", "bind9-dnsutils", "procps", "iptables", "containernetworking-plugins", "kmod", "ca-certificates", "netbase" },
        "a lab node with CNI plugins and network tools");

    public static IReadOnlyList<ImageRecipe> All { get; } = new[] { Dns64, Nat64, Node };

    public static IReadOnlyList<string> Roles { get; } = All.Select(r => r.Role).ToArray();

    public static ImageRecipe Get(string role) =>
        All.FirstOrDefault(r => string.Equals(r.Role, role, StringComparison.OrdinalIgnoreCase))
        ?? throw new DindException(ErrorIds.ImageNotFound, DindErrorCategory.InvalidArgument,
            $"There is no image role '{role}'; the roles are {string.Join(", ", Roles)}.",
            target: role, parameterName: "Role");

    /// <summary>
    /// Written into the root file system after debootstrap, before it is packed. policy-rc.d keeps package
    /// scripts from starting daemons (bind9, tayga) inside image builds; resolv.conf and hostname are emptied because
    /// debootstrap copies the host's, and the host's resolver must never travel into a lab.
    /// </summary>
    public static IReadOnlyList<(string Path, string Content, UnixFileMode Mode)> BaseFiles { get; } = new[]
    {
        ("usr/sbin/policy-rc.d", "#!/bin/sh\n# Ipv6Dind: no daemons start during image builds.\nexit 101\n",
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute),
        ("etc/resolv.conf", "", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead),
        ("etc/hostname", "", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead),
    };

    /// <summary>
    /// Emptied after debootstrap (files only, "lock" kept): the downloaded .debs and package lists are ~100 MB that
    /// every role's own apt-get update replaces anyway.
    /// </summary>
    public static IReadOnlyList<string> BaseClearedDirectories { get; } = new[] { "var/cache/apt/archives", "var/lib/apt/lists" };

    /// <summary>debootstrap's arguments after the program name.</summary>
    public static IReadOnlyList<string> DebootstrapArguments(string rootfs, string mirror) => new[]
    {
        "--variant=" + Variant,
        "--include=" + string.Join(',', BasePackages),
        Suite,
        rootfs,
        mirror,
    };

    /// <summary>tar's arguments: numeric owners (the image's uids, not the host's names), file capabilities kept, one file system only.</summary>
    public static IReadOnlyList<string> TarArguments(string rootfs, string tarball) => new[]
    {
        "--numeric-owner", "--xattrs", "--xattrs-include=security.capability", "--one-file-system",
        "-C", rootfs, "-cf", tarball, ".",
    };

    /// <summary>
    /// The base recipe as text. The mirror is left out on purpose: any mirror of the suite gives the same base,
    /// and a cache check must work on a host whose apt sources say nothing about Debian.
    /// </summary>
    public static string BaseRecipeText()
    {
        var sb = new StringBuilder();
        sb.Append("debootstrap ").Append(string.Join(' ', DebootstrapArguments("<rootfs>", "<mirror>"))).Append('\n');
        foreach (var (path, content, mode) in BaseFiles)
            sb.Append("write /").Append(path).Append(' ').Append(Convert.ToString((int)mode, 8)).Append(' ').Append(Hash(content)).Append('\n');
        foreach (var dir in BaseClearedDirectories)
            sb.Append("clear /").Append(dir).Append('\n');
        sb.Append("tar ").Append(string.Join(' ', TarArguments("<rootfs>", "-"))).Append('\n');
        return sb.ToString();
    }

    public static string BaseHash() => Hash(BaseRecipeText());

    public static string BaseReference() => $"{BaseRepository}:{BaseHash()[..12]}";

    /// <summary>Lower-case hex SHA-256 of UTF-8 text.</summary>
    public static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    /// <summary>
    /// The mirror of <paramref name="suite"/> from apt sources: deb822 (.sources: URIs/Suites/Types fields) or the
    /// one-line format (.list: "deb [options] uri suite components"). Null when none names the suite.
    /// </summary>
    public static string? MirrorFromSources(string text, string suite = Suite)
    {
        // deb822: paragraphs of "Field: value" separated by blank lines; continuation lines start with a space.
        foreach (var paragraph in Deb822Paragraphs(text))
        {
            if (!paragraph.TryGetValue("types", out var types) || !Words(types).Contains("deb")) continue;
            if (paragraph.TryGetValue("enabled", out var enabled) && enabled.Trim().Equals("no", StringComparison.OrdinalIgnoreCase)) continue;
            if (!paragraph.TryGetValue("suites", out var suites) || !Words(suites).Contains(suite)) continue;
            if (paragraph.TryGetValue("uris", out var uris) && Words(uris).FirstOrDefault() is { } uri) return uri;
        }
        // One-line format.
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Split('#')[0].Trim();
            if (!line.StartsWith("deb ", StringComparison.Ordinal) && !line.StartsWith("deb\t", StringComparison.Ordinal)) continue;
            var words = Words(line[3..]).ToList();
            if (words.Count > 0 && words[0].StartsWith('['))
            {
                var end = words.FindIndex(w => w.EndsWith(']'));
                words = words.Skip(end + 1).ToList();
            }
            if (words.Count >= 2 && words[1] == suite) return words[0];
        }
        return null;
    }

    private static IEnumerable<Dictionary<string, string>> Deb822Paragraphs(string text)
    {
        var current = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? lastKey = null;
        foreach (var raw in text.Replace("\r", "").Split('\n'))
        {
            if (raw.StartsWith('#')) continue;
            if (raw.Trim().Length == 0)
            {
                if (current.Count > 0) yield return current;
                current = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                lastKey = null;
                continue;
            }
            if ((raw[0] == ' ' || raw[0] == '\t') && lastKey is not null)
            {
                current[lastKey] += " " + raw.Trim();
                continue;
            }
            var colon = raw.IndexOf(':');
            if (colon <= 0) continue;
            lastKey = raw[..colon].Trim();
            current[lastKey] = raw[(colon + 1)..].Trim();
        }
        if (current.Count > 0) yield return current;
    }

    private static IEnumerable<string> Words(string s) => s.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
}
