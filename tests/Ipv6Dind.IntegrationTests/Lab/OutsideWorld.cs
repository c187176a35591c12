using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// The simulated outside world (docs/design/README.md, "DNS64 and NAT64 facts"): a network namespace joined to the host
/// by a veth pair, with dnsmasq as the upstream resolver of the lab's DNS64 (198.51.100.53, 2001:db8:5e5e::53) and
/// python's http.server as the web server the NAT64 reaches (198.51.100.80, [2001:db8:5e5e::80]).
/// <para>
/// Only lab ranges are used (198.51.100.0/24, 2001:db8:5e5e::/64). Everything the host sends to the namespace
/// (DNS probes, HTTP) goes through a socket bound to the host end of the veth (SO_BINDTODEVICE), so it cannot take
/// the default route toward the uplink even when the veth is gone. Forwarded traffic from the namespace to the
/// uplink(s) is dropped by a tagged mangle/FORWARD rule while the fixture runs, and processes in the namespace see a
/// resolv.conf and hosts file of their own (/etc/netns/&lt;name&gt;/), so nothing in it ever asks the host's resolver.
/// </para>
/// <para>
/// Idempotent: <see cref="StartAsync"/> twice is a no-op; leftovers of a killed run under the same name (namespace,
/// veth, processes, work directory, rules — recorded in a state file under /run) are removed first.
/// <see cref="StopAsync"/>/<see cref="DisposeAsync"/> are safe to call twice and never remove what a newer instance
/// of the same name owns. Usable as an xunit class/collection fixture (<see cref="IAsyncLifetime"/>).
/// </para>
/// </summary>
public sealed class OutsideWorld : IAsyncDisposable, IAsyncLifetime
{
    public const string DefaultName = "ipv6dind-out";

    // --- Addresses ---------------------------------------------------------------------------------------------
    public const string Subnet4 = "198.51.100.0/24";
    public const string Subnet6 = "2001:db8:5e5e::/64";
    public const int PrefixLength4 = 24;
    public const int PrefixLength6 = 64;

    /// <summary>Host end of the veth; the namespace's IPv4 default gateway.</summary>
    public const string HostAddress4 = "198.51.100.1";

    /// <summary>Host end of the veth; the namespace's IPv6 default gateway.</summary>
    public const string HostAddress6 = "2001:db8:5e5e::1";

    /// <summary>dnsmasq: the DNS64's forwarder.</summary>
    public const string ResolverAddress4 = "198.51.100.53";

    public const string ResolverAddress6 = "2001:db8:5e5e::53";

    /// <summary>HTTP server: what the NAT64 reaches.</summary>
    public const string HttpAddress4 = "198.51.100.80";

    /// <summary>HTTP server on the IPv6 "internet" (allow-AAAA mode).</summary>
    public const string HttpAddress6 = "2001:db8:5e5e::80";

    public const string HttpUrl4 = "http://198.51.100.80/";
    public const string HttpUrl6 = "http://[2001:db8:5e5e::80]/";

    // --- Names ---------------------------------------------------------------------------------------------------
    public const string Zone = "example.test";

    /// <summary>A only (198.51.100.80): DNS64 must synthesize its AAAA.</summary>
    public const string WwwName = "www.example.test";

    public const string WwwAddress4 = HttpAddress4;

    /// <summary>A 198.51.100.80 and AAAA 2001:db8:5e5e::80: for allow-AAAA mode.</summary>
    public const string DualName = "dual.example.test";

    public const string DualAddress4 = HttpAddress4;
    public const string DualAddress6 = HttpAddress6;

    /// <summary>A name in the zone with no records: NXDOMAIN.</summary>
    public const string MissingName = "missing.example.test";

    /// <summary>Contained in the body of index.html served at <see cref="HttpUrl4"/> and <see cref="HttpUrl6"/>.</summary>
    public const string Marker = "ipv6dind-outside-world-marker-5e5e80";

    private const string StateDirectory = "/run/ipv6dind-tests/outside-world";
    private const string WorkDirectoryPrefix = "ipv6dind-out-";
    private const string NetnsEtcMarker = ".ipv6dind-outside-world";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);
    private static readonly Regex ValidName = new("^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$", RegexOptions.CultureInvariant);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TimeSpan _readyTimeout;
    private readonly string _owner = Guid.NewGuid().ToString("N");
    private readonly List<BackgroundProcess> _processes = [];
    private readonly List<string> _uplinks = [];
    private string? _netnsInode;
    private string? _hostIfIndex;
    private bool _running;

    public OutsideWorld() : this(TimeSpan.FromSeconds(20))
    {
    }

    public OutsideWorld(TimeSpan readyTimeout)
    {
        _readyTimeout = readyTimeout;
    }

    /// <summary>The network namespace's name (null before the first start).</summary>
    public string? Name { get; private set; }

    /// <summary>Host end of the veth (≤ 15 characters).</summary>
    public string? HostInterface { get; private set; }

    /// <summary>Namespace end of the veth (≤ 15 characters).</summary>
    public string? NamespaceInterface { get; private set; }

    /// <summary>Temporary directory: web root, dnsmasq pid file and logs.</summary>
    public string? WorkDirectory { get; private set; }

    public bool IsRunning => _running;

    /// <summary>dnsmasq's log (queries are logged), for diagnostics.</summary>
    public string? DnsmasqLogPath => WorkDirectory is null ? null : Path.Combine(WorkDirectory, "dnsmasq.log");

    /// <summary>The stem of the veth names for a namespace name: the name itself when short enough, else a hash.</summary>
    public static string InterfaceStem(string name)
    {
        if (name.Length <= 13)
        {
            return name;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..4];
        return name[..8] + "-" + hash;
    }

    // ==================================================================================================================
    // Start
    // ==================================================================================================================

    /// <summary>Creates the namespace, veth, dnsmasq and HTTP servers and waits until they answer. Idempotent.</summary>
    public async Task StartAsync(string name = DefaultName, CancellationToken ct = default)
    {
        if (!ValidName.IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a usable namespace name (letters, digits, '_', '.', '-'; ≤ 48 characters)", nameof(name));
        }
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_running)
            {
                if (Name != name)
                {
                    throw new InvalidOperationException($"this OutsideWorld already runs as '{Name}'; stop it before starting it as '{name}'");
                }
                return;
            }

            Name = name;
            var stem = InterfaceStem(name);
            HostInterface = stem + "-h";
            NamespaceInterface = stem + "-n";

            await RemoveLeftoversAsync(name, ct).ConfigureAwait(false);
            await CheckNoConflictingAddressesAsync(ct).ConfigureAwait(false);

            WorkDirectory = Directory.CreateTempSubdirectory(WorkDirectoryPrefix).FullName;
            _running = true; // from here on, StopAsync has something to clean
            SaveState();
            try
            {
                await CreateNetworkAsync(ct).ConfigureAwait(false);
                SaveState();
                await InstallForwardGuardAsync(ct).ConfigureAwait(false);
                SaveState();
                WriteNamespaceEtc();
                WriteWebRoot();
                StartDaemons();
                SaveState();
                await WaitUntilReadyAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                await StopCoreAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CheckNoConflictingAddressesAsync(CancellationToken ct)
    {
        var output = (await Ip(["-o", "addr", "show"], ct).ConfigureAwait(false)).StdOut;
        var net4 = IPNetwork.Parse(Subnet4);
        var net6 = IPNetwork.Parse(Subnet6);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // "3: eth0    inet 192.0.2.2/24 brd ..." / "3: eth0    inet6 fd00::2/64 scope ..."
            if (f.Length < 4 || (f[2] != "inet" && f[2] != "inet6"))
            {
                continue;
            }
            var ifName = f[1].Split('@')[0];
            if (IPAddress.TryParse(f[3].Split('/')[0], out var address) && (net4.Contains(address) || net6.Contains(address)))
            {
                throw new InvalidOperationException(
                    $"the host already has {f[3]} on {ifName}: the outside world's range ({Subnet4}, {Subnet6}) must be free. Line: {line.Trim()}");
            }
        }
    }

    private async Task CreateNetworkAsync(CancellationToken ct)
    {
        string ns = Name!, h = HostInterface!, n = NamespaceInterface!;

        await Ip(["netns", "add", ns], ct).ConfigureAwait(false);
        _netnsInode = await NetnsInodeAsync(ns, ct).ConfigureAwait(false);
        await Ip(["link", "add", h, "type", "veth", "peer", "name", n, "netns", ns], ct).ConfigureAwait(false);
        _hostIfIndex = await IfIndexAsync(h, ct).ConfigureAwait(false);

        // Host end.
        await Ip(["addr", "add", $"{HostAddress4}/{PrefixLength4}", "dev", h], ct).ConfigureAwait(false);
        await Ip(["-6", "addr", "add", $"{HostAddress6}/{PrefixLength6}", "dev", h, "nodad"], ct).ConfigureAwait(false);
        await Ip(["link", "set", h, "up"], ct).ConfigureAwait(false);

        // Namespace end.
        await Ip(["-n", ns, "link", "set", "lo", "up"], ct).ConfigureAwait(false);
        await Ip(["-n", ns, "addr", "add", $"{ResolverAddress4}/{PrefixLength4}", "dev", n], ct).ConfigureAwait(false);
        await Ip(["-n", ns, "addr", "add", $"{HttpAddress4}/{PrefixLength4}", "dev", n], ct).ConfigureAwait(false);
        await Ip(["-n", ns, "-6", "addr", "add", $"{HttpAddress6}/{PrefixLength6}", "dev", n, "nodad"], ct).ConfigureAwait(false);
        await Ip(["-n", ns, "-6", "addr", "add", $"{ResolverAddress6}/{PrefixLength6}", "dev", n, "nodad"], ct).ConfigureAwait(false);
        await Ip(["-n", ns, "link", "set", n, "up"], ct).ConfigureAwait(false);
        // Replies to NAT64-translated sources (masqueraded to Docker bridge/host addresses) go back via the host.
        await Ip(["-n", ns, "route", "add", "default", "via", HostAddress4, "dev", n], ct).ConfigureAwait(false);
        await Ip(["-n", ns, "-6", "route", "add", "default", "via", HostAddress6, "dev", n], ct).ConfigureAwait(false);

        // The host routes between the lab's Docker networks and this namespace.
        await File.WriteAllTextAsync("/proc/sys/net/ipv4/ip_forward", "1", ct).ConfigureAwait(false);
        await File.WriteAllTextAsync("/proc/sys/net/ipv6/conf/all/forwarding", "1", ct).ConfigureAwait(false);

        // The host must reach every service address through the veth, never through the default route.
        foreach (var (family, address) in new[] { ("-4", ResolverAddress4), ("-4", HttpAddress4), ("-6", ResolverAddress6), ("-6", HttpAddress6) })
        {
            var route = (await Ip([family, "-o", "route", "get", address], ct).ConfigureAwait(false)).StdOut;
            if (!Regex.IsMatch(route, $@"\bdev {Regex.Escape(h)}\b"))
            {
                throw new InvalidOperationException($"the host routes {address} not via {h} but: {route.Trim()}");
            }
        }
    }

    /// <summary>
    /// Drops anything forwarded from the namespace to the host's uplink(s) (the interfaces of its default routes and
    /// IPV6DIND_UPLINK), in mangle/FORWARD like the egress guard of tests/run. Skipped when iptables is missing.
    /// </summary>
    private async Task InstallForwardGuardAsync(CancellationToken ct)
    {
        var uplinks = new SortedSet<string>(StringComparer.Ordinal);
        if (Environment.GetEnvironmentVariable("IPV6DIND_UPLINK") is { Length: > 0 } configured)
        {
            uplinks.Add(configured);
        }
        foreach (var family in new[] { "-4", "-6" })
        {
            var routes = await HostProcess.TryRunAsync("ip", [family, "-o", "route", "show", "default"], CommandTimeout, ct).ConfigureAwait(false);
            foreach (Match m in Regex.Matches(routes.StdOut, @"\bdev (\S+)"))
            {
                uplinks.Add(m.Groups[1].Value);
            }
        }
        uplinks.Remove(HostInterface!);
        _uplinks.Clear();
        _uplinks.AddRange(uplinks);
        foreach (var tool in new[] { "iptables", "ip6tables" })
        {
            if (HostProcess.Which(tool) == tool)
            {
                continue; // not installed
            }
            foreach (var uplink in _uplinks)
            {
                await HostProcess.RunAsync(tool,
                    ["-w", "-t", "mangle", "-I", "FORWARD", "-i", HostInterface!, "-o", uplink, "-m", "comment", "--comment", GuardTag(Name!), "-j", "DROP"],
                    CommandTimeout, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// resolv.conf and hosts for processes started by "ip netns exec" (it bind-mounts /etc/netns/&lt;name&gt;/*):
    /// python's HTTPServer calls getfqdn() on its bind address, which must not query the host's resolver.
    /// </summary>
    private void WriteNamespaceEtc()
    {
        var dir = NetnsEtcDirectory(Name!);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, NetnsEtcMarker), $"{_owner}\n");
        File.WriteAllText(Path.Combine(dir, "resolv.conf"), $"# ipv6dind outside world: its own dnsmasq only\nnameserver {ResolverAddress4}\n");
        File.WriteAllText(Path.Combine(dir, "hosts"),
            "127.0.0.1 localhost\n::1 localhost\n" +
            $"{HttpAddress4} {WwwName}\n{HttpAddress6} {DualName}\n" +
            $"{ResolverAddress4} ns.{Zone}\n{ResolverAddress6} ns.{Zone}\n" +
            $"{HostAddress4} gw.{Zone}\n{HostAddress6} gw.{Zone}\n");
    }

    private void WriteWebRoot()
    {
        var www = Path.Combine(WorkDirectory!, "www");
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "index.html"),
            $"<!DOCTYPE html>\n<html><head><title>{WwwName}</title></head><body><p>{Marker}</p></body></html>\n");
    }

    private void StartDaemons()
    {
        string ns = Name!, work = WorkDirectory!;
        var www = Path.Combine(work, "www");

        _processes.Add(HostProcess.StartBackground("ip",
        [
            "netns", "exec", ns, HostProcess.Which("dnsmasq"),
            "--conf-file=/dev/null",
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            $"--listen-address={ResolverAddress4}",
            $"--listen-address={ResolverAddress6}",
            "--port=53",
            $"--pid-file={Path.Combine(work, "dnsmasq.pid")}",
            $"--log-facility={Path.Combine(work, "dnsmasq.log")}",
            "--log-queries",
            // Authoritative-style answers for the zone and everything else: NODATA/NXDOMAIN, never REFUSED (docs/design/README.md, "DNS64 and NAT64 facts").
            $"--local=/{Zone}/",
            "--local=/#/",
            $"--host-record={WwwName},{WwwAddress4}",
            $"--host-record={DualName},{DualAddress4},{DualAddress6}",
        ], Path.Combine(work, "dnsmasq.out")));

        foreach (var (address, tag) in new[] { (HttpAddress4, "http4"), (HttpAddress6, "http6") })
        {
            _processes.Add(HostProcess.StartBackground("ip",
            [
                "netns", "exec", ns, "/usr/bin/python3", "-I", "-u", "-m", "http.server",
                "--bind", address, "--directory", www, "80",
            ], Path.Combine(work, tag + ".log")));
        }
    }

    private async Task WaitUntilReadyAsync(CancellationToken ct)
    {
        var checks = new Dictionary<string, Func<CancellationToken, Task>>
        {
            [$"DNS {ResolverAddress4}:53"] = c => ProbeDnsAsync(IPAddress.Parse(ResolverAddress4), c),
            [$"DNS [{ResolverAddress6}]:53"] = c => ProbeDnsAsync(IPAddress.Parse(ResolverAddress6), c),
            [$"HTTP {HttpAddress4}:80"] = c => ProbeTcpAsync(IPAddress.Parse(HttpAddress4), 80, c),
            [$"HTTP [{HttpAddress6}]:80"] = c => ProbeTcpAsync(IPAddress.Parse(HttpAddress6), 80, c),
        };
        var lastError = checks.Keys.ToDictionary(k => k, _ => "not tried");
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            foreach (var p in _processes.Where(p => p.HasExited))
            {
                throw new InvalidOperationException(
                    $"outside world '{Name}': '{p.CommandLine}' exited with status {p.ExitCode} while starting.\n{p.Tail()}\n{DnsmasqLogTail()}");
            }
            foreach (var (what, probe) in checks.Where(c => lastError.ContainsKey(c.Key)).ToList())
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                attempt.CancelAfter(TimeSpan.FromMilliseconds(500));
                try
                {
                    await probe(attempt.Token).ConfigureAwait(false);
                    lastError.Remove(what);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    lastError[what] = e is OperationCanceledException ? "no answer within 500 ms" : e.Message;
                }
            }
            if (lastError.Count == 0)
            {
                return;
            }
            if (stopwatch.Elapsed > _readyTimeout)
            {
                var failing = string.Join("; ", lastError.Select(kv => $"{kv.Key}: {kv.Value}"));
                var tails = string.Join("\n", _processes.Select(p => $"--- {p.CommandLine}\n{p.Tail()}"));
                throw new TimeoutException(
                    $"outside world '{Name}' did not answer within {_readyTimeout.TotalSeconds:0.#} s: {failing}\n{tails}\n{DnsmasqLogTail()}");
            }
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    private async Task ProbeDnsAsync(IPAddress server, CancellationToken ct)
    {
        var response = await DnsProbe.QueryAsync(new IPEndPoint(server, 53), WwwName, DnsRecordType.A, HostInterface, ct).ConfigureAwait(false);
        if (response.ResponseCode != DnsProbe.NoError || !response.Addresses.Contains(IPAddress.Parse(WwwAddress4)))
        {
            throw new InvalidOperationException($"unexpected answer: {response}");
        }
    }

    private async Task ProbeTcpAsync(IPAddress address, int port, CancellationToken ct)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        DnsProbe.BindToDevice(socket, HostInterface!);
        await socket.ConnectAsync(new IPEndPoint(address, port), ct).ConfigureAwait(false);
    }

    private string DnsmasqLogTail()
    {
        try
        {
            var path = DnsmasqLogPath;
            if (path is null || !File.Exists(path))
            {
                return "(no dnsmasq log)";
            }
            var lines = File.ReadAllLines(path);
            return "--- dnsmasq log\n" + string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 30)));
        }
        catch (IOException e)
        {
            return $"(dnsmasq log unreadable: {e.Message})";
        }
    }

    // ==================================================================================================================
    // Use from the host
    // ==================================================================================================================

    /// <summary>A records of <paramref name="name"/>, asked over UDP of 198.51.100.53 through the veth.</summary>
    public async Task<IReadOnlyList<IPAddress>> ResolveOnHostAsync(string name, CancellationToken ct = default)
    {
        var response = await QueryOnHostAsync(name, DnsRecordType.A, null, ct).ConfigureAwait(false);
        if (response.ResponseCode != DnsProbe.NoError)
        {
            throw new InvalidOperationException($"{name} A: {response.ResponseCodeName} from {ResolverAddress4}");
        }
        return response.Addresses;
    }

    /// <summary>
    /// One DNS query from the host to the namespace's dnsmasq (<see cref="ResolverAddress4"/> unless
    /// <paramref name="server"/> is given), through the veth; retried up to three times on timeout.
    /// </summary>
    public async Task<DnsResponse> QueryOnHostAsync(string name, DnsRecordType type, IPAddress? server = null, CancellationToken ct = default)
    {
        var device = RequireRunning();
        var endpoint = new IPEndPoint(server ?? IPAddress.Parse(ResolverAddress4), 53);
        for (var attempt = 1; ; attempt++)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                return await DnsProbe.QueryAsync(endpoint, name, type, device, cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested && attempt < 3)
            {
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"no DNS answer from {endpoint} for {name} {type} after 3 attempts", e);
            }
        }
    }

    /// <summary>
    /// An HttpClient for the namespace's servers: no proxy, IP-literal URLs only (no host resolver), every connection
    /// bound to the host end of the veth.
    /// </summary>
    public HttpClient CreateHttpClient(TimeSpan? timeout = null)
    {
        var device = RequireRunning();
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectCallback = async (context, ct) =>
            {
                var host = context.DnsEndPoint.Host.Trim('[', ']');
                if (!IPAddress.TryParse(host, out var address))
                {
                    throw new HttpRequestException($"the outside world's HttpClient takes IP literals only, not '{context.DnsEndPoint.Host}'");
                }
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    DnsProbe.BindToDevice(socket, device);
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { Timeout = timeout ?? TimeSpan.FromSeconds(10) };
    }

    private string RequireRunning() =>
        _running && HostInterface is not null
            ? HostInterface
            : throw new InvalidOperationException("the outside world is not running");

    // ==================================================================================================================
    // Stop and leftovers
    // ==================================================================================================================

    /// <summary>Kills the daemons, deletes the veth and the namespace, removes the work directory. Safe to call twice.</summary>
    public async Task StopAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await StopCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    Task IAsyncLifetime.InitializeAsync() => StartAsync();

    Task IAsyncLifetime.DisposeAsync() => StopAsync();

    private async Task StopCoreAsync()
    {
        if (!_running)
        {
            return;
        }
        var errors = new List<string>();
        async Task Try(string what, Func<Task> action)
        {
            try
            {
                await action().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                errors.Add($"{what}: {e.Message}");
            }
        }

        string ns = Name!, h = HostInterface!;
        foreach (var p in _processes)
        {
            await Try($"stop {p.CommandLine}", () => p.StopAsync(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
        }
        _processes.Clear();

        // A newer instance of the same name may have replaced ours (it removed our leftovers): leave its things alone.
        // Namespace inode numbers are reused at once, so the host veth's ifindex (allocated cyclically) is compared too.
        var currentIfIndex = await IfIndexAsync(h, CancellationToken.None).ConfigureAwait(false);
        var ownsNetns = _netnsInode is not null
                        && await NetnsInodeAsync(ns, CancellationToken.None).ConfigureAwait(false) == _netnsInode
                        && (currentIfIndex is null || currentIfIndex == _hostIfIndex);
        var netnsExists = File.Exists(NetnsPath(ns));
        var stateOwner = ReadState(ns)?.Owner;
        var ownsName = ownsNetns || (!netnsExists && (stateOwner is null || stateOwner == _owner));
        if (ownsName)
        {
            if (_hostIfIndex is not null && currentIfIndex == _hostIfIndex)
            {
                await Try($"delete {h}", () => Ip(["link", "delete", h], CancellationToken.None)).ConfigureAwait(false);
            }
            if (ownsNetns)
            {
                await Try($"delete netns {ns}", () => Ip(["netns", "delete", ns], CancellationToken.None)).ConfigureAwait(false);
            }
            await Try("remove forward guard", () => RemoveGuardAsync(ns, CancellationToken.None)).ConfigureAwait(false);
            await Try("remove /etc/netns entry", () => { RemoveNetnsEtc(ns); return Task.CompletedTask; }).ConfigureAwait(false);
            await Try("wait for removal", () => WaitGoneAsync(ns, ownsNetns, _hostIfIndex is not null ? h : null)).ConfigureAwait(false);
            if (ReadState(ns)?.Owner == _owner)
            {
                await Try("remove state file", () => { File.Delete(StatePath(ns)); return Task.CompletedTask; }).ConfigureAwait(false);
            }
        }
        if (WorkDirectory is not null)
        {
            await Try($"remove {WorkDirectory}", () => { DeleteDirectory(WorkDirectory); return Task.CompletedTask; }).ConfigureAwait(false);
        }

        _running = false;
        _netnsInode = null;
        _hostIfIndex = null;
        WorkDirectory = null;
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"outside world '{ns}' was not removed cleanly: {string.Join("; ", errors)}");
        }
    }

    private static async Task WaitGoneAsync(string ns, bool netns, string? hostInterface)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var netnsLeft = netns && File.Exists(NetnsPath(ns));
            var linkLeft = hostInterface is not null && await IfIndexAsync(hostInterface, CancellationToken.None).ConfigureAwait(false) is not null;
            if (!netnsLeft && !linkLeft)
            {
                return;
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException($"still present after 10 s:{(netnsLeft ? $" netns {ns}" : "")}{(linkLeft ? $" link {hostInterface}" : "")}");
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes what a killed run left under <paramref name="name"/>: its processes (recorded, and any still inside the
    /// namespace), the host veth, the namespace, the forward guard, /etc/netns/&lt;name&gt;, its work directory and
    /// state file. Nothing outside those is touched.
    /// </summary>
    public static async Task RemoveLeftoversAsync(string name = DefaultName, CancellationToken ct = default)
    {
        if (!ValidName.IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a usable namespace name", nameof(name));
        }
        var state = ReadState(name);
        if (state is not null)
        {
            foreach (var (pid, startTime) in state.Processes)
            {
                if (ProcessStartTime(pid) == startTime)
                {
                    KillPid(pid);
                }
            }
        }

        if (File.Exists(NetnsPath(name)))
        {
            var pids = await HostProcess.TryRunAsync("ip", ["netns", "pids", name], CommandTimeout, ct).ConfigureAwait(false);
            foreach (var line in pids.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid != Environment.ProcessId)
                {
                    KillPid(pid);
                }
            }
        }

        var stem = InterfaceStem(name);
        if (await IfIndexAsync(stem + "-h", ct).ConfigureAwait(false) is not null)
        {
            await Ip(["link", "delete", stem + "-h"], ct).ConfigureAwait(false);
        }
        if (File.Exists(NetnsPath(name)))
        {
            await Ip(["netns", "delete", name], ct).ConfigureAwait(false);
        }
        await RemoveGuardAsync(name, ct).ConfigureAwait(false);
        RemoveNetnsEtc(name);
        await WaitGoneAsync(name, netns: true, stem + "-h").ConfigureAwait(false);

        if (state?.WorkDirectory is { } work && IsOurWorkDirectory(work))
        {
            DeleteDirectory(work);
        }
        if (state is not null)
        {
            File.Delete(StatePath(name));
        }
    }

    private static async Task RemoveGuardAsync(string name, CancellationToken ct)
    {
        var tag = GuardTag(name);
        foreach (var tool in new[] { "iptables", "ip6tables" })
        {
            if (HostProcess.Which(tool) == tool)
            {
                continue;
            }
            var rules = await HostProcess.TryRunAsync(tool, ["-w", "-t", "mangle", "-S", "FORWARD"], CommandTimeout, ct).ConfigureAwait(false);
            foreach (var rule in rules.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var tokens = rule.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var at = Array.IndexOf(tokens, "--comment");
                if (tokens.Length < 2 || tokens[0] != "-A" || at < 0 || at + 1 >= tokens.Length || tokens[at + 1].Trim('"') != tag)
                {
                    continue;
                }
                tokens[0] = "-D";
                await HostProcess.RunAsync(tool, new[] { "-w", "-t", "mangle" }.Concat(tokens.Select(t => t.Trim('"'))), CommandTimeout, ct).ConfigureAwait(false);
            }
        }
    }

    private static string GuardTag(string name) => "ipv6dind-outside-world-" + name;

    private static void RemoveNetnsEtc(string name)
    {
        var dir = NetnsEtcDirectory(name);
        // Only a directory this fixture created (it carries the marker file).
        if (File.Exists(Path.Combine(dir, NetnsEtcMarker)))
        {
            Directory.Delete(dir, recursive: true);
            try
            {
                Directory.Delete("/etc/netns"); // only when empty
            }
            catch (IOException)
            {
            }
        }
    }

    private static string NetnsEtcDirectory(string name) => Path.Combine("/etc/netns", name);

    private static string NetnsPath(string name) => Path.Combine("/run/netns", name);

    private static bool IsOurWorkDirectory(string path)
    {
        var full = Path.GetFullPath(path);
        var temp = Path.GetFullPath(Path.GetTempPath());
        return full.StartsWith(temp, StringComparison.Ordinal)
               && Path.GetFileName(full.TrimEnd('/')).StartsWith(WorkDirectoryPrefix, StringComparison.Ordinal)
               && Path.GetDirectoryName(full.TrimEnd('/'))!.TrimEnd('/') == temp.TrimEnd('/');
    }

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    private static void KillPid(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            p.Kill(entireProcessTree: true);
        }
        catch (ArgumentException)
        {
            // Gone already.
        }
        catch (InvalidOperationException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
        // Gone or a zombie (which has left its namespaces already); the parent, if any, reaps it.
        var deadline = Stopwatch.StartNew();
        while (ProcessState(pid) is { } state && state != "Z" && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(20);
        }
    }

    private static string? ProcessState(int pid) => StatField(pid, 0);

    /// <summary>Field 22 of /proc/&lt;pid&gt;/stat (start time in clock ticks): tells a recorded process from a reused pid.</summary>
    private static string? ProcessStartTime(int pid) => StatField(pid, 19);

    /// <summary>A field of /proc/&lt;pid&gt;/stat after the command name: index 0 is field 3 (state).</summary>
    private static string? StatField(int pid, int index)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > index ? fields[index] : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static async Task<string?> NetnsInodeAsync(string name, CancellationToken ct)
    {
        if (!File.Exists(NetnsPath(name)))
        {
            return null;
        }
        var r = await HostProcess.TryRunAsync("stat", ["-L", "-c", "%d:%i", NetnsPath(name)], CommandTimeout, ct).ConfigureAwait(false);
        return r.Succeeded ? r.StdOut.Trim() : null;
    }

    private static async Task<string?> IfIndexAsync(string ifName, CancellationToken ct)
    {
        var r = await HostProcess.TryRunAsync("ip", ["-o", "link", "show", "dev", ifName], CommandTimeout, ct).ConfigureAwait(false);
        if (!r.Succeeded)
        {
            return null;
        }
        var colon = r.StdOut.IndexOf(':');
        return colon > 0 ? r.StdOut[..colon].Trim() : null;
    }

    private static Task<HostProcessResult> Ip(IEnumerable<string> args, CancellationToken ct) =>
        HostProcess.RunAsync("ip", args, CommandTimeout, ct);

    // --- State file: what a killed run leaves behind, for the next StartAsync --------------------------------------

    private sealed record State(string? Owner, string? WorkDirectory, List<(int Pid, string StartTime)> Processes);

    private static string StatePath(string name) => Path.Combine(StateDirectory, name + ".state");

    private void SaveState()
    {
        Directory.CreateDirectory(StateDirectory);
        var sb = new StringBuilder();
        sb.Append("owner=").Append(_owner).Append('\n');
        sb.Append("netns=").Append(Name).Append('\n');
        sb.Append("veth=").Append(HostInterface).Append('\n');
        sb.Append("workdir=").Append(WorkDirectory).Append('\n');
        foreach (var p in _processes)
        {
            if (ProcessStartTime(p.Id) is { } start)
            {
                sb.Append("pid=").Append(p.Id.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(start).Append('\n');
            }
        }
        var path = StatePath(Name!);
        File.WriteAllText(path + ".tmp", sb.ToString());
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static State? ReadState(string name)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(StatePath(name));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        string? owner = null, work = null;
        var processes = new List<(int, string)>();
        foreach (var line in lines)
        {
            var eq = line.IndexOf('=');
            if (eq < 0)
            {
                continue;
            }
            var (key, value) = (line[..eq], line[(eq + 1)..]);
            switch (key)
            {
                case "owner": owner = value; break;
                case "workdir": work = value.Length > 0 ? value : null; break;
                case "pid":
                    var parts = value.Split(' ');
                    if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                    {
                        processes.Add((pid, parts[1]));
                    }
                    break;
            }
        }
        return new State(owner, work, processes);
    }
}

// ======================================================================================================================
// A tiny DNS client (RFC 1035 over UDP): enough to ask dnsmasq for A/AAAA from the host, through a given interface.
// ======================================================================================================================

public enum DnsRecordType : ushort
{
    A = 1,
    AAAA = 28,
}

public sealed record DnsResponse(int ResponseCode, bool Authoritative, int AnswerCount, IReadOnlyList<IPAddress> Addresses)
{
    public string ResponseCodeName => DnsProbe.ResponseCodeName(ResponseCode);

    public override string ToString() =>
        $"{ResponseCodeName}, {AnswerCount} answer(s){(Addresses.Count > 0 ? ": " + string.Join(", ", Addresses) : "")}";
}

public static class DnsProbe
{
    public const int NoError = 0;
    public const int FormErr = 1;
    public const int ServFail = 2;
    public const int NxDomain = 3;
    public const int NotImp = 4;
    public const int Refused = 5;

    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;

    public static string ResponseCodeName(int code) => code switch
    {
        NoError => "NOERROR",
        FormErr => "FORMERR",
        ServFail => "SERVFAIL",
        NxDomain => "NXDOMAIN",
        NotImp => "NOTIMP",
        Refused => "REFUSED",
        _ => $"RCODE{code}",
    };

    /// <summary>
    /// Pins a socket to one interface (SO_BINDTODEVICE; needs CAP_NET_RAW): its packets leave through that interface
    /// or not at all, whatever the routing table says.
    /// </summary>
    public static void BindToDevice(Socket socket, string device)
    {
        var name = Encoding.ASCII.GetBytes(device + "\0");
        socket.SetRawSocketOption(SolSocket, SoBindToDevice, name);
    }

    /// <summary>One query, one answer (no retry): cancel <paramref name="ct"/> for a timeout.</summary>
    public static async Task<DnsResponse> QueryAsync(IPEndPoint server, string name, DnsRecordType type, string? device, CancellationToken ct)
    {
        var id = (ushort)RandomNumberGenerator.GetInt32(0, 0x10000);
        var query = BuildQuery(id, name, type);
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (device is not null)
        {
            BindToDevice(socket, device);
        }
        await socket.ConnectAsync(server, ct).ConfigureAwait(false);
        await socket.SendAsync(query, SocketFlags.None, ct).ConfigureAwait(false);
        var buffer = new byte[4096];
        while (true)
        {
            var length = await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
            var response = TryParse(buffer.AsSpan(0, length), id, type);
            if (response is not null)
            {
                return response;
            }
            // Not ours (wrong id) or not a response: keep waiting until cancelled.
        }
    }

    public static byte[] BuildQuery(ushort id, string name, DnsRecordType type)
    {
        var message = new List<byte>(64);
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(header[0..], id);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], 0x0100); // standard query, RD
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], 1); // QDCOUNT
        message.AddRange(header.ToArray());
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            var bytes = Encoding.ASCII.GetBytes(label);
            if (bytes.Length is 0 or > 63)
            {
                throw new ArgumentException($"'{name}' has an empty or over-long label", nameof(name));
            }
            message.Add((byte)bytes.Length);
            message.AddRange(bytes);
        }
        message.Add(0);
        message.Add((byte)((ushort)type >> 8));
        message.Add((byte)type);
        message.Add(0);
        message.Add(1); // IN
        return message.ToArray();
    }

    /// <summary>Null when the datagram is not the response to query <paramref name="id"/>.</summary>
    public static DnsResponse? TryParse(ReadOnlySpan<byte> m, ushort id, DnsRecordType type)
    {
        if (m.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(m) != id)
        {
            return null;
        }
        var flags = BinaryPrimitives.ReadUInt16BigEndian(m[2..]);
        if ((flags & 0x8000) == 0)
        {
            return null;
        }
        int qd = BinaryPrimitives.ReadUInt16BigEndian(m[4..]), an = BinaryPrimitives.ReadUInt16BigEndian(m[6..]);
        var offset = 12;
        for (var i = 0; i < qd; i++)
        {
            offset = SkipName(m, offset) + 4;
        }
        var addresses = new List<IPAddress>();
        for (var i = 0; i < an; i++)
        {
            offset = SkipName(m, offset);
            Need(m, offset, 10);
            var rrType = BinaryPrimitives.ReadUInt16BigEndian(m[offset..]);
            var rdLength = BinaryPrimitives.ReadUInt16BigEndian(m[(offset + 8)..]);
            offset += 10;
            Need(m, offset, rdLength);
            if (rrType == (ushort)type && ((type == DnsRecordType.A && rdLength == 4) || (type == DnsRecordType.AAAA && rdLength == 16)))
            {
                addresses.Add(new IPAddress(m.Slice(offset, rdLength)));
            }
            offset += rdLength;
        }
        return new DnsResponse(flags & 0x000F, (flags & 0x0400) != 0, an, addresses);
    }

    private static int SkipName(ReadOnlySpan<byte> m, int offset)
    {
        while (true)
        {
            Need(m, offset, 1);
            var length = m[offset];
            if (length == 0)
            {
                return offset + 1;
            }
            if ((length & 0xC0) == 0xC0)
            {
                Need(m, offset, 2);
                return offset + 2;
            }
            offset += 1 + length;
        }
    }

    private static void Need(ReadOnlySpan<byte> m, int offset, int count)
    {
        if (offset + count > m.Length)
        {
            throw new FormatException("truncated DNS message");
        }
    }
}
