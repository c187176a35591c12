using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Tests.Host;

/// <summary>Locality by identity (src/Ipv6Dind.Core/Host/DaemonLocality.cs), over fake /proc trees.</summary>
public sealed class DaemonLocalityTests : IDisposable
{
    private readonly FakeProc _proc = new();

    private DaemonLocalityResult Decide(string endpoint, int? peer = null) =>
        new DaemonLocality(_proc.Root, peer is null ? null : _ => peer).Decide(endpoint);

    [Fact]
    public void TheSocketDockerdListensOnIsLocal()
    {
        _proc.Process(700, "/usr/sbin/dockerd", new[] { "dockerd", "--pidfile", "/run/d.pid" }, sockets: new long[] { 6234, 9000 });
        _proc.Listen(6234, "/var/run/docker.sock");
        _proc.Listen(9001, "/var/run/docker.sock", listening: false);       // an accepted connection: not the listener
        var r = Decide("unix:///var/run/docker.sock", peer: 700);
        Assert.True(r.IsLocal, r.Evidence);
        Assert.Equal(700, r.DaemonPid);
        Assert.Contains("dockerd (pid 700", r.Evidence);
    }

    [Fact]
    public void AnUpgradedDockerdWhoseBinaryWasReplacedIsStillDockerd()
    {
        _proc.Process(700, "/usr/sbin/dockerd (deleted)", new[] { "dockerd" }, sockets: 6234);
        _proc.Listen(6234, "/var/run/docker.sock");
        Assert.True(Decide("unix:///var/run/docker.sock").IsLocal);
    }

    [Fact]
    public void ARelayOrForwardIsNotLocal()
    {
        _proc.Process(700, "/usr/sbin/dockerd", new[] { "dockerd" }, sockets: 6234);
        _proc.Listen(6234, "/var/run/docker.sock");
        _proc.Process(800, "/usr/bin/ssh", new[] { "ssh", "-L", "/tmp/docker.sock:/var/run/docker.sock", "host" }, sockets: 7000);
        _proc.Listen(7000, "/tmp/docker.sock");
        var r = Decide("unix:///tmp/docker.sock", peer: 800);
        Assert.False(r.IsLocal);
        Assert.Null(r.DaemonPid);
        Assert.Contains("ssh (pid 800, /usr/bin/ssh)", r.Evidence);
        Assert.Contains("not by a dockerd of this host", r.Evidence);
    }

    [Fact]
    public void ARelayNamedDockerdByItsCommandLineIsStillNotDockerd()
    {
        _proc.Process(800, "/usr/bin/python3", new[] { "/usr/sbin/dockerd" }, sockets: 7000);
        _proc.Listen(7000, "/tmp/docker.sock");
        Assert.False(Decide("unix:///tmp/docker.sock").IsLocal);
    }

    [Fact]
    public void ADockerdInAnotherNetworkNamespaceIsNotThisHosts()
    {
        _proc.Process(900, "/usr/local/bin/dockerd", new[] { "dockerd" }, netns: "net:[4026532999]", sockets: 7100);
        _proc.Listen(7100, "/run/dind/docker.sock");
        var r = Decide("unix:///run/dind/docker.sock");
        Assert.False(r.IsLocal);
        Assert.Contains("in another network namespace", r.Evidence);
    }

    [Fact]
    public void SocketActivationBySystemdIsLocalButAnotherCoHolderIsNot()
    {
        _proc.Process(1, "/usr/lib/systemd/systemd", new[] { "/sbin/init" }, sockets: 6234);
        _proc.Process(700, "/usr/sbin/dockerd", new[] { "/usr/sbin/dockerd", "-H", "fd://" }, sockets: 6234);
        _proc.Listen(6234, "/run/docker.sock");
        var r = Decide("unix:///run/docker.sock", peer: 1);     // the listen() was systemd's
        Assert.True(r.IsLocal, r.Evidence);
        Assert.Equal(700, r.DaemonPid);

        _proc.Process(800, "/usr/bin/socat", new[] { "socat" }, sockets: 6234);
        var shared = Decide("unix:///run/docker.sock", peer: 1);
        Assert.False(shared.IsLocal);
        Assert.Contains("socat (pid 800", shared.Evidence);
    }

    [Fact]
    public void AChildOfDockerdBetweenForkAndExecIsNotASecondHolder()
    {
        // dockerd forks (iptables, containerd-shim): until exec closes them, the child holds dockerd's descriptors.
        _proc.Process(700, "/usr/sbin/dockerd", new[] { "dockerd" }, sockets: 6234);
        _proc.Process(881, null, Array.Empty<string>(), parent: 700, sockets: 6234);
        _proc.Listen(6234, "/var/run/docker.sock");
        var r = Decide("unix:///var/run/docker.sock", peer: 700);
        Assert.True(r.IsLocal, r.Evidence);
        Assert.Equal(700, r.DaemonPid);
    }

    [Fact]
    public void WhenTwoSocketsAreBoundAtOnePathTheOneThatAnswersDecides()
    {
        // dockerd's socket file was unlinked and a relay bound the same path: connections reach the relay.
        _proc.Process(700, "/usr/sbin/dockerd", new[] { "dockerd" }, sockets: 6234);
        _proc.Listen(6234, "/var/run/docker.sock");
        _proc.Process(800, "/usr/bin/socat", new[] { "socat" }, sockets: 7000);
        _proc.Listen(7000, "/var/run/docker.sock");
        Assert.False(Decide("unix:///var/run/docker.sock", peer: 800).IsLocal);
        Assert.False(Decide("unix:///var/run/docker.sock").IsLocal);         // unknown answerer: every listener must be dockerd
        Assert.True(Decide("unix:///var/run/docker.sock", peer: 700).IsLocal);
    }

    [Fact]
    public void AnAnswererThatHoldsNoSocketAtThePathIsNotLocal()
    {
        _proc.Process(700, "/usr/sbin/dockerd", new[] { "dockerd" }, sockets: 6234);
        _proc.Listen(6234, "/var/run/docker.sock");
        _proc.Process(800, "/usr/bin/socat", new[] { "socat" });
        var r = Decide("unix:///var/run/docker.sock", peer: 800);
        Assert.False(r.IsLocal);
        Assert.Contains("holds no listening socket bound there", r.Evidence);
    }

    [Fact]
    public void NothingListeningOrUnreadableHoldersIsNotLocal()
    {
        Assert.Contains("no process in this network namespace listens", Decide("unix:///var/run/docker.sock").Evidence);
        _proc.Listen(6234, "/var/run/docker.sock");                        // nobody's fds show it (not root)
        Assert.Contains("cannot be read from /proc", Decide("unix:///var/run/docker.sock").Evidence);
    }

    [Fact]
    public void UnprivilegedTheAnsweringProcessAndItsArgv0AreTheEvidence()
    {
        // An unprivileged caller reads neither root's fds nor its exe and ns links; SO_PEERCRED and cmdline remain.
        _proc.Process(700, null, new[] { "/usr/sbin/dockerd" });
        File.Delete(Path.Combine(_proc.Root, "proc/700/ns/net"));
        _proc.Listen(6234, "/var/run/docker.sock");
        var r = Decide("unix:///var/run/docker.sock", peer: 700);
        Assert.True(r.IsLocal, r.Evidence);
        Assert.Contains("unprivileged view", r.Evidence);
        _proc.Process(800, null, new[] { "socat" });
        Assert.False(Decide("unix:///var/run/docker.sock", peer: 800).IsLocal);
    }

    [Theory]
    [InlineData("tcp://127.0.0.1:2375")]
    [InlineData("tcp://[::1]:2376")]
    [InlineData("tcp://docker-host.example:2376")]
    [InlineData("not a url")]
    public void TcpIsNeverLocal(string endpoint)
    {
        var r = Decide(endpoint);
        Assert.False(r.IsLocal);
        Assert.Null(r.DaemonPid);
    }

    [Fact]
    public void TheRefusalSaysWhatWasCheckedAndWhatToDo()
    {
        _proc.Process(800, "/usr/bin/socat", new[] { "socat" }, sockets: 7000);
        _proc.Listen(7000, "/tmp/docker.sock");
        var ex = DaemonLocality.NotLocal(Decide("unix:///tmp/docker.sock"), "Host routes", "lab", "Host");
        Assert.Equal(ErrorIds.RemoteDockerHost, ex.ErrorId);
        Assert.Contains("not provably this machine's", ex.Message);
        Assert.Contains("socat (pid 800", ex.Message);
        Assert.Contains("Run the cmdlet on the Docker host itself", ex.RecommendedAction);
    }

    public void Dispose() => _proc.Dispose();
}
