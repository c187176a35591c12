using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.IntegrationTests.Lab;
using Xunit.Abstractions;

namespace Ipv6Dind.IntegrationTests.Host;

/// <summary>
/// Who is behind a socket, on the real host (src/Ipv6Dind.Core/Host/DaemonLocality.cs, TrustedPidFile.cs,
/// DockerDaemonRestarter.cs): a unix socket that relays to the real daemon is not this host's daemon, so host-side
/// work through it is refused before anything is created; the real socket is. A pid file that names a process other
/// than dockerd, or that is a link planted by another user, is refused and nothing is signalled. The shared daemon is
/// only read (its pid file, its socket), never signalled; everything here is made and removed by the test itself.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DaemonIdentityTests : IAsyncLifetime
{
    private const string SharedPidFile = "/run/ipv6dind-dockerd.pid";      // tests/lab/ensure-dockerd
    private readonly ITestOutputHelper _out;
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];
    private string Dir => "/run/ipv6dind-it-lc-" + _id;
    private readonly List<Process> _started = new();

    public DaemonIdentityTests(ITestOutputHelper output) => _out = output;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(Dir);
        File.SetUnixFileMode(Dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        foreach (var p in _started)
        {
            try { if (!p.HasExited) { p.Kill(); p.WaitForExit(5000); } } catch (InvalidOperationException) { }
            p.Dispose();
        }
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_relayed_socket_is_not_local_and_host_rules_through_it_are_refused_before_anything_is_created()
    {
        await using var relay = UnixRelay.Start(Path.Combine(Dir, "docker.sock"), "/var/run/docker.sock");
        var endpoint = "unix://" + relay.Path;
        using var api = DockerApi.Connect(endpoint);
        var info = await api.GetDaemonInfoAsync(default);               // the relay works: the real daemon answers through it
        Assert.False(string.IsNullOrEmpty(info.Version));

        var relayed = DaemonLocality.Check(endpoint);
        _out.WriteLine(relayed.Evidence);
        Assert.False(relayed.IsLocal);
        Assert.Contains($"pid {Environment.ProcessId}", relayed.Evidence);  // the relay is this test process, not dockerd
        Assert.Contains("not by a dockerd of this host", relayed.Evidence);

        var real = DaemonLocality.Check("unix:///var/run/docker.sock");
        _out.WriteLine(real.Evidence);
        Assert.True(real.IsLocal, real.Evidence);
        if (File.Exists(SharedPidFile))
            Assert.Equal(int.Parse(File.ReadAllText(SharedPidFile).Trim(), CultureInfo.InvariantCulture), real.DaemonPid);

        // AAAA mode needs host ip6tables rules: through the relay, New-DindCluster refuses before it makes anything.
        var name = "it-lc-" + _id;
        var lab = new DindLab(api, OperationContext.None);
        var ex = await Assert.ThrowsAsync<DindException>(() => lab.CreateAsync(
            new DindClusterSpec { ClusterName = name, AllowAaaa = true, Dns64Upstream = new[] { "198.51.100.53" } },
            new LabOptions { NetworkOnly = true }));
        _out.WriteLine(ex.Message);
        Assert.Equal(ErrorIds.RemoteDockerHost, ex.ErrorId);
        Assert.Equal("AllowAaaa", ex.ParameterName);
        Assert.Contains("not provably this machine's", ex.Message);
        Assert.Contains("Run the cmdlet on the Docker host itself", ex.RecommendedAction);

        using var direct = DockerApi.Connect("unix:///var/run/docker.sock");
        var filter = LabLabels.ClusterFilter(name);
        Assert.Empty(await direct.ListContainersAsync(filter, default));
        Assert.Empty(await direct.ListNetworksAsync(filter, default));
        Assert.Empty(await direct.ListVolumesAsync(filter, default));
        var rules = await HostProcess.RunAsync("ip6tables-save", Array.Empty<string>(), TimeSpan.FromSeconds(20));
        Assert.DoesNotContain(name, rules.StdOut);
    }

    [Fact]
    public async Task A_pid_file_naming_another_process_is_refused_and_the_process_lives_on()
    {
        var sleep = Start("sleep", "300");
        var pidFile = Path.Combine(Dir, "docker.pid");
        File.WriteAllText(pidFile, sleep.Id.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(sleep.Id, TrustedPidFile.Read(pidFile));             // a sound pid file ...

        var ex = await Assert.ThrowsAsync<DindException>(() => new DockerDaemonRestarter().RestartAsync(new DockerRestartOptions
        {
            PidFile = pidFile,
            DockerHost = "unix:///var/run/docker.sock",
            LogFile = Path.Combine(Dir, "dockerd.log"),
            Timeout = TimeSpan.FromSeconds(10),
        }, default));
        _out.WriteLine(ex.Message);
        Assert.Equal(ErrorIds.DockerRestartFailed, ex.ErrorId);            // ... naming a process that is not dockerd
        Assert.Contains($"pid {sleep.Id}, which is sleep", ex.Message);
        Assert.Contains("No signal was sent", ex.Message);
        await Task.Delay(500);
        Assert.False(sleep.HasExited);
        Assert.False(File.Exists(Path.Combine(Dir, "dockerd.log")));      // nothing was started either
    }

    [Fact]
    public async Task A_pid_file_that_is_a_link_planted_by_nobody_is_refused()
    {
        var sleep = Start("sleep", "300");
        var target = Path.Combine(Dir, "real.pid");
        File.WriteAllText(target, sleep.Id.ToString(CultureInfo.InvariantCulture));
        var planted = Path.Combine(Dir, "nobody");
        Directory.CreateDirectory(planted);
        await HostProcess.RunAsync("chown", new[] { "nobody", planted }, TimeSpan.FromSeconds(10));
        var link = Path.Combine(planted, "docker.pid");
        await HostProcess.RunAsync("runuser", new[] { "-u", "nobody", "--", "ln", "-s", target, link }, TimeSpan.FromSeconds(10));
        Assert.Equal(target, new FileInfo(link).LinkTarget);

        var ex = await Assert.ThrowsAsync<DindException>(() => new DockerDaemonRestarter().RestartAsync(new DockerRestartOptions
        {
            PidFile = link,
            DockerHost = "unix:///var/run/docker.sock",
            LogFile = Path.Combine(Dir, "dockerd.log"),
            Timeout = TimeSpan.FromSeconds(10),
        }, default));
        _out.WriteLine(ex.Message);
        Assert.Equal(ErrorIds.DockerRestartFailed, ex.ErrorId);
        Assert.Contains("is a symbolic link", ex.Message);
        Assert.Contains($"its folder {planted} is owned by uid", ex.Message);
        Assert.Contains("No signal was sent", ex.Message);
        Assert.False(sleep.HasExited);
        Assert.Throws<TrustedPidFile.UntrustedException>(() => TrustedPidFile.Read(link));
    }

    [Fact]
    public void The_shared_daemons_own_pid_file_names_the_dockerd_serving_its_socket()
    {
        Assert.True(File.Exists(SharedPidFile), $"this test needs the daemon tests/lab/ensure-dockerd starts, with its pid file {SharedPidFile}");
        var running = DockerDaemonRestarter.FindRunning(new DockerRestartOptions { PidFile = SharedPidFile, DockerHost = "unix:///var/run/docker.sock" });
        Assert.NotNull(running);                        // found and checked only: nothing is signalled here
        Assert.Equal("dockerd", Path.GetFileName(running!.Argv[0]));
        // The same pid file against a socket that dockerd does not serve is refused.
        var ex = Assert.Throws<DindException>(() => DockerDaemonRestarter.FindRunning(
            new DockerRestartOptions { PidFile = SharedPidFile, DockerHost = "unix://" + Path.Combine(Dir, "none.sock") }));
        Assert.Contains("is not the dockerd serving", ex.Message);
    }

    private Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(HostProcess.Which(file)) { UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        _started.Add(p);
        return p;
    }

    /// <summary>A unix socket that relays every connection to another one (what ssh -L or socat would be).</summary>
    private sealed class UnixRelay : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private UnixRelay(string path, string target)
        {
            Path = path;
            _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen(16);
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    Socket client;
                    try { client = await _listener.AcceptAsync(_stop.Token); }
                    catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
                    _ = Task.Run(() => PumpAsync(client, target));
                }
            });
        }

        public string Path { get; }

        public static UnixRelay Start(string path, string target) => new(path, target);

        private async Task PumpAsync(Socket client, string target)
        {
            using var up = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await up.ConnectAsync(new UnixDomainSocketEndPoint(target));
                await using var a = new NetworkStream(client, ownsSocket: true);
                await using var b = new NetworkStream(up, ownsSocket: false);
                await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
            finally { client.Dispose(); }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Dispose();
            try { await _loop; } catch (OperationCanceledException) { }
            try { File.Delete(Path); } catch (IOException) { }
        }
    }
}
