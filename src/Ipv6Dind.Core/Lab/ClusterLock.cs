namespace Ipv6Dind.Core.Lab;

/// <summary>
/// A cross-process lock per cluster, so two rebuilds (a cron job and an admin, two timers) never interleave.
/// It is an advisory flock(2) on /run/lock/ipv6dind/&lt;cluster&gt;.lock (.NET takes LOCK_EX for FileShare.None on
/// Unix), so the kernel releases it when its process dies: a lock left by a killed process is never "stale" in
/// the sense of blocking anyone. A sidecar .pid file names the holder for the error message; a pid file whose
/// process is gone is reported as such and ignored.
/// </summary>
public sealed class ClusterLock : IDisposable
{
    private readonly FileStream _stream;
    private readonly string _pidFile;

    private ClusterLock(FileStream stream, string pidFile)
    {
        _stream = stream;
        _pidFile = pidFile;
    }

    /// <summary>Where locks live: /run/lock/ipv6dind (made sticky and world-writable), else under the user's runtime or temp directory.</summary>
    public static string DefaultDirectory()
    {
        foreach (var candidate in new[] { "/run/lock", Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR"), Path.GetTempPath() })
        {
            if (string.IsNullOrEmpty(candidate) || !Directory.Exists(candidate)) continue;
            var dir = Path.Combine(candidate, "ipv6dind");
            try
            {
                // Sticky and world-writable like /run/lock itself: root's cron job and an admin in the docker group share it.
                if (!Directory.Exists(dir) && !OperatingSystem.IsWindows())
                    Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute | UnixFileMode.StickyBit);
                return dir;
            }
            catch (UnauthorizedAccessException) { }
            catch (IOException) { }
        }
        return Path.Combine(Path.GetTempPath(), "ipv6dind");
    }

    /// <summary>Takes the lock, polling until <paramref name="wait"/> has passed; then ClusterLocked naming the holder.</summary>
    public static async Task<ClusterLock> AcquireAsync(string cluster, string operation, TimeSpan wait, CancellationToken ct, string? directory = null)
    {
        // The name becomes a file name: only a valid cluster name (no '/', no "..") gets this far.
        LabInput.ClusterName(cluster);
        directory ??= DefaultDirectory();
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, cluster + ".lock");
        var pidFile = Path.Combine(directory, cluster + ".pid");
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                // Read access is enough for flock, and lets another user take a lock file root created earlier.
                var open = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.Read, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                    open.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
                var stream = new FileStream(path, open);
                try
                {
                    File.WriteAllText(pidFile, $"{Environment.ProcessId} {operation} {DateTimeOffset.UtcNow:O}\n");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The holder's name is only for messages; release the lock at once rather than hold it unnamed.
                    stream.Dispose();
                    throw new DindException(ErrorIds.HostPermissionDenied, DindErrorCategory.PermissionDenied,
                        $"Cannot write {pidFile} beside the cluster's lock: {e.Message}", pidFile, null,
                        $"Make {directory} writable for this user, or run as the user who owns it.", e);
                }
                return new ClusterLock(stream, pidFile);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new DindException(ErrorIds.HostPermissionDenied, DindErrorCategory.PermissionDenied,
                    $"Cannot open the lock file {path}: {e.Message}", path, null,
                    $"Make {directory} writable for this user (it is shared by every user of the module), or run as its owner.", e);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(false);
            }
            catch (IOException)
            {
                throw new DindException(ErrorIds.ClusterLocked, DindErrorCategory.ResourceBusy,
                    $"Cluster '{cluster}' is locked by {Holder(pidFile)} (lock {path}); waited {wait.TotalSeconds:0} s.", cluster, null,
                    "Wait for that run to finish, or pass a longer -LockTimeoutSec. The lock goes away by itself when its process ends.");
            }
        }
    }

    /// <summary>Who holds a lock, from the pid file: "process 1234 (Reset-DindCluster since …)".</summary>
    public static string Holder(string pidFile)
    {
        try
        {
            var parts = File.ReadAllText(pidFile).Trim().Split(' ', 3);
            if (parts.Length >= 2 && int.TryParse(parts[0], out var pid))
            {
                var alive = Directory.Exists($"/proc/{pid}");
                return alive
                    ? $"process {pid} ({parts[1]}{(parts.Length > 2 ? " since " + parts[2] : "")})"
                    : $"another process (the pid file names {pid}, which has ended)";
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "another process";
    }

    public void Dispose()
    {
        try { File.Delete(_pidFile); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        _stream.Dispose();
    }
}
