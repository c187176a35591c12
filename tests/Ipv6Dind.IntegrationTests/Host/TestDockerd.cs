using System.Globalization;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.IntegrationTests.Lab;

namespace Ipv6Dind.IntegrationTests.Host;

/// <summary>
/// A second dockerd that the tests own, so that restarting it disturbs nothing else: its own unix socket, data-root,
/// exec-root (hence its own containerd), pid file and config file, all under /run/ipv6dind-test-dockerd-&lt;id&gt;/,
/// and a bridge of its own made here with 198.18.200.1/24. It runs with --iptables=false --ip-forward=false and
/// its config says "ip6tables": false, so it never touches the host's firewall or sysctls (the main daemon's
/// DOCKER chains would be rebuilt by a second daemon managing them). vfs storage: no overlay mounts to leave behind.
/// </summary>
public sealed class TestDockerd : IAsyncDisposable
{
    public const string DirPrefix = "/run/ipv6dind-test-dockerd-";
    public string Id { get; } = Random.Shared.Next(0x1000, 0xffff).ToString("x4", CultureInfo.InvariantCulture);
    public string Dir => DirPrefix + Id;
    public string Socket => Path.Combine(Dir, "docker.sock");
    public string DockerHost => "unix://" + Socket;
    public string PidFile => Path.Combine(Dir, "docker.pid");
    public string ConfigFile => Path.Combine(Dir, "daemon.json");
    public string LogFile => Path.Combine(Dir, "dockerd.log");
    public string Bridge => "ipv6dtb" + Id;
    /// <summary>This daemon's ULA for fixed-cidr-v6 tests: fd00:d1d:&lt;id&gt;::/48 (never fd00::/64).</summary>
    public string Ula48 => $"fd00:d1d:{Id}::/48";
    public const string BridgeAddress = "198.18.200.1/24";

    private BackgroundProcess? _first;

    /// <summary>More dockerd flags (a TLS listener: -H tcp://127.0.0.1:port --tlsverify ...).</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = Array.Empty<string>();

    public IReadOnlyList<string> Argv => new[]
    {
        HostProcess.Which("dockerd"), "-H", DockerHost, "--data-root", Path.Combine(Dir, "data"), "--exec-root", Path.Combine(Dir, "exec"),
        "--pidfile", PidFile, "--config-file", ConfigFile, "--bridge", Bridge, "--iptables=false", "--ip-forward=false",
        "--storage-driver", "vfs",
    }.Concat(ExtraArgs).ToList();

    public async Task StartAsync(string initialConfig)
    {
        await RemoveLeftoversAsync();
        Directory.CreateDirectory(Dir);
        File.WriteAllText(ConfigFile, initialConfig);
        await Ip("link", "add", Bridge, "type", "bridge");
        await Ip("address", "add", BridgeAddress, "dev", Bridge);
        await Ip("link", "set", Bridge, "up");
        _first = HostProcess.StartBackground(Argv[0], Argv.Skip(1), LogFile);
        try { await WaitAsync(); }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until the daemon answers on its socket.</summary>
    public async Task WaitAsync()
    {
        using var api = DockerApi.Connect(DockerHost);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try { await api.GetDaemonInfoAsync(default); return; }
            catch (DindException) when (DateTime.UtcNow < deadline) { await Task.Delay(250); }
            catch (DindException ex) { throw new InvalidOperationException($"the test dockerd did not answer: {ex.Message}\n{Tail()}"); }
        }
    }

    public int? Pid => File.Exists(PidFile) && int.TryParse(File.ReadAllText(PidFile).Trim(), out var p) ? p : null;

    public DockerApi Api() => DockerApi.Connect(DockerHost);

    public string Tail() => File.Exists(LogFile) ? string.Join('\n', File.ReadLines(LogFile).TakeLast(20)) : "(no log)";

    public async ValueTask DisposeAsync()
    {
        if (_first is not null) await _first.StopAsync(TimeSpan.FromSeconds(20));
        await RemoveLeftoversAsync();
    }

    /// <summary>Every test daemon (this run's or a killed run's): its process, bridge and folder.</summary>
    public static async Task RemoveLeftoversAsync()
    {
        foreach (var dir in Directory.GetDirectories("/run", "ipv6dind-test-dockerd-*"))
        {
            var pidFile = Path.Combine(dir, "docker.pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
            {
                await HostProcess.TryRunAsync("kill", new[] { "-TERM", pid.ToString(CultureInfo.InvariantCulture) }, TimeSpan.FromSeconds(5));
                for (var i = 0; i < 100 && Directory.Exists($"/proc/{pid}"); i++) await Task.Delay(200);
                if (Directory.Exists($"/proc/{pid}")) await HostProcess.TryRunAsync("kill", new[] { "-KILL", pid.ToString(CultureInfo.InvariantCulture) }, TimeSpan.FromSeconds(5));
            }
            var bridge = "ipv6dtb" + Path.GetFileName(dir)["ipv6dind-test-dockerd-".Length..];
            await HostProcess.TryRunAsync("ip", new[] { "link", "del", bridge }, TimeSpan.FromSeconds(10));
            // The daemon unmounts what it mounted on exit; whatever is still mounted below is lazily detached first.
            var mounts = File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(dir + "/", StringComparison.Ordinal)).OrderByDescending(m => m.Length);
            foreach (var m in mounts) await HostProcess.TryRunAsync("umount", new[] { "-l", m }, TimeSpan.FromSeconds(10));
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static Task<HostProcessResult> Ip(params string[] args) => HostProcess.RunAsync("ip", args, TimeSpan.FromSeconds(10));
}
