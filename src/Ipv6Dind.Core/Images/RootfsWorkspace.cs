using System.Text;
using Ipv6Dind.Core.Diagnostics;

namespace Ipv6Dind.Core.Images;

/// <summary>
/// The scratch directory debootstrap fills, removed afterwards without ever crossing a mount point: a debootstrap
/// killed half-way can leave /proc, /sys or a bind of /dev mounted inside it, and a recursive delete through a
/// bind of the host's /dev would remove the host's device nodes.
/// </summary>
internal sealed class RootfsWorkspace
{
    private readonly IDindLog _log;

    public RootfsWorkspace(string path, IDindLog log)
    {
        Path = path;
        _log = log;
    }

    public string Path { get; }

    /// <summary>Writes a file inside the root file system, replacing a symbolic link rather than writing through it.</summary>
    public void WriteFile(string relativePath, string content, UnixFileMode mode)
    {
        var full = System.IO.Path.Combine(Path, relativePath);
        var info = new FileInfo(full);
        // A link (etc/resolv.conf often is one) would make the write land outside the tree: drop the link itself.
        if (info.Exists || info.LinkTarget is not null) File.Delete(full);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content, new UTF8Encoding(false));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(full, mode);
    }

    /// <summary>Deletes the files below a directory of the tree (not the directories, not "lock" files), without following links.</summary>
    public void ClearFiles(string relativeDirectory)
    {
        var dir = new DirectoryInfo(System.IO.Path.Combine(Path, relativeDirectory));
        if (!dir.Exists || dir.LinkTarget is not null) return;
        foreach (var file in dir.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
            if (file.Name != "lock") file.Delete();
    }

    /// <summary>Unmounts whatever is still mounted below the tree (deepest first), then deletes it; refuses if a mount stays.</summary>
    public void Delete()
    {
        if (!Directory.Exists(Path)) return;
        var below = MountsBelow(Path);
        foreach (var mount in below.OrderByDescending(m => m.Length))
        {
            _log.Warning($"Unmounting {mount}, left behind by an interrupted debootstrap.");
            Unmount(mount);
        }
        var left = MountsBelow(Path);
        if (left.Count > 0)
        {
            _log.Warning($"Not deleting {Path}: still mounted below it: {string.Join(", ", left)}. Unmount them and delete it by hand.");
            return;
        }
        try { Directory.Delete(Path, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warning($"Could not delete {Path}: {e.Message}");
        }
    }

    /// <summary>Mount points at or below <paramref name="root"/>, from /proc/self/mountinfo (field 5, octal-escaped).</summary>
    internal static IReadOnlyList<string> MountsBelow(string root, string mountinfo = "/proc/self/mountinfo")
    {
        var prefix = System.IO.Path.GetFullPath(root).TrimEnd('/');
        var result = new List<string>();
        if (!File.Exists(mountinfo)) return result;
        foreach (var line in File.ReadLines(mountinfo))
        {
            var fields = line.Split(' ');
            if (fields.Length < 5) continue;
            var point = Unescape(fields[4]);
            if (point == prefix || point.StartsWith(prefix + "/", StringComparison.Ordinal)) result.Add(point);
        }
        return result;
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s.Substring(at, 3).All(c => c is >= '0' and <= '7');

    private static void Unmount(string mountPoint)
    {
        // umount2(MNT_DETACH) by argv: no shell, and lazy so a busy /proc does not block the cleanup. Synchronous:
        // this runs while a build is being cleaned up, also after Ctrl-C, so it takes no cancellation.
        try
        {
            Host.ProcessRunner.RunAsync("umount", new[] { "--lazy", mountPoint }, new Host.ProcessRunOptions { Timeout = TimeSpan.FromSeconds(10) }, CancellationToken.None)
                .GetAwaiter().GetResult();
        }
        catch (System.ComponentModel.Win32Exception) { }
        catch (Host.ProcessTimeoutException) { }
    }
}
