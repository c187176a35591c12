using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Tests.Host;

/// <summary>The host-side way into a container's network settings is refused unless every path is what Docker makes, only root's.</summary>
public sealed class ContainerNetnsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-netns-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class NoCommands : IHostCommandRunner
    {
        public Task<ExecResult> RunAsync(string file, IReadOnlyList<string> arguments, string? stdin, TimeSpan timeout, CancellationToken ct) =>
            throw new InvalidOperationException("no command may run");
    }

    private static ContainerInfo Container(string? sandboxKey, string? resolvConf, bool running = true) =>
        new("0123456789ab", "lab-node-1", "img", running ? "running" : "exited", running, 42, new Dictionary<string, string>(),
            new Dictionary<string, (string?, string?)>(), Array.Empty<string>(), Array.Empty<string>())
        {
            SandboxKey = sandboxKey,
            ResolvConfPath = resolvConf,
        };

    /// <summary>A Docker-like layout under the test's own folder: netns/&lt;12 hex&gt; and containers/&lt;id&gt;/resolv.conf, root-only.</summary>
    private (string Key, string Resolv) Layout(UnixFileMode containerDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)
    {
        var netns = Directory.CreateDirectory(Path.Combine(_dir, "netns")).FullName;
        var key = Path.Combine(netns, "0123456789ab");
        File.WriteAllText(key, "");
        var container = Directory.CreateDirectory(Path.Combine(_dir, "containers", "0123456789ab")).FullName;
        File.SetUnixFileMode(container, containerDir);
        var resolv = Path.Combine(container, "resolv.conf");
        File.WriteAllText(resolv, "nameserver 127.0.0.11\n");
        return (key, resolv);
    }

    [Fact]
    public void DockersOwnLayoutIsUsedAndTheResolverIsRewrittenInPlace()
    {
        Assert.True(Environment.IsPrivilegedProcess, "these tests run as root, as the lab does");
        var (key, resolv) = Layout();
        var netns = ContainerNetns.For(Container(key, resolv), new NoCommands(), out var why);
        Assert.True(netns is not null, why);
        using (var held = File.OpenRead(resolv))     // what the container holds: the same file, not a replacement
        {
            netns!.WriteResolver("nameserver fd00:1::100\n");
            using var reader = new StreamReader(held);
            Assert.Equal("nameserver fd00:1::100\n", reader.ReadToEnd());
        }
    }

    [Theory]
    [InlineData("/run/docker/netns/default")]
    [InlineData("/run/docker/netns/../../../etc/0123456789ab")]
    [InlineData("relative/netns/0123456789ab")]
    [InlineData(null)]
    public void ASandboxKeyDockerDoesNotMakeIsRefused(string? key)
    {
        var (_, resolv) = Layout();
        Assert.Null(ContainerNetns.For(Container(key, resolv), new NoCommands(), out var why));
        Assert.Contains("network namespace path", why);
    }

    [Fact]
    public void AResolverFileThatIsALinkOrInAFolderOthersCanWriteIsRefused()
    {
        var (key, resolv) = Layout();
        var victim = Path.Combine(_dir, "victim");
        File.WriteAllText(victim, "keep");
        File.Delete(resolv);
        File.CreateSymbolicLink(resolv, victim);
        Assert.Null(ContainerNetns.For(Container(key, resolv), new NoCommands(), out var why));
        Assert.Contains("link", why);

        File.Delete(resolv);
        File.WriteAllText(resolv, "");
        File.SetUnixFileMode(Path.GetDirectoryName(resolv)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
        Assert.Null(ContainerNetns.For(Container(key, resolv), new NoCommands(), out why));
        Assert.Contains("only root can write", why);
        Assert.Equal("keep", File.ReadAllText(victim));
    }

    [Fact]
    public void AStoppedContainerIsRefused()
    {
        var (key, resolv) = Layout();
        Assert.Null(ContainerNetns.For(Container(key, resolv, running: false), new NoCommands(), out var why));
        Assert.Contains("does not run", why);
    }

    /// <summary>Runs the host's ip with an argument list; the test fails on a non-zero exit.</summary>
    private static void Ip(params string[] arguments)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardError = true };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"ip {string.Join(' ', arguments)}: {error}");
    }

    [Fact]
    public void ASocketMadeInANamespaceUsesThatNamespaceAndNoThreadStaysThere()
    {
        // A namespace of the test's own (ip netns add: /run/netns/<name>), removed at the end.
        var name = "ipv6dind-t-" + Guid.NewGuid().ToString("N")[..8];
        var path = Path.Combine("/run/netns", name);
        var before = File.ResolveLinkTarget("/proc/thread-self/ns/net", false)?.LinkTarget;
        Ip("netns", "add", name);
        try
        {
            // Its loopback is down: nothing is reachable from inside, while the host's own loopback is.
            using (var inside = ContainerNetns.OpenUdpSocket(path, AddressFamily.InterNetwork))
            {
                var down = Assert.Throws<SocketException>(() => inside.Connect(new IPEndPoint(IPAddress.Loopback, 53)));
                Assert.Equal(SocketError.NetworkUnreachable, down.SocketErrorCode);
            }
            using (var host = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
                host.Connect(new IPEndPoint(IPAddress.Loopback, 53));

            // With its loopback up, two sockets made in it talk over it; the host's loopback does not reach them.
            Ip("-n", name, "link", "set", "lo", "up");
            using var listener = ContainerNetns.OpenUdpSocket(path, AddressFamily.InterNetwork);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.ReceiveTimeout = 2000;
            var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            using (var hostSender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
                hostSender.SendTo("host"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, port));
            using (var sender = ContainerNetns.OpenUdpSocket(path, AddressFamily.InterNetwork))
                sender.SendTo("inside"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, port));
            var buffer = new byte[16];
            var n = listener.Receive(buffer);
            Assert.Equal("inside", System.Text.Encoding.ASCII.GetString(buffer, 0, n));

            // The calling thread never left this process's namespace (the socket's own thread entered and ended).
            Assert.Equal(before, File.ResolveLinkTarget("/proc/thread-self/ns/net", false)?.LinkTarget);
        }
        finally
        {
            Ip("netns", "delete", name);
        }
    }

    [Fact]
    public void ANamespacePathThatIsALinkIsNotFollowed()
    {
        var link = Path.Combine(_dir, "0123456789ab");
        File.CreateSymbolicLink(link, "/proc/1/ns/net");
        var ex = Assert.Throws<DindException>(() => ContainerNetns.OpenUdpSocket(link, AddressFamily.InterNetwork));
        Assert.Equal(ErrorIds.HostCommandFailed, ex.ErrorId);
        Assert.Contains("Opening the network namespace", ex.Message);
    }
}
