using System.Security.Cryptography;
using System.Text;
using Ipv6Dind.Core.Files;
using Microsoft.Win32.SafeHandles;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// The cross-process locks of the module, so two rebuilds (a cron job and an admin, two timers) never interleave:
/// one per (Docker daemon, cluster), and one per daemon (<see cref="AcquireDaemonAsync"/>) that New-DindCluster holds
/// while it checks address overlap and creates the cluster's network, so of two concurrent creates with overlapping
/// prefixes exactly one wins.
/// <para>
/// Each lock is flock(2) on a file in the lock directory, taken through libc (not .NET's FileShare locking, which an
/// environment variable can switch off). The kernel drops it when its process dies, so a killed run never leaves a
/// stale lock. The holder writes "pid operation time" into the lock file itself, through the descriptor it locked:
/// there is no separate pid file, and nothing is ever written through a path.
/// </para>
/// <para>
/// Where locks live, and who shares them (the sharing model, also in README "Security model"):
/// <list type="bullet">
/// <item>root uses <see cref="SharedDirectory"/> (/run/ipv6dind; /run is writable by root only, so no other user can
/// make or replace it). Root creates it as root:docker, mode 3770 (setgid, sticky): members of the docker group - who
/// can drive the daemon anyway - share root's locks; nobody else can enter it.</item>
/// <item>a user who is not root uses the same directory when it exists (a docker-group admin and root's cron job then
/// exclude each other); when it does not exist, the lock fails with HostLockFailed and says how to create it, rather
/// than lock somewhere root would not look.</item>
/// <item><see cref="DirectoryVariable"/> names another directory (a rootless daemon of one's own, tests); it must
/// belong to root or to the running user.</item>
/// </list>
/// Lock files are opened with O_NOFOLLOW and checked to be regular files: a link planted in the directory is
/// refused with HostPathUnsafe, never followed. Remove-DindCluster deletes the cluster's lock file while holding it
/// (a waiter that then gets the deleted file notices and retries on the new one).
/// </para>
/// </summary>
public sealed class ClusterLock : IDisposable
{
    public const string SharedDirectory = "/run/ipv6dind";
    public const string DirectoryVariable = "IPV6DIND_LOCK_DIR";
    private const UnixFileMode LockFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    private readonly SecureDirectory _directory;
    private readonly SafeFileHandle _file;
    private readonly string _name;
    private bool _disposed;

    private ClusterLock(SecureDirectory directory, SafeFileHandle file, string name)
    {
        _directory = directory;
        _file = file;
        _name = name;
    }

    /// <summary>The lock file's full path.</summary>
    public string Path => _directory.Child(_name);

    /// <summary>A short, file-name-safe key for a daemon's ID (Docker's IDs contain ':').</summary>
    public static string DaemonKey(string daemonId) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(daemonId)))[..16].ToLowerInvariant();

    /// <summary>The lock file name of a cluster on a daemon, and of the daemon itself.</summary>
    public static string FileName(string daemonId, string? cluster) =>
        cluster is null ? $"{DaemonKey(daemonId)}.daemon.lock" : $"{DaemonKey(daemonId)}.{cluster}.lock";

    /// <summary>Takes the cluster's lock, polling until <paramref name="wait"/> has passed; then ClusterLocked naming the holder.</summary>
    public static Task<ClusterLock> AcquireAsync(string daemonId, string cluster, string operation, TimeSpan wait, CancellationToken ct, string? directory = null)
    {
        // The name becomes a file name: only a valid cluster name (no '/', no "..") gets this far.
        LabInput.ClusterName(cluster);
        return AcquireCoreAsync(daemonId, cluster, operation, wait, ct, directory);
    }

    /// <summary>The daemon-wide lock (address-overlap check and network creation of New-DindCluster).</summary>
    public static Task<ClusterLock> AcquireDaemonAsync(string daemonId, string operation, TimeSpan wait, CancellationToken ct, string? directory = null) =>
        AcquireCoreAsync(daemonId, null, operation, wait, ct, directory);

    private static async Task<ClusterLock> AcquireCoreAsync(string daemonId, string? cluster, string operation, TimeSpan wait, CancellationToken ct, string? directory)
    {
        var dir = OpenDirectory(directory);
        var name = FileName(daemonId, cluster);
        var what = cluster is null ? "The Docker daemon's address lock" : $"Cluster '{cluster}'";
        var deadline = DateTime.UtcNow + wait;
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var (file, writable) = OpenLockFile(dir, name);
                var errno = Libc.Flock(file, Libc.LockEx | Libc.LockNb);
                if (errno == 0)
                {
                    // Deleted or replaced since we opened it (Remove-DindCluster removes a cluster's lock file while
                    // holding it): this inode no longer guards anything; take the file that is there now.
                    if (Libc.Stat(dir.Handle, name, out _) is not { } now || !now.SameFile(Libc.StatHandle(file)))
                    {
                        file.Dispose();
                        continue;
                    }
                    if (writable) WriteHolder(file, $"{Environment.ProcessId} {operation} {DateTimeOffset.UtcNow:O}\n");
                    return new ClusterLock(dir, file, name);
                }
                var holder = Holder(ReadHolder(file));
                file.Dispose();
                if (errno != Libc.EWouldBlock)
                    throw new DindException(ErrorIds.HostLockFailed, DindErrorCategory.ResourceUnavailable,
                        $"Cannot lock {dir.Child(name)}: {Libc.Message(errno)}.", dir.Child(name), null,
                        $"Check the lock directory {dir.Path} (its file system must support flock).");
                if (DateTime.UtcNow >= deadline)
                    throw new DindException(ErrorIds.ClusterLocked, DindErrorCategory.ResourceBusy,
                        $"{what} is locked by {holder} (lock {dir.Child(name)}); waited {wait.TotalSeconds:0} s.", cluster ?? dir.Child(name), null,
                        "Wait for that run to finish, or pass a longer -LockTimeoutSec. The lock goes away by itself when its process ends.");
                await Task.Delay(TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(false);
            }
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens (or creates) the lock file without following links. Root may not be able to open another user's file
    /// for writing; then it is opened for reading (enough for flock) and the holder is not written.
    /// </summary>
    private static (SafeFileHandle File, bool Writable) OpenLockFile(SecureDirectory dir, string name)
    {
        while (true)
        {
            // Existing file first: O_CREAT on another user's file in a sticky group-writable directory is refused
            // by the kernel (fs.protected_regular), even for root.
            var file = Libc.OpenAt(dir.Handle, name, Libc.ORdWr | Libc.ONoFollow | Libc.ONoCtty, 0, out var errno);
            var writable = true;
            if (file.IsInvalid && errno == Libc.EAcces)
            {
                file.Dispose();
                file = Libc.OpenAt(dir.Handle, name, Libc.ORdOnly | Libc.ONoFollow | Libc.ONoCtty, 0, out errno);
                writable = false;
            }
            if (file.IsInvalid && errno == Libc.ENoEnt)
            {
                file.Dispose();
                file = Libc.OpenAt(dir.Handle, name, Libc.ORdWr | Libc.OCreat | Libc.OExcl | Libc.ONoFollow | Libc.ONoCtty, (uint)LockFileMode, out errno);
                if (file.IsInvalid && errno == Libc.EExist) { file.Dispose(); continue; }   // another run created it first
                writable = true;
                if (!file.IsInvalid) Libc.Fchmod(file, (uint)LockFileMode);              // exactly, whatever the umask
            }
            if (file.IsInvalid)
            {
                file.Dispose();
                if (errno == Libc.ELoop)
                    throw new DindException(ErrorIds.HostPathUnsafe, DindErrorCategory.SecurityError,
                        $"The lock file {dir.Child(name)} is a symbolic link. Someone other than the module put it there; it is not followed.",
                        dir.Child(name), null, $"Remove it (rm {dir.Child(name)}) after finding out who made it; lock files are plain files the module makes.");
                throw new DindException(errno == Libc.EAcces ? ErrorIds.HostPermissionDenied : ErrorIds.HostLockFailed,
                    errno == Libc.EAcces ? DindErrorCategory.PermissionDenied : DindErrorCategory.ResourceUnavailable,
                    $"Cannot open the lock file {dir.Child(name)}: {Libc.Message(errno)}.", dir.Child(name), null,
                    $"The lock directory {dir.Path} is shared by root and the docker group; run as root or as a member of the group that owns it.");
            }
            var facts = Libc.StatHandle(file);
            if (!facts.IsRegular)
            {
                file.Dispose();
                throw new DindException(ErrorIds.HostPathUnsafe, DindErrorCategory.SecurityError,
                    $"The lock file {dir.Child(name)} is not a regular file. Someone other than the module put it there.",
                    dir.Child(name), null, $"Remove it (rm {dir.Child(name)}) after finding out who made it.");
            }
            // A hard link shares its inode with another file: never write into that (flock on it is harmless).
            return (file, writable && facts.Links == 1);
        }
    }

    /// <summary>
    /// The lock directory: <paramref name="directory"/>, else <see cref="DirectoryVariable"/>, else
    /// <see cref="SharedDirectory"/> (made by root on first use). Fails with HostLockFailed when it is missing for a
    /// user who may not make it, and HostPathUnsafe when its owner or mode would let others replace lock files.
    /// </summary>
    public static SecureDirectory OpenDirectory(string? directory = null)
    {
        var chosen = directory ?? Environment.GetEnvironmentVariable(DirectoryVariable);
        if (!string.IsNullOrEmpty(chosen))
        {
            var own = SecureDirectory.Open(chosen, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            if (!SecureDirectory.IsTrusted(own.OwnerId))
            {
                own.Dispose();
                throw new DindException(ErrorIds.HostPathUnsafe, DindErrorCategory.SecurityError,
                    $"The lock directory {chosen} belongs to user {own.OwnerId}, neither root nor this user.", chosen, DirectoryVariable,
                    $"Point {DirectoryVariable} at a folder of your own, or unset it to use {SharedDirectory}.");
            }
            return own;
        }
        if (Libc.GetEuid() == 0) return OpenSharedAsRoot();
        SecureDirectory shared;
        try { shared = SecureDirectory.Open(SharedDirectory); }
        catch (IOException e)
        {
            throw new DindException(ErrorIds.HostLockFailed, DindErrorCategory.ResourceUnavailable,
                $"The shared lock directory {SharedDirectory} is not usable by this user ({e.Message}). Root creates it on its first lab command.",
                SharedDirectory, null,
                $"As root: install -d -m 3770 -o root -g docker {SharedDirectory} (or run any lab command once as root); " +
                $"with a Docker daemon of your own (rootless), set {DirectoryVariable} to a folder of yours.", e);
        }
        CheckShared(shared);
        return shared;
    }

    private static SecureDirectory OpenSharedAsRoot()
    {
        const UnixFileMode rootOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        var created = !Directory.Exists(SharedDirectory);
        var dir = SecureDirectory.Open(SharedDirectory, rootOnly);
        if (created && dir.OwnerId == 0)
        {
            // root:docker 3770: the docker group shares the locks (it can drive the daemon anyway); sticky, so a
            // member cannot remove root's lock file; setgid, so new lock files belong to the group.
            if (Libc.GroupId("docker") is { } docker) Libc.Fchown(dir.Handle, 0, docker);
            Libc.Fchmod(dir.Handle, Convert.ToUInt32("3770", 8));   // S_ISGID | S_ISVTX | rwxrwx---
            dir.Dispose();
            dir = SecureDirectory.Open(SharedDirectory);
        }
        CheckShared(dir);
        return dir;
    }

    private static void CheckShared(SecureDirectory dir)
    {
        // Only root may own it, and no one outside its group may write it.
        if (dir.OwnerId != 0 || (dir.Permissions & 0x2) != 0)
        {
            dir.Dispose();
            throw new DindException(ErrorIds.HostPathUnsafe, DindErrorCategory.SecurityError,
                $"The lock directory {SharedDirectory} belongs to user {dir.OwnerId} with mode {Convert.ToString(dir.Permissions, 8)}; it must belong to root and not be writable by everyone.",
                SharedDirectory, null, $"As root: rm -r {SharedDirectory} (the next lab command recreates it), after finding out who made it.");
        }
    }

    private static void WriteHolder(SafeFileHandle file, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        using var stream = new FileStream(new SafeFileHandle(file.DangerousGetHandle(), ownsHandle: false), FileAccess.ReadWrite);
        stream.SetLength(0);
        stream.Write(bytes);
    }

    private static string ReadHolder(SafeFileHandle file)
    {
        try
        {
            var buffer = new byte[256];
            var n = RandomAccess.Read(file, buffer, 0);
            return Encoding.UTF8.GetString(buffer, 0, n);
        }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    /// <summary>Who holds a lock, from what the holder wrote: "process 1234 (Reset-DindCluster since …)".</summary>
    public static string Holder(string written)
    {
        var parts = written.Trim().Split(' ', 3);
        if (parts.Length >= 2 && int.TryParse(parts[0], out var pid))
        {
            var alive = Directory.Exists($"/proc/{pid}");
            return alive
                ? $"process {pid} ({parts[1]}{(parts.Length > 2 ? " since " + parts[2] : "")})"
                : $"another process (the lock names {pid}, which has ended; the holder may run in another PID namespace)";
        }
        return "another process";
    }

    /// <summary>Removes the lock file while holding it (Remove-DindCluster: nothing of the cluster is left).</summary>
    public void DeleteFile()
    {
        if (Libc.Stat(_directory.Handle, _name, out _) is { } now && now.SameFile(Libc.StatHandle(_file)))
            _directory.Delete(_name);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _file.Dispose();     // closing the last descriptor releases the flock
        _directory.Dispose();
    }
}
