using System.Diagnostics;
using Ipv6Dind.Core.Files;
using KubeconfigFile = Ipv6Dind.Core.Kubernetes.Kubeconfig;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Core.Tests.Security;

/// <summary>
/// What an unprivileged local user can plant for a root run, tried as that user (nobody, through runuser): links
/// and files in directories others can write, and the old lock directory under /run/lock. Each test checks the root
/// owned victim file afterwards. These tests need root (the module's unattended use) and fail without it.
/// </summary>
[Collection("planted paths")]
public sealed class PlantedPathTests : IDisposable
{
    private const string VictimText = "root's file: must never change\n";
    private readonly string _root;
    private readonly string _victim;
    private readonly string _shared;

    public PlantedPathTests()
    {
        Assert.True(Environment.IsPrivilegedProcess, "these tests plant files as nobody and write as root: run them as root (tests/run does)");
        _root = Directory.CreateTempSubdirectory("ipv6dind-planted-").FullName;
        File.SetUnixFileMode(_root, (UnixFileMode)Convert.ToInt32("755", 8));
        _victim = Path.Combine(_root, "victim");
        File.WriteAllText(_victim, VictimText);
        File.SetUnixFileMode(_victim, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        // A directory like /tmp: world-writable and sticky.
        _shared = Path.Combine(_root, "shared");
        Directory.CreateDirectory(_shared);
        File.SetUnixFileMode(_shared, (UnixFileMode)Convert.ToInt32("1777", 8));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Runs a command as nobody (no shell); fails the test when it fails.</summary>
    private static void AsNobody(params string[] argv)
    {
        var start = new ProcessStartInfo("/usr/sbin/runuser") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-u", "nobody", "--" }.Concat(argv)) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"as nobody: {string.Join(' ', argv)} failed: {err}");
    }

    private const string Kubeconfig = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: lab
          cluster:
            server: https://[::1]:6443
        users:
        - name: admin
          user: {}
        contexts:
        - name: ipv6dind-lab
          context:
            cluster: lab
            user: admin
        current-context: ipv6dind-lab
        """;

    private void AssertVictimUntouched()
    {
        Assert.Equal(VictimText, File.ReadAllText(_victim));
        var facts = new FileInfo(_victim);
        Assert.Null(facts.LinkTarget);
    }

    [Fact]
    public void ALinkPlantedInAWorldWritableFolderIsNeverWrittenThrough()
    {
        var link = Path.Combine(_shared, "kubeconfig");
        AsNobody("/bin/ln", "-s", _victim, link);
        using var dir = SecureDirectory.Open(_shared);
        var e = Assert.Throws<DindException>(() => dir.WriteFile("kubeconfig", "apiVersion: v1\n", UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.Equal(ErrorIds.HostPathUnsafe, e.ErrorId);
        Assert.Contains("symbolic link", e.Message);
        AssertVictimUntouched();
        Assert.NotNull(new FileInfo(link).LinkTarget);   // the link itself is left for the admin to look at
    }

    [Fact]
    public void AnotherUsersFileInAWorldWritableFolderIsRefused()
    {
        var planted = Path.Combine(_shared, "export.yaml");
        AsNobody("/usr/bin/touch", planted);
        using var dir = SecureDirectory.Open(_shared);
        var e = Assert.Throws<DindException>(() => dir.WriteFile("export.yaml", "x", UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.Equal(ErrorIds.HostPathUnsafe, e.ErrorId);
        Assert.Contains("belongs to user 65534", e.Message);
    }

    [Fact]
    public void GetDindKubeconfigPathRefusesALinkPlantedByAnotherUser()
    {
        // Get-DindKubeconfig -Path /tmp/…/config: root's admin.conf must not be renamed over the link's target.
        var link = Path.Combine(_shared, "config");
        AsNobody("/bin/ln", "-s", _victim, link);
        var e = Assert.Throws<DindException>(() => KubeconfigFile.WriteFile(link, Kubeconfig));
        Assert.Equal(ErrorIds.HostPathUnsafe, e.ErrorId);
        AssertVictimUntouched();
    }

    [Fact]
    public void AFolderOfAnotherUserInAWorldWritableFolderIsRefusedForExports()
    {
        // Export-DindLog ./logs where ./logs/<container> was made by someone else beforehand.
        AsNobody("/bin/mkdir", Path.Combine(_shared, "node-1"));
        using var dir = SecureDirectory.Open(_shared);
        var e = Assert.Throws<DindException>(() => dir.Subdirectory("node-1", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
        Assert.Equal(ErrorIds.HostPathUnsafe, e.ErrorId);
        AsNobody("/bin/ln", "-s", _root, Path.Combine(_shared, "node-2"));
        Assert.Equal(ErrorIds.HostPathUnsafe, Assert.Throws<DindException>(() => dir.Subdirectory("node-2", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)).ErrorId);
    }

    [Fact]
    public void ALinkInAFolderOnlyItsOwnerCanWriteIsFollowedAndStaysALink()
    {
        // ~/.kube/config managed as a dotfile link: put there by the owner, so it is followed.
        var own = Path.Combine(_root, "own");
        Directory.CreateDirectory(own);
        File.SetUnixFileMode(own, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var target = Path.Combine(own, "real-config");
        File.WriteAllText(target, "old");
        File.CreateSymbolicLink(Path.Combine(own, "config"), target);
        using var dir = SecureDirectory.Open(own);
        Assert.Equal(target, dir.WriteFile("config", "new", UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal(target, new FileInfo(Path.Combine(own, "config")).LinkTarget);
    }

    [Fact]
    public void ARelativeLinkIsReadThroughTheFolderAndResolvedAgainstIt()
    {
        // dotfile managers often store relative targets (config -> ../dotfiles/kube-config).
        var own = Path.Combine(_root, "own-rel", "kube");
        var dotfiles = Path.Combine(_root, "own-rel", "dotfiles");
        Directory.CreateDirectory(own);
        Directory.CreateDirectory(dotfiles);
        foreach (var d in new[] { own, dotfiles, Path.GetDirectoryName(own)! })
            File.SetUnixFileMode(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var target = Path.Combine(dotfiles, "kube-config");
        File.WriteAllText(target, "old");
        File.CreateSymbolicLink(Path.Combine(own, "config"), "../dotfiles/kube-config");
        using var dir = SecureDirectory.Open(own);
        Assert.Equal(target, dir.WriteFile("config", "new", UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal("../dotfiles/kube-config", new FileInfo(Path.Combine(own, "config")).LinkTarget);
    }

    [Fact]
    public void AWriteIsAtomicAndHasItsModeFromTheStart()
    {
        using var dir = SecureDirectory.Open(Path.Combine(_root, "new", "deeper"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        dir.WriteFile("secret", "key", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir.Path, "secret")));
        Assert.Equal(new[] { "secret" }, Directory.GetFiles(dir.Path).Select(Path.GetFileName));   // no temp file left
        Assert.Throws<FileExistsException>(() => dir.WriteFile("secret", "other", UnixFileMode.UserRead, overwrite: false));
    }

    [Fact]
    public async Task ALockFileLinkPlantedInTheLockFolderIsRefusedNotFollowed()
    {
        // The lock folder is shared (here: world-writable and sticky, worse than the real root:docker 3770).
        var name = ClusterLock.FileName("daemon-1", "lab");
        AsNobody("/bin/ln", "-s", _victim, Path.Combine(_shared, name));
        var e = await Assert.ThrowsAsync<DindException>(() => ClusterLock.AcquireAsync("daemon-1", "lab", "Reset-DindCluster", TimeSpan.Zero, CancellationToken.None, _shared));
        Assert.Equal(ErrorIds.HostPathUnsafe, e.ErrorId);
        AssertVictimUntouched();
    }

    [Fact]
    public async Task TheOld0_3AttackThroughRunLockNoLongerReachesAnyFile()
    {
        // 0.3 kept its locks in /run/lock/ipv6dind and a separate lab.pid: a user who made that folder first could
        // plant lab.pid -> /etc/shadow. Root's locks now live in /run/ipv6dind, which only root can create.
        const string old = "/run/lock/ipv6dind";
        var madeOld = false;
        if (Directory.Exists("/run/lock") && !Directory.Exists(old))
        {
            AsNobody("/bin/mkdir", old);
            madeOld = true;
        }
        try
        {
            if (madeOld) AsNobody("/bin/ln", "-s", _victim, Path.Combine(old, "lab.pid"));
            Assert.False(Directory.Exists("/run/ipv6dind") && new DirectoryInfo("/run/ipv6dind").LinkTarget is not null);
            using (var held = await ClusterLock.AcquireAsync("daemon-planted", "lab", "New-DindCluster", TimeSpan.Zero, CancellationToken.None))
            {
                Assert.StartsWith(ClusterLock.SharedDirectory + "/", held.Path);
                held.DeleteFile();
            }
            AssertVictimUntouched();
            var shared = new DirectoryInfo(ClusterLock.SharedDirectory);
            Assert.Null(shared.LinkTarget);
            // Nobody else may create entries in it.
            Assert.Equal((UnixFileMode)0, shared.UnixFileMode & UnixFileMode.OtherWrite);
        }
        finally
        {
            if (madeOld) Directory.Delete(old, recursive: true);
        }
    }

    [Fact]
    public void NobodyCannotCreateTheSharedLockFolderFirst()
    {
        // /run is writable by root only: the folder root's locks live in cannot be made (or replaced) by another user.
        var start = new ProcessStartInfo("/usr/sbin/runuser") { RedirectStandardError = true };
        foreach (var a in new[] { "-u", "nobody", "--", "/bin/mkdir", "/run/ipv6dind-probe-" + Guid.NewGuid().ToString("N")[..8] }) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        p.WaitForExit();
        Assert.NotEqual(0, p.ExitCode);
    }

    [Fact]
    public async Task OnlyAnotherHolderIsClusterLockedAndTheHolderIsNamed()
    {
        var dir = Path.Combine(_root, "locks");
        using (await ClusterLock.AcquireAsync("daemon-1", "lab", "Reset-DindCluster", TimeSpan.Zero, CancellationToken.None, dir))
        {
            var e = await Assert.ThrowsAsync<DindException>(() => ClusterLock.AcquireAsync("daemon-1", "lab", "Add-DindNode", TimeSpan.FromMilliseconds(300), CancellationToken.None, dir));
            Assert.Equal(ErrorIds.ClusterLocked, e.ErrorId);
            Assert.Contains($"process {Environment.ProcessId} (Reset-DindCluster", e.Message);
            // Keyed by daemon: the same name on another daemon is another lock.
            using (await ClusterLock.AcquireAsync("daemon-2", "lab", "Reset-DindCluster", TimeSpan.Zero, CancellationToken.None, dir)) { }
        }
        // A directory entry that is not a regular file is a clear host error, not "locked".
        Directory.CreateDirectory(Path.Combine(dir, ClusterLock.FileName("daemon-1", "odd")));
        var odd = await Assert.ThrowsAsync<DindException>(() => ClusterLock.AcquireAsync("daemon-1", "odd", "x", TimeSpan.Zero, CancellationToken.None, dir));
        Assert.NotEqual(ErrorIds.ClusterLocked, odd.ErrorId);
    }

    [Fact]
    public async Task ALockFileRemovedWhileHeldIsNotSharedByTwoLaterHolders()
    {
        var dir = Path.Combine(_root, "locks2");
        var first = await ClusterLock.AcquireAsync("d", "lab", "Remove-DindCluster", TimeSpan.Zero, CancellationToken.None, dir);
        // A waiter has the old file open when the holder removes it (Remove-DindCluster), then gets the lock.
        var waiter = ClusterLock.AcquireAsync("d", "lab", "waiter", TimeSpan.FromSeconds(10), CancellationToken.None, dir);
        await Task.Delay(300);
        first.DeleteFile();
        first.Dispose();
        using var second = await waiter;
        Assert.True(File.Exists(second.Path));
        // A third run must now be refused: the waiter holds the file that exists, not the deleted one.
        var e = await Assert.ThrowsAsync<DindException>(() => ClusterLock.AcquireAsync("d", "lab", "third", TimeSpan.Zero, CancellationToken.None, dir));
        Assert.Equal(ErrorIds.ClusterLocked, e.ErrorId);
    }

    [Fact]
    public async Task TheLockIsRealFlockThatOtherToolsSee()
    {
        // util-linux flock(1) holds the module's lock file: the module must see it as held (its own flock(2), not a
        // .NET file-sharing emulation that DOTNET_SYSTEM_IO_DISABLEFILELOCKING could switch off).
        var dir = Path.Combine(_root, "locks3");
        using (await ClusterLock.AcquireAsync("d", "lab", "probe", TimeSpan.Zero, CancellationToken.None, dir)) { }
        var start = new ProcessStartInfo("/usr/bin/flock") { ArgumentList = { "--exclusive", Path.Combine(dir, ClusterLock.FileName("d", "lab")), "sleep", "30" } };
        using var holder = Process.Start(start)!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            DindException? locked = null;
            while (locked is null && DateTime.UtcNow < deadline)
            {
                try { using (await ClusterLock.AcquireAsync("d", "lab", "probe", TimeSpan.Zero, CancellationToken.None, dir)) { } await Task.Delay(50); }
                catch (DindException e) when (e.ErrorId == ErrorIds.ClusterLocked) { locked = e; }
            }
            Assert.NotNull(locked);
            holder.Kill(entireProcessTree: true);
            await holder.WaitForExitAsync();
            // The kernel dropped the killed holder's lock: free at once.
            using (await ClusterLock.AcquireAsync("d", "lab", "after", TimeSpan.FromSeconds(5), CancellationToken.None, dir)) { }
        }
        finally
        {
            if (!holder.HasExited) holder.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task ALockFolderOnAReadOnlyFileSystemIsAHostErrorNotClusterLocked()
    {
        // EROFS (and ENOSPC, ELOOP, …) used to be reported as "locked by another process".
        var dir = Path.Combine(_root, "ro");
        Directory.CreateDirectory(dir);
        Mount("-t", "tmpfs", "-o", "ro,size=64k", "ipv6dind-test", dir);
        try
        {
            var e = await Assert.ThrowsAsync<DindException>(() => ClusterLock.AcquireAsync("d", "lab", "New-DindCluster", TimeSpan.FromSeconds(2), CancellationToken.None, dir));
            Assert.Equal(ErrorIds.HostLockFailed, e.ErrorId);
            Assert.Contains("Read-only file system", e.Message);
        }
        finally
        {
            Mount(umount: true, dir);
        }
    }

    [Fact]
    public void NamesOfTheModulesOwnHostObjectsAreRefusedForNewClusters()
    {
        foreach (var name in new[] { "docker-ipv6", "daemon" })
        {
            var problem = Assert.Single(Ipv6Dind.Core.Addressing.SpecValidator.Validate(new DindClusterSpec { ClusterName = name, Dns64Upstream = new[] { "198.51.100.53" } }),
                p => p.ErrorId == ErrorIds.InvalidClusterName);
            Assert.Contains("reserved", problem.Message);
            Assert.Equal("ClusterName", problem.ParameterName);
        }
    }

    private static void Mount(params string[] args) => Mount(false, args);

    private static void Mount(bool umount, params string[] args)
    {
        var start = new ProcessStartInfo(umount ? "/usr/bin/umount" : "/usr/bin/mount") { RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{start.FileName} {string.Join(' ', args)}: {err}");
    }
}

[CollectionDefinition("planted paths", DisableParallelization = true)]
public sealed class PlantedPathCollection { }
