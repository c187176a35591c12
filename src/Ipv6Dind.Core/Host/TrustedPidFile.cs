using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ipv6Dind.Core.Host;

/// <summary>
/// Reads a pid file that root may act on (SIGTERM, a restart): only a regular file, not a symbolic link, owned by
/// root or by this process's effective user and writable by nobody else, in a folder whose every ancestor is owned by
/// root or that user and writable by nobody else (unless sticky). The file is looked at without following links
/// (statx AT_SYMLINK_NOFOLLOW), then opened and checked again through the open descriptor (same device and inode), so
/// a link swapped in between is noticed. Anyone who could have written the pid could have named any process.
/// </summary>
public static class TrustedPidFile
{
    /// <summary>The pid; null when the file does not exist. Throws <see cref="UntrustedException"/> naming every problem.</summary>
    public static int? Read(string pidFile)
    {
        var full = Path.GetFullPath(pidFile);
        var dir = Path.GetDirectoryName(full) ?? "/";
        var realDir = DaemonLocality.RealPath(dir);
        if (realDir is null) return null;
        var path = Path.Combine(realDir, Path.GetFileName(full));
        var facts = Stat(path, follow: false);
        if (facts is null) return null;

        var euid = EffectiveUid();
        var problems = new List<string>();
        if (facts.IsSymlink)
            problems.Add($"it is a symbolic link (to {new FileInfo(path).LinkTarget}), owned by uid {facts.Uid}");
        else if (!facts.IsRegular)
            problems.Add("it is not a regular file");
        else
        {
            if (facts.Uid != 0 && facts.Uid != euid) problems.Add($"it is owned by uid {facts.Uid}, not by root");
            if ((facts.Mode & 0x12 /* 022 */) != 0) problems.Add($"others may write it (mode {Convert.ToString(facts.Mode & 0xFFF, 8)})");
        }
        for (var d = realDir; d is not null; d = Path.GetDirectoryName(d))
        {
            var df = Stat(d, follow: false);
            if (df is null) { problems.Add($"its folder {d} cannot be examined"); break; }
            if (df.Uid != 0 && df.Uid != euid) problems.Add($"its folder {d} is owned by uid {df.Uid}");
            if ((df.Mode & 0x12 /* 022 */) != 0 && (df.Mode & 0x200 /* 01000, sticky */) == 0) problems.Add($"others may write its folder {d} (mode {Convert.ToString(df.Mode & 0xFFF, 8)})");
        }
        if (problems.Count > 0) throw new UntrustedException(path, problems);

        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var opened = Stat(handle);
        if (opened is null || opened.Ino != facts.Ino || opened.DevMajor != facts.DevMajor || opened.DevMinor != facts.DevMinor || !opened.IsRegular)
            throw new UntrustedException(path, new[] { "it was replaced while it was being read" });
        var buffer = new byte[32];
        var n = RandomAccess.Read(handle, buffer, 0);
        var text = System.Text.Encoding.ASCII.GetString(buffer, 0, n).Trim();
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 1 ? pid : null;
    }

    public sealed class UntrustedException : Exception
    {
        public UntrustedException(string path, IReadOnlyList<string> problems)
            : base($"the pid file {path} is not trustworthy: {string.Join("; ", problems)}") { Problems = problems; }
        public IReadOnlyList<string> Problems { get; }
    }

    internal sealed record Facts(uint Uid, uint Mode, ulong Ino, uint DevMajor, uint DevMinor)
    {
        public bool IsSymlink => (Mode & 0xF000) == 0xA000;
        public bool IsRegular => (Mode & 0xF000) == 0x8000;
    }

    // statx(2): struct statx has the same layout on every architecture (unlike struct stat).
    private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int NativeStatx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint NativeGeteuid();

    public static uint EffectiveUid() => NativeGeteuid();

    internal static Facts? Stat(string path, bool follow) => Statx(AtFdCwd, path, follow ? 0 : AtSymlinkNoFollow);

    private static Facts? Stat(SafeFileHandle handle)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath);
        }
        finally { if (added) handle.DangerousRelease(); }
    }

    private static Facts? Statx(int dirfd, string path, int flags)
    {
        var b = new byte[256];
        if (NativeStatx(dirfd, path, flags, StatxBasicStats, b) != 0) return null;
        return new Facts(
            Uid: BitConverter.ToUInt32(b, 20),
            Mode: BitConverter.ToUInt16(b, 28),
            Ino: BitConverter.ToUInt64(b, 32),
            DevMajor: BitConverter.ToUInt32(b, 136),
            DevMinor: BitConverter.ToUInt32(b, 140));
    }
}
