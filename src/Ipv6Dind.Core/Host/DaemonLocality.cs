using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Host;

/// <summary>
/// Whether the daemon behind an endpoint runs on this host, and what was checked. <see cref="DaemonPid"/>: the
/// dockerd that holds the endpoint's socket, when proven.
/// </summary>
public sealed record DaemonLocalityResult(bool IsLocal, string Endpoint, int? DaemonPid, string Evidence)
{
    public override string ToString() => Evidence;
}

/// <summary>
/// Decides locality by identity, not by scheme: a unix socket path may be a forward (ssh -L /tmp/docker.sock:...,
/// socat) to a daemon on another machine, and host rules and routes made "for" it would land on this one.
/// <list type="bullet">
/// <item>tcp:// is never local (the daemon behind a port cannot be identified).</item>
/// <item>unix://path is local only when the listening socket bound at that path (/proc/net/unix, flag
/// __SO_ACCEPTCON) is held (/proc/&lt;pid&gt;/fd/* → socket:[inode]) by a process whose executable
/// (/proc/&lt;pid&gt;/exe) is named dockerd and which shares this process's network namespace (/proc/&lt;pid&gt;/ns/net),
/// where host rules and routes are made. Other holders are allowed only when they are pid 1 (systemd's socket
/// activation). When the answering process is known (SO_PEERCRED of a connection), only the socket it holds counts.</item>
/// </list>
/// Where /proc cannot be read (an unprivileged caller cannot read root's fds or exe link), the answering process
/// (SO_PEERCRED) counts as the holder and its argv[0] (/proc/&lt;pid&gt;/cmdline) names it; such a caller cannot make
/// host-side changes anyway.
/// </summary>
public sealed class DaemonLocality
{
    private const long AcceptConnections = 0x10000;     // __SO_ACCEPTCON in /proc/net/unix Flags: a listening socket

    private readonly string _root;
    private readonly Func<string, int?> _peerPid;
    private readonly bool _realRoot;

    /// <param name="root">Test seam: where proc/ is (a fake tree in tests).</param>
    /// <param name="peerPid">Test seam: the pid of the process answering at a socket path; default SO_PEERCRED on the
    /// real root, nothing on a fake one.</param>
    public DaemonLocality(string root = "/", Func<string, int?>? peerPid = null)
    {
        _root = root;
        _realRoot = root == "/";
        _peerPid = peerPid ?? (_realRoot ? PeerCredentialPid : _ => null);
    }

    /// <summary>The decision for this host's /proc.</summary>
    public static DaemonLocalityResult Check(string endpoint) => new DaemonLocality().Decide(endpoint);

    public DaemonLocalityResult Decide(string endpoint)
    {
        // A dockerd forking a child (iptables, containerd-shim, docker-proxy) lends the child its descriptors until the
        // child's exec closes them (close-on-exec): a scan at that moment sees a second holder that is gone a few
        // milliseconds later. A holder besides dockerd must still be there on a fresh scan before it counts.
        var result = DecideOnce(endpoint, out var transient);
        for (var attempt = 0; transient && attempt < 5; attempt++)
        {
            Thread.Sleep(20 * (attempt + 1));
            result = DecideOnce(endpoint, out transient);
        }
        return result;
    }

    private DaemonLocalityResult DecideOnce(string endpoint, out bool otherHolders)
    {
        otherHolders = false;
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
            return No(endpoint, "it is not a URL");
        if (!string.Equals(uri.Scheme, "unix", StringComparison.OrdinalIgnoreCase))
            return No(endpoint, $"{uri.Scheme}:// endpoints are never taken for this host: the daemon behind a port cannot be identified");
        var path = uri.AbsolutePath;

        var entries = ListeningSockets(path);
        if (entries.Count == 0)
            return No(endpoint, $"no process in this network namespace listens on {path} (/proc/net/unix)");
        var holders = Holders(entries.Select(e => e.Inode).ToHashSet());
        var peer = _peerPid(path);
        var chosen = entries;
        var unprivileged = false;
        if (peer is int p)
        {
            chosen = entries.Where(e => holders.TryGetValue(e.Inode, out var h) && h.Contains(p)).ToList();
            if (chosen.Count == 0)
            {
                if (entries.Count == 1 && !holders.ContainsKey(entries[0].Inode))
                {
                    // The holders cannot be seen (another user's fds): the process that answered is the evidence.
                    chosen = entries;
                    holders[entries[0].Inode] = new List<int> { p };
                    unprivileged = true;
                }
                else
                    return No(endpoint, $"the process answering at {path} ({Describe(p)}) holds no listening socket bound there");
            }
        }

        int? daemon = null;
        foreach (var entry in chosen)
        {
            if (!holders.TryGetValue(entry.Inode, out var pids) || pids.Count == 0)
                return No(endpoint, $"which process holds the socket listening on {path} (inode {entry.Inode}) cannot be read from /proc; run as root");
            var dockerds = pids.Where(IsDockerdHere).ToList();
            // A child of dockerd between fork and exec holds dockerd's descriptors by inheritance, not as a relay.
            var others = pids.Where(x => x != 1 && !dockerds.Contains(x) && !(ParentPid(x) is int parent && dockerds.Contains(parent))).ToList();
            if (dockerds.Count == 0)
                return No(endpoint, $"{path} is served by {string.Join(", ", pids.Select(Describe))}, not by a dockerd of this host: a relay or forward to a daemon elsewhere");
            if (others.Count > 0)
            {
                otherHolders = true;
                return No(endpoint, $"{path} is held by {string.Join(", ", others.Select(Describe))} besides dockerd");
            }
            daemon ??= dockerds[0];
        }
        return new DaemonLocalityResult(true, endpoint, daemon,
            $"{path} is served by {Describe(daemon!.Value)} in this host's network namespace{(unprivileged ? " (unprivileged view: its command line)" : "")}");
    }

    /// <summary>The parent pid of /proc/&lt;pid&gt;/stat (the field after the state, behind the last ')' of the name);
    /// null when the process is gone or unreadable.</summary>
    private int? ParentPid(int pid)
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(_root, $"proc/{pid}/stat"));
            var fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent)) return parent;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>The process's executable is dockerd (exe link; its argv[0] when the link cannot be read).</summary>
    public bool IsDockerd(int pid) => ExecutableName(pid) == "dockerd";

    /// <summary>dockerd, in this network namespace (unknown counts only when the exe link was unreadable as well).</summary>
    private bool IsDockerdHere(int pid)
    {
        if (!IsDockerd(pid)) return false;
        var mine = ReadLink("proc/self/ns/net");
        var its = ReadLink($"proc/{pid}/ns/net");
        if (mine is not null && its is not null) return mine == its;
        return ReadLink($"proc/{pid}/exe") is null;     // nothing of the process is readable: the unprivileged view
    }

    /// <summary>"dockerd (pid 12, /usr/sbin/dockerd)", "socat (pid 13, ...)", for messages.</summary>
    public string Describe(int pid)
    {
        var exe = Exe(pid);
        var argv0 = Argv(pid).FirstOrDefault();
        var name = ExecutableName(pid) ?? "an unknown process";
        var where = exe ?? argv0;
        var netns = ReadLink($"proc/{pid}/ns/net") is { } ns && ReadLink("proc/self/ns/net") is { } mine && ns != mine ? ", in another network namespace" : "";
        return $"{name} (pid {pid.ToString(CultureInfo.InvariantCulture)}{(where is null ? "" : ", " + where)}{netns})";
    }

    /// <summary>Basename of /proc/&lt;pid&gt;/exe (" (deleted)" dropped); of argv[0] when the link is unreadable.</summary>
    public string? ExecutableName(int pid)
    {
        var exe = Exe(pid) ?? Argv(pid).FirstOrDefault();
        return exe is null ? null : Path.GetFileName(exe);
    }

    private string? Exe(int pid)
    {
        var exe = ReadLink($"proc/{pid}/exe");
        const string deleted = " (deleted)";
        return exe is not null && exe.EndsWith(deleted, StringComparison.Ordinal) ? exe[..^deleted.Length] : exe;
    }

    public IReadOnlyList<string> Argv(int pid)
    {
        try { return File.ReadAllText(Path.Combine(_root, $"proc/{pid}/cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return Array.Empty<string>(); }
    }

    private sealed record UnixSocket(long Inode, string Path);

    /// <summary>Listening sockets bound at <paramref name="path"/> (the same file reached through symbolic links counts too).</summary>
    private List<UnixSocket> ListeningSockets(string path)
    {
        var wanted = Canonical(path);
        var result = new List<UnixSocket>();
        string[] lines;
        try { lines = File.ReadAllLines(Path.Combine(_root, "proc/net/unix")); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return result; }
        foreach (var line in lines.Skip(1))
        {
            // Num RefCount Protocol Flags Type St Inode Path
            var f = line.Split(' ', 8, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8 || !f[7].StartsWith('/')) continue;
            if (!long.TryParse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags) || (flags & AcceptConnections) == 0) continue;
            if (!long.TryParse(f[6], NumberStyles.None, CultureInfo.InvariantCulture, out var inode)) continue;
            var bound = f[7].TrimEnd();
            if (bound == path || Canonical(bound) == wanted) result.Add(new UnixSocket(inode, bound));
        }
        return result;
    }

    /// <summary>inode → the pids with an fd on that socket (only what this process may read).</summary>
    private Dictionary<long, List<int>> Holders(HashSet<long> inodes)
    {
        var result = new Dictionary<long, List<int>>();
        IEnumerable<string> dirs;
        try { dirs = Directory.EnumerateDirectories(Path.Combine(_root, "proc")).ToList(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return result; }
        foreach (var dir in dirs)
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")))
                {
                    var target = new FileInfo(fd).LinkTarget;
                    if (target is null || !target.StartsWith("socket:[", StringComparison.Ordinal) || !target.EndsWith(']')) continue;
                    if (!long.TryParse(target.AsSpan(8, target.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out var inode) || !inodes.Contains(inode)) continue;
                    if (!result.TryGetValue(inode, out var list)) result[inode] = list = new List<int>();
                    if (!list.Contains(pid)) list.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }    // gone, or not ours to read
        }
        return result;
    }

    private string? ReadLink(string relative)
    {
        try { return new FileInfo(Path.Combine(_root, relative)).LinkTarget; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>realpath(3) on this host; the path as given on a fake root or when it does not resolve.</summary>
    private string Canonical(string path) => _realRoot ? RealPath(path) ?? path : path;

    [DllImport("libc", EntryPoint = "realpath", SetLastError = true)]
    private static extern IntPtr NativeRealPath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc", EntryPoint = "free")]
    private static extern void NativeFree(IntPtr pointer);

    /// <summary>The path with every symbolic link resolved; null when it does not exist.</summary>
    public static string? RealPath(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var p = NativeRealPath(path, IntPtr.Zero);
        if (p == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { NativeFree(p); }
    }

    /// <summary>The pid of the process that listens at a unix socket (SO_PEERCRED of a connection); null when unknown.</summary>
    public static int? PeerCredentialPid(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            var ucred = new byte[12];                       // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
            const int SolSocket = 1, SoPeerCred = 17;       // asm-generic values (x86-64, arm64)
            var n = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
            var pid = n >= 4 ? BitConverter.ToInt32(ucred, 0) : 0;
            return pid > 0 ? pid : null;                    // 0: the listener is in a pid namespace this one cannot see
        }
        catch (Exception ex) when (ex is SocketException or IOException or UnauthorizedAccessException or ArgumentException) { return null; }
    }

    private static DaemonLocalityResult No(string endpoint, string why) => new(false, endpoint, null, why);

    /// <summary>The refusal for host-side work when the daemon is not provably this host's.</summary>
    public static DindException NotLocal(DaemonLocalityResult locality, string what, object target, string? parameterName) =>
        new(ErrorIds.RemoteDockerHost, DindErrorCategory.InvalidOperation,
            $"{(parameterName is null ? "" : parameterName + ": ")}{what} would change this machine, but the Docker daemon at {locality.Endpoint} " +
            $"is not provably this machine's: {locality.Evidence}. The rules and routes belong on the Docker host.",
            target, parameterName,
            "Run the cmdlet on the Docker host itself, as root, against dockerd's own socket (DOCKER_HOST unset or unix:///var/run/docker.sock), " +
            "or leave AAAA mode and host routes out for a daemon elsewhere.");
}
