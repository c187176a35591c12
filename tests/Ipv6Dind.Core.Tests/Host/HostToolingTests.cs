using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Tests.Host;

/// <summary>A host command runner that records argv and stdin and answers from a script.</summary>
internal sealed class RecordingRunner : IHostCommandRunner
{
    public List<(string File, IReadOnlyList<string> Args, string? Stdin)> Calls { get; } = new();
    public Func<string, IReadOnlyList<string>, ExecResult> Answer { get; set; } = (_, _) => new ExecResult(0, "", "");

    public Task<ExecResult> RunAsync(string file, IReadOnlyList<string> arguments, string? stdin, TimeSpan timeout, CancellationToken ct)
    {
        Calls.Add((file, arguments, stdin));
        return Task.FromResult(Answer(file, arguments));
    }
}

public sealed class HostRoutesTests
{
    private static AddressPlan Plan(int nodes = 3) => AddressPlanner.Plan(new DindClusterSpec
    {
        ClusterName = "lab", Nodes = nodes, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" },
    });

    [Fact]
    public void PodsViaTheirNodesServicesViaTheControlPlane()
    {
        var plan = Plan();
        var routes = HostRoutes.Plan(plan);
        Assert.Equal(new[]
        {
            ("fd00:77:0:40:1::/80", "fd00:77:0:10::1001", "Pod"),
            ("fd00:77:0:40:2::/80", "fd00:77:0:10::1002", "Pod"),
            ("fd00:77:0:40:3::/80", "fd00:77:0:10::1003", "Pod"),
            (plan.ServicePrefix, "fd00:77:0:10::1001", "Service"),
        }, routes.Select(r => (r.Destination, r.Gateway, r.Kind)));
    }

    [Fact]
    public async Task EnsureReplacesPlannedAndDeletesOnlyOurStaleRoutesInOneBatch()
    {
        var plan = Plan(2);
        var runner = new RecordingRunner
        {
            Answer = (_, args) => args.Contains("show")
                ? new ExecResult(0, string.Join('\n',
                    "fd00:77:0:40:1::/80 via fd00:77:0:10::1001 dev br-lab metric 1024 pref medium",
                    "fd00:77:0:40:3::/80 via fd00:77:0:10::1003 dev br-lab metric 1024 pref medium",   // a removed node: stale
                    "fd00:99:0:40:1::/80 via fd00:99:0:10::1001 dev br-other metric 1024 pref medium"), "") // another cluster's
                : new ExecResult(0, "", ""),
        };
        await new HostRoutes(runner).EnsureAsync(plan.ManagementPrefix, HostRoutes.Plan(plan), default);
        Assert.Equal(new[] { "-6", "route", "show", "proto", "166" }, runner.Calls[0].Args);
        var batch = Assert.Single(runner.Calls, c => c.Args.Contains("-batch"));
        Assert.Equal(new[] { "-6", "-batch", "-" }, batch.Args);
        Assert.Equal(
            "route del fd00:77:0:40:3::/80 via fd00:77:0:10::1003 proto 166\n" +
            "route replace fd00:77:0:40:1::/80 via fd00:77:0:10::1001 proto 166\n" +
            "route replace fd00:77:0:40:2::/80 via fd00:77:0:10::1002 proto 166\n" +
            $"route replace {plan.ServicePrefix} via fd00:77:0:10::1001 proto 166\n", batch.Stdin);
    }

    [Fact]
    public async Task RemoveDeletesExactlyTheClustersRoutes()
    {
        var runner = new RecordingRunner
        {
            Answer = (_, args) => args.Contains("show")
                ? new ExecResult(0, "fd00:77:0:40:1::/80 via fd00:77:0:10::1001 dev br-lab metric 1024\nfd00:99:0:40:1::/80 via fd00:99:0:10::1001 dev br-x metric 1024\n", "")
                : new ExecResult(0, "", ""),
        };
        Assert.Equal(1, await new HostRoutes(runner).RemoveAsync("fd00:77:0:10::/64", default));
        Assert.Equal("route del fd00:77:0:40:1::/80 via fd00:77:0:10::1001 proto 166\n", runner.Calls[1].Stdin);
    }

    [Fact]
    public async Task NothingToRemoveRunsNoBatch()
    {
        var runner = new RecordingRunner();
        Assert.Equal(0, await new HostRoutes(runner).RemoveAsync("fd00:77:0:10::/64", default));
        Assert.Single(runner.Calls);
    }
}

public sealed class DockerDaemonRestarterTests : IDisposable
{
    private readonly FakeProc _proc = new();
    private string _root => _proc.Root;
    private string PidFile => Path.Combine(_root, "docker.pid");

    /// <summary>A dockerd in the fake /proc serving <paramref name="socket"/>, and its pid file.</summary>
    private string FakeDaemon(int pid, char state, string exe, string socket, params string[] argv)
    {
        _proc.Process(pid, exe, argv, state: state, sockets: pid * 10L);
        _proc.Listen(pid * 10L, socket);
        File.WriteAllText(PidFile, pid.ToString());
        return PidFile;
    }

    private DockerRestartOptions Options(string? host = null) => new() { PidFile = PidFile, Root = _root, DockerHost = host };

    [Fact]
    public void FindsTheRunningDaemonsArgvConfigFileAndHost()
    {
        var pidFile = FakeDaemon(4242, 'S', "/usr/bin/dockerd", "/run/test/docker.sock", "dockerd", "-H", "unix:///run/test/docker.sock", "--config-file=/etc/test/daemon.json", "--data-root", "/var/lib/test");
        var d = DockerDaemonRestarter.FindRunning(new DockerRestartOptions { PidFile = pidFile, Root = _root })!;
        Assert.Equal(4242, d.Pid);
        Assert.Equal("/etc/test/daemon.json", d.ConfigFile);
        Assert.Equal("unix:///run/test/docker.sock", d.Host);
        Assert.Equal(6, d.Argv.Count);
    }

    [Fact]
    public void AZombieOrAMissingProcessIsNotRunning()
    {
        var pidFile = FakeDaemon(4243, 'Z', "/usr/bin/dockerd", "/var/run/docker.sock", "dockerd");
        Assert.Null(DockerDaemonRestarter.FindRunning(new DockerRestartOptions { PidFile = pidFile, Root = _root }));
        File.WriteAllText(pidFile, "99999");
        Assert.Null(DockerDaemonRestarter.FindRunning(new DockerRestartOptions { PidFile = pidFile, Root = _root }));
        Assert.Null(DockerDaemonRestarter.FindRunning(new DockerRestartOptions { PidFile = Path.Combine(_root, "none.pid"), Root = _root }));
    }

    private async Task<DindException> RefusedWithoutASignal(DockerRestartOptions options)
    {
        Assert.Throws<DindException>(() => DockerDaemonRestarter.FindRunning(options));
        var runner = new RecordingRunner();
        var ex = await Assert.ThrowsAsync<DindException>(() => new DockerDaemonRestarter(runner).RestartAsync(options, default));
        Assert.Equal(ErrorIds.DockerRestartFailed, ex.ErrorId);
        Assert.Contains("No signal was sent", ex.Message);
        Assert.Empty(runner.Calls);          // no kill, no setsid
        return ex;
    }

    [Fact]
    public async Task APidFileNamingAnotherProcessIsRefused()
    {
        _proc.Process(555, "/usr/bin/sleep", new[] { "sleep", "300" });
        File.WriteAllText(PidFile, "555");
        var ex = await RefusedWithoutASignal(Options());
        Assert.Contains("pid 555, which is sleep (pid 555, /usr/bin/sleep), not dockerd", ex.Message);
    }

    [Fact]
    public async Task AProcessCallingItselfDockerdIsNotDockerd()
    {
        _proc.Process(556, "/usr/bin/python3", new[] { "dockerd" }, sockets: 5560);
        _proc.Listen(5560, "/var/run/docker.sock");
        File.WriteAllText(PidFile, "556");
        Assert.Contains("python3", (await RefusedWithoutASignal(Options())).Message);
    }

    [Fact]
    public async Task ADockerdWhoseCommandLineIsNotDockerdIsNotRunAgain()
    {
        FakeDaemon(557, 'S', "/usr/bin/dockerd", "/var/run/docker.sock", "/bin/sh", "-c", "anything");
        Assert.Contains("does not start with dockerd", (await RefusedWithoutASignal(Options())).Message);
    }

    [Fact]
    public async Task ADockerdThatDoesNotServeTheEndpointIsRefused()
    {
        FakeDaemon(558, 'S', "/usr/bin/dockerd", "/run/other/docker.sock", "dockerd", "-H", "unix:///run/other/docker.sock");
        _proc.Process(559, "/usr/bin/dockerd", new[] { "dockerd" }, sockets: 5590);
        _proc.Listen(5590, "/var/run/docker.sock");
        var ex = await RefusedWithoutASignal(Options("unix:///var/run/docker.sock"));
        Assert.Contains("pid 558 is not the dockerd serving unix:///var/run/docker.sock", ex.Message);
        Assert.Equal(558, DockerDaemonRestarter.FindRunning(Options())!.Pid);       // its own -H: it does serve that
    }

    [Fact]
    public async Task APidFileThatIsASymbolicLinkIsRefused()
    {
        FakeDaemon(560, 'S', "/usr/bin/dockerd", "/var/run/docker.sock", "dockerd");
        var real = Path.Combine(_root, "real.pid");
        File.Move(PidFile, real);
        File.CreateSymbolicLink(PidFile, real);
        Assert.Contains("is a symbolic link", (await RefusedWithoutASignal(Options())).Message);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task APidFileOthersMayWriteOrInAFolderOthersMayWriteIsRefused()
    {
        FakeDaemon(561, 'S', "/usr/bin/dockerd", "/var/run/docker.sock", "dockerd");
        File.SetUnixFileMode(PidFile, (UnixFileMode)0b110_110_100);       // 0664
        Assert.Contains("others may write it (mode 664)", (await RefusedWithoutASignal(Options())).Message);
        File.SetUnixFileMode(PidFile, (UnixFileMode)0b110_100_100);       // 0644
        Assert.Equal(561, DockerDaemonRestarter.FindRunning(Options())!.Pid);
        File.SetUnixFileMode(_root, (UnixFileMode)0b111_111_111);         // 0777, not sticky
        Assert.Contains($"others may write its folder {_root} (mode 777)", (await RefusedWithoutASignal(Options())).Message);
    }

    [Fact]
    public void FlagsThatTheFileNowSetsAreAConflict()
    {
        var daemon = new RunningDaemon(7, new[] { "dockerd", "--ipv6", "--fixed-cidr-v6=fd00:d0c::/64", "--bip", "198.18.254.1/24" }, "/etc/docker/daemon.json", null);
        var ex = Assert.Throws<DindException>(() => DockerDaemonRestarter.CheckConflicts(daemon, "/etc/docker/daemon.json", DockerDaemonJson.Keys));
        Assert.Equal(ErrorIds.DockerDaemonFlagConflict, ex.ErrorId);
        Assert.Contains("--ipv6, --fixed-cidr-v6", ex.Message);
        DockerDaemonRestarter.CheckConflicts(daemon with { Argv = new[] { "dockerd", "--bip", "198.18.254.1/24" } }, "/etc/docker/daemon.json", DockerDaemonJson.Keys);
    }

    [Fact]
    public void ADaemonReadingAnotherFileIsAConflict()
    {
        var daemon = new RunningDaemon(7, new[] { "dockerd" }, "/etc/other/daemon.json", null);
        var ex = Assert.Throws<DindException>(() => DockerDaemonRestarter.CheckConflicts(daemon, "/etc/docker/daemon.json", DockerDaemonJson.Keys));
        Assert.Equal("ConfigPath", ex.ParameterName);
    }

    [Fact]
    public async Task WithoutADaemonOrACommandNothingIsGuessed()
    {
        var runner = new RecordingRunner();
        var ex = await Assert.ThrowsAsync<DindException>(() => new DockerDaemonRestarter(runner).RestartAsync(
            new DockerRestartOptions { PidFile = Path.Combine(_root, "none.pid"), Root = _root }, default));
        Assert.Equal(ErrorIds.DockerRestartFailed, ex.ErrorId);
        Assert.Empty(runner.Calls);
    }

    [Fact]
    public void SystemdOnlyWhenBootedWithItAndNoPidFileGiven()
    {
        Assert.False(DockerDaemonRestarter.SystemdBooted(_root));
        Directory.CreateDirectory(Path.Combine(_root, "run/systemd/system"));
        Assert.True(DockerDaemonRestarter.UsesSystemd(new DockerRestartOptions { Root = _root }));
        Assert.False(DockerDaemonRestarter.UsesSystemd(new DockerRestartOptions { Root = _root, PidFile = "/run/x.pid" }));
        Assert.Equal("systemctl restart docker", DockerDaemonRestarter.Describe(new DockerRestartOptions { Root = _root }));
    }

    [Theory]
    [InlineData(new[] { "dockerd", "-H", "unix:///a" }, "-H", "unix:///a")]
    [InlineData(new[] { "dockerd", "--host=unix:///b" }, "--host", "unix:///b")]
    [InlineData(new[] { "dockerd", "-H" }, "-H", null)]
    public void FlagValues(string[] argv, string flag, string? value) => Assert.Equal(value, DockerDaemonRestarter.FlagValue(argv, flag));

    public void Dispose() => _proc.Dispose();
}
