using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Files;

namespace Ipv6Dind.Core.Host;

/// <summary>
/// A lab container's network settings made from the host instead of through `docker exec` (a local daemon, this
/// process root): the host's own <c>ip</c> and <c>ip6tables-nft</c> run inside the network namespace Docker keeps for
/// the container, entered with <c>nsenter --net=&lt;sandbox key&gt;</c>, and the resolver file is rewritten in place
/// at the path Docker bind-mounts into the container. An exec costs a round trip through dockerd and containerd
/// (about 100 ms); a host process, a few milliseconds (bench/README.md).
/// <para>
/// What it trusts, and why (docs/design/README.md, "Security model"):
/// <list type="bullet">
/// <item>only the host's binaries run (found in the system directories, never in the container's file system), and
/// only the network namespace is entered: nothing of the container is executed, followed or mounted;</item>
/// <item>the namespace is Docker's sandbox file (a bind mount of the namespace under Docker's exec root), not a
/// process ID that could be reused by another process between inspection and entry: when the container is gone,
/// the file is gone and nsenter fails;</item>
/// <item>the sandbox file and the resolver file must lie in directories only root can write, be root's, and not be
/// symbolic links; the resolver file is opened with O_NOFOLLOW relative to its held-open directory.</item>
/// </list>
/// Anything else (another daemon, another user, a missing nsenter, an unexpected path) is <see cref="For"/>
/// returning null with the reason, and the caller uses exec as before.
/// </para>
/// </summary>
public sealed class ContainerNetns
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    // Docker's sandbox keys: <exec root>/netns/<12 hex> (the exec root is /var/run/docker unless dockerd says otherwise).
    private static readonly Regex SandboxKey = new(@"^/[A-Za-z0-9_./-]+/netns/[0-9a-f]{12}$", RegexOptions.CultureInvariant);
    private readonly IHostCommandRunner _run;

    private ContainerNetns(IHostCommandRunner run, string name, string sandboxKey, string resolvConfPath)
    {
        _run = run;
        Name = name;
        SandboxKeyPath = sandboxKey;
        ResolvConfPath = resolvConfPath;
    }

    /// <summary>The container's name (for messages).</summary>
    public string Name { get; }
    public string SandboxKeyPath { get; }
    public string ResolvConfPath { get; }

    /// <summary>The host tools this needs, by their system path; null when one is missing.</summary>
    /// <remarks>The nft variants of iptables, as the lab's images have (Debian 12's default): a rule made from here is
    /// the rule the container's own iptables lists and checks.</remarks>
    internal static (string Nsenter, string Ip, string Ip6Tables, string IpTables)? Tools()
    {
        var tools = new[] { "nsenter", "ip", "ip6tables-nft", "iptables-nft" }.Select(HostFirewall.Tool).ToArray();
        return tools.All(Path.IsPathRooted) ? (tools[0], tools[1], tools[2], tools[3]) : null;
    }

    /// <summary>
    /// The host-side way into <paramref name="container"/>'s network settings, or null (and <paramref name="why"/>)
    /// when it cannot be used safely: this process is not root, a tool is missing, or a path is not what Docker makes.
    /// The caller decides whether the daemon is this machine's (DaemonLocality) before asking.
    /// </summary>
    public static ContainerNetns? For(ContainerInfo container, IHostCommandRunner run, out string why)
    {
        if (Libc.GetEuid() != 0) { why = "this process is not root"; return null; }
        if (Tools() is null) { why = "nsenter, ip, ip6tables-nft or iptables-nft is not installed on this host"; return null; }
        if (!container.Running) { why = $"{container.Name} does not run"; return null; }
        if (container.SandboxKey is not { } key || !SandboxKey.IsMatch(key) || key.Contains("/../", StringComparison.Ordinal))
        {
            why = $"{container.Name}'s network namespace path '{container.SandboxKey}' is not one Docker makes";
            return null;
        }
        if (container.ResolvConfPath is not { } resolv || !Path.IsPathRooted(resolv) || Path.GetFileName(resolv) != "resolv.conf" || resolv.Contains("/../", StringComparison.Ordinal))
        {
            why = $"{container.Name}'s resolver file path '{container.ResolvConfPath}' is not one Docker makes";
            return null;
        }
        if (RootOnly(key) is { } keyProblem) { why = keyProblem; return null; }
        if (RootOnly(resolv) is { } resolvProblem) { why = resolvProblem; return null; }
        why = "";
        return new ContainerNetns(run, container.Name, key, resolv);
    }

    /// <summary>Why <paramref name="path"/> is not a root-owned non-link in a directory only root can write; null when it is.</summary>
    private static string? RootOnly(string path)
    {
        using var dir = SecureDirectory.Open(Path.GetDirectoryName(path)!);
        if (dir.OwnerId != 0 || dir.WritableByOthers) return $"{dir.Path} is not a folder only root can write";
        var facts = Libc.Stat(null, path, out var errno);
        if (facts is null) return $"{path}: {Libc.Message(errno)}";
        if (facts.Value.IsSymlink || facts.Value.Uid != 0) return $"{path} is a link or not root's";
        return null;
    }

    /// <summary>Runs the host's <paramref name="tool"/> (a full path from <see cref="Tools"/>) inside the container's network namespace.</summary>
    public Task<ExecResult> RunAsync(string tool, IReadOnlyList<string> arguments, string? stdin, CancellationToken ct)
    {
        var tools = Tools() ?? throw new InvalidOperationException("nsenter is gone");
        return _run.RunAsync(tools.Nsenter, new[] { "--net=" + SandboxKeyPath, "--", tool }.Concat(arguments).ToArray(), stdin, Timeout, ct);
    }

    /// <summary>A UDP socket of <paramref name="family"/> inside the container's network namespace (<see cref="OpenUdpSocket(string, AddressFamily)"/>).</summary>
    public Socket OpenUdpSocket(AddressFamily family) => OpenUdpSocket(SandboxKeyPath, family);

    /// <summary>
    /// A UDP socket made inside the network namespace at <paramref name="namespacePath"/>: a thread of its own opens the
    /// file (O_NOFOLLOW), enters the namespace with setns(2), which moves only that thread, makes the socket and
    /// ends, so no thread of this process is ever left in the container's namespace. A socket belongs to the
    /// namespace it was made in for its whole life: what it sends and receives uses that namespace's addresses,
    /// routes and firewall, wherever this process uses it from. No program runs, nothing of the container is read.
    /// </summary>
    internal static Socket OpenUdpSocket(string namespacePath, AddressFamily family)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = Libc.OpenAt(null, namespacePath, Libc.ORdOnly | Libc.ONoFollow, 0, out var errno);
                if (ns.IsInvalid)
                    throw new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.OpenError,
                        $"Opening the network namespace {namespacePath} failed: {Libc.Message(errno)}", namespacePath);
                var entered = Libc.SetNs(ns, Libc.CloneNewNet);
                if (entered != 0)
                    throw new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.PermissionDenied,
                        $"Entering the network namespace {namespacePath} failed: {Libc.Message(entered)}", namespacePath);
                socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
            }
            catch (Exception ex) { failure = ex; }
            // The thread ends here, in the namespace it entered: it is never reused.
        }) { IsBackground = true, Name = "ipv6dind-netns" };
        thread.Start();
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        return socket!;
    }

    /// <summary>Rewrites the container's resolver file in place (it is bind-mounted: a rename would not reach the container).</summary>
    public void WriteResolver(string content)
    {
        using var dir = SecureDirectory.Open(Path.GetDirectoryName(ResolvConfPath)!);
        if (dir.OwnerId != 0 || dir.WritableByOthers)
            throw new DindException(ErrorIds.HostPathUnsafe, DindErrorCategory.SecurityError,
                $"{dir.Path} is not a folder only root can write; the resolver of {Name} is not written through it.", dir.Path);
        using var file = Libc.OpenAt(dir.Handle, Path.GetFileName(ResolvConfPath), Libc.OWrOnly | Libc.OTrunc | Libc.ONoFollow, 0, out var errno);
        if (file.IsInvalid)
            throw new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.WriteError,
                $"Writing the resolver of {Name} ({ResolvConfPath}) failed: {Libc.Message(errno)}", ResolvConfPath);
        RandomAccess.Write(file, Encoding.UTF8.GetBytes(content), 0);
        Libc.Fsync(file);
    }
}
