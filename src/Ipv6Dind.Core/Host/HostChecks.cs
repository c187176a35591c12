using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Host;

/// <summary>What Test-DindHost judges: read once, then judged by <see cref="HostChecks.Evaluate"/> without side effects.</summary>
public sealed record HostCheckInputs
{
    /// <summary>Where /proc, /sys, /lib/modules are (tests point this at a fixture tree).</summary>
    public string Root { get; init; } = "/";
    public int CpuCount { get; init; } = Environment.ProcessorCount;
    public bool IsLinux { get; init; } = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
    public string DockerEndpoint { get; init; } = "";
    /// <summary>Whether the daemon is provably this host's (<see cref="DaemonLocality"/>); null: not decided.</summary>
    public DaemonLocalityResult? DockerLocality { get; init; }
    /// <summary>The daemon's answer; null when it did not answer (<see cref="DockerError"/> says why).</summary>
    public DaemonInfo? Docker { get; init; }
    public string? DockerError { get; init; }
    /// <summary>ip6tables-save's output; null when it could not be run.</summary>
    public string? Ip6TablesSave { get; init; }
    public string? Ip6TablesError { get; init; }
}

/// <summary>
/// Test-DindHost: one <see cref="CheckResult"/> per check, each Pass, Warn or Fail with a remedy. Everything is
/// read from the host's /proc and /sys (and the Docker API, and ip6tables-save); nothing is changed.
/// </summary>
public static class HostChecks
{
    public const string Host = "host";
    // /proc/net/ipv6_route flags (include/uapi/linux/ipv6_route.h).
    private const uint RtfAddrconf = 0x00040000;
    private const uint RtfDefault = 0x00010000;

    /// <summary>The kernel features a lab needs: module name → (kernel config symbol, a file that exists once it is there).</summary>
    public static readonly IReadOnlyList<(string Module, string Config, string Probe, string Why)> Modules = new[]
    {
        ("ip6table_nat", "CONFIG_IP6_NF_NAT", "", "ip6tables NAT (MASQUERADE of the lab's traffic)"),
        ("nf_conntrack", "CONFIG_NF_CONNTRACK", "proc/sys/net/netfilter/nf_conntrack_max", "connection tracking (NAT, kube-proxy)"),
        ("tun", "CONFIG_TUN", "dev/net/tun", "tayga's NAT64 device"),
        ("br_netfilter", "CONFIG_BRIDGE_NETFILTER", "proc/sys/net/bridge", "ip6tables on bridged traffic (Docker, kube-proxy)"),
    };

    /// <summary>Reads everything the checks need: the Docker daemon (one call) and ip6tables-save (one run).</summary>
    public static async Task<HostCheckInputs> GatherAsync(IDockerApi docker, IHostCommandRunner? runner, CancellationToken ct)
    {
        DaemonInfo? info = null;
        string? dockerError = null;
        try { info = await docker.GetDaemonInfoAsync(ct).ConfigureAwait(false); }
        catch (DindException ex) { dockerError = ex.Message; }
        string? save = null, saveError = null;
        try
        {
            var r = await (runner ?? HostCommandRunner.Instance).RunAsync(HostFirewall.Tool("ip6tables-save"), Array.Empty<string>(), null, TimeSpan.FromSeconds(20), ct).ConfigureAwait(false);
            if (r.Succeeded) save = r.StandardOutput; else saveError = r.StandardError.Trim();
        }
        catch (DindException ex) { saveError = ex.Message; }
        return new HostCheckInputs { DockerEndpoint = docker.Endpoint, DockerLocality = DaemonLocality.Check(docker.Endpoint), Docker = info, DockerError = dockerError, Ip6TablesSave = save, Ip6TablesError = saveError };
    }

    public static IReadOnlyList<CheckResult> Evaluate(HostCheckInputs input)
    {
        var results = new List<CheckResult>();
        if (!input.IsLinux)
        {
            results.Add(Fail(Host, "Platform", $"{RuntimeInformation.OSDescription}: Docker Desktop (macOS, Windows) gives containers no usable IPv6",
                "Run Ipv6Dind on a Linux host (or a Linux VM) with Docker Engine."));
            return results;
        }
        var root = input.Root;
        results.Add(Pass(Host, "Platform", RuntimeInformation.OSDescription));

        // IPv6 on, forwarding on (nodes and pods route through the host's bridges; NAT64's IPv4 leaves through it).
        var disabled = new[] { "all", "default" }.Select(i => (i, Read(root, $"proc/sys/net/ipv6/conf/{i}/disable_ipv6"))).ToList();
        results.Add(disabled.Any(d => d.Item2 is null)
            ? Fail(Host, "Ipv6Enabled", "the kernel has no IPv6 (no /proc/sys/net/ipv6)", "Boot without ipv6.disable=1 (kernel command line).")
            : disabled.All(d => d.Item2 == "0")
                ? Pass(Host, "Ipv6Enabled", "net.ipv6.conf.all/default.disable_ipv6 = 0")
                : Fail(Host, "Ipv6Enabled", string.Join(", ", disabled.Select(d => $"net.ipv6.conf.{d.i}.disable_ipv6 = {d.Item2}")),
                    "sysctl -w net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 (and in /etc/sysctl.d to keep it)."));
        var forwarding6 = Read(root, "proc/sys/net/ipv6/conf/all/forwarding");
        results.Add(forwarding6 == "1"
            ? Pass(Host, "Ipv6Forwarding", "net.ipv6.conf.all.forwarding = 1")
            : Fail(Host, "Ipv6Forwarding", $"net.ipv6.conf.all.forwarding = {forwarding6 ?? "unreadable"}",
                "sysctl -w net.ipv6.conf.all.forwarding=1 (first check the accept_ra result: forwarding makes the kernel ignore router advertisements)."));
        var forwarding4 = Read(root, "proc/sys/net/ipv4/ip_forward");
        results.Add(forwarding4 == "1"
            ? Pass(Host, "Ipv4Forwarding", "net.ipv4.ip_forward = 1")
            : Fail(Host, "Ipv4Forwarding", $"net.ipv4.ip_forward = {forwarding4 ?? "unreadable"}: NAT64's IPv4 side cannot leave the host",
                "sysctl -w net.ipv4.ip_forward=1"));
        results.AddRange(AcceptRa(root, forwarding6 == "1"));
        results.Add(Swap(root));
        results.AddRange(Docker(input));
        results.AddRange(Modules.Select(m => Module(root, m.Module, m.Config, m.Probe, m.Why)));
        results.Add(Conntrack(root, input.CpuCount));
        results.Add(BridgePorts(root));
        results.Add(Privileged(root));
        results.Add(Cgroups(root, input.Docker));
        return results;
    }

    /// <summary>
    /// With forwarding on, the kernel ignores router advertisements unless accept_ra = 2, so a default
    /// route learned from RAs silently expires and the host loses IPv6. Judged per interface that has one.
    /// </summary>
    private static IEnumerable<CheckResult> AcceptRa(string root, bool forwarding)
    {
        var interfaces = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in Lines(root, "proc/net/ipv6_route"))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 10 || f[1] != "00" || !uint.TryParse(f[8], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags)) continue;
            if ((flags & RtfAddrconf) != 0 && (flags & RtfDefault) != 0 && f[9] != "lo") interfaces.Add(f[9]);
        }
        if (interfaces.Count == 0)
        {
            yield return Pass(Host, "AcceptRa", "no default route learned from router advertisements (static or none)");
            yield break;
        }
        foreach (var nic in interfaces)
        {
            var acceptRa = Read(root, $"proc/sys/net/ipv6/conf/{nic}/accept_ra");
            if (!forwarding || acceptRa == "2")
                yield return Pass(nic, "AcceptRa", $"default route from router advertisements, accept_ra = {acceptRa}{(forwarding ? "" : ", forwarding off")}");
            else
                yield return Fail(nic, "AcceptRa", $"default route from router advertisements with forwarding on and accept_ra = {acceptRa}: the kernel ignores further RAs and the route expires",
                    $"sysctl -w net.ipv6.conf.{nic}.accept_ra=2 (before turning forwarding on; keep it in /etc/sysctl.d).");
        }
    }

    private static CheckResult Swap(string root)
    {
        var swaps = Lines(root, "proc/swaps").Skip(1).Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length >= 3).ToList();
        return swaps.Count == 0
            ? Pass(Host, "Swap", "no swap")
            : Warn(Host, "Swap", $"swap on {string.Join(", ", swaps.Select(f => f[0]))}: kubelet refuses to start with swap unless failSwapOn is false",
                "swapoff -a (and remove it from /etc/fstab), or run kubelet with failSwapOn: false.");
    }

    private static IEnumerable<CheckResult> Docker(HostCheckInputs input)
    {
        var target = input.DockerEndpoint.Length > 0 ? input.DockerEndpoint : "docker";
        if (input.Docker is not { } d)
        {
            yield return Fail(target, "Docker", $"Docker does not answer: {input.DockerError}", "Start dockerd (systemctl start docker), or set DOCKER_HOST to a daemon that runs.");
            yield break;
        }
        if (input.DockerLocality is { IsLocal: false } elsewhere)
            yield return Warn(target, "DockerHostLocation",
                $"Docker at {input.DockerEndpoint} is not provably this machine's ({elsewhere.Evidence}): the kernel, sysctl, swap, module, conntrack and ip6tables checks describe this machine, not the Docker host",
                "Run Test-DindHost on the Docker host, as root, for those; labs on a daemon elsewhere need -Dns64Upstream and cannot use AAAA mode or host routes from here.");
        if (d.IsDockerDesktop)
        {
            yield return Fail(target, "Docker", $"Docker Desktop ({d.OperatingSystem}): its VM gives containers no usable IPv6, as on macOS",
                "Use Docker Engine on a Linux host or Linux VM.");
            yield break;
        }
        var version = System.Version.TryParse(d.Version.Split('+', '-')[0], out var v) ? v : null;
        yield return version is not null && version < new System.Version(20, 10)
            ? Fail(target, "Docker", $"Docker {d.Version}: IPv6 networks with ip6tables need 20.10 or later", "Upgrade Docker Engine to 20.10 or later.")
            : Pass(target, "Docker", $"Docker {d.Version} (API {d.ApiVersion}) on {d.OperatingSystem}");
        yield return d.Ipv6Default
            ? Pass(target, "DockerIpv6", "the default bridge has IPv6 (ipv6: true)")
            : Warn(target, "DockerIpv6", "the default bridge has no IPv6 (labs make their own IPv6 networks and work without it)",
                "Enable-DockerIpv6 -FixedCidrV6 <a ULA /64> -Restart, for IPv6 on docker0 too.");
        if (input.Ip6TablesSave is null)
            yield return Warn(Host, "DockerIp6Tables", $"ip6tables-save could not be read: {input.Ip6TablesError}",
                "Install iptables (ip6tables) and run Test-DindHost as root; AAAA mode's host rules need it.");
        else if (input.Ip6TablesSave.Split('\n').Any(l => l.StartsWith(":DOCKER ", StringComparison.Ordinal) || l.StartsWith(":DOCKER-ISOLATION", StringComparison.Ordinal)))
            yield return Pass(target, "DockerIp6Tables", "dockerd manages ip6tables (its DOCKER chains are there)");
        else
            yield return Warn(target, "DockerIp6Tables", "dockerd does not manage ip6tables (no DOCKER chain): IPv6 port publishing and network isolation are not enforced",
                "Enable-DockerIpv6 -FixedCidrV6 <prefix> -Restart sets ip6tables (and experimental before Docker 27).");
    }

    /// <summary>Loaded (/proc/modules, /sys/module), built in (kernel config, modules.builtin), or loadable (a .ko) — else missing.</summary>
    private static CheckResult Module(string root, string module, string config, string probe, string why)
    {
        var loaded = Lines(root, "proc/modules").Any(l => l.StartsWith(module + " ", StringComparison.Ordinal))
            || Directory.Exists(Path.Combine(root, "sys/module", module))
            || probe.Length > 0 && (File.Exists(Path.Combine(root, probe)) || Directory.Exists(Path.Combine(root, probe)));
        if (loaded) return Pass(module, "KernelModule", $"present: {why}");
        var release = Read(root, "proc/sys/kernel/osrelease") ?? "";
        var setting = KernelConfig(root, release, config);
        if (setting == "y" || Lines(root, $"lib/modules/{release}/modules.builtin").Any(l => l.EndsWith($"/{module}.ko", StringComparison.Ordinal)))
            return Pass(module, "KernelModule", $"built into the kernel ({config}=y): {why}");
        var ko = Lines(root, $"lib/modules/{release}/modules.dep").Any(l => l.Split(':')[0].EndsWith($"/{module}.ko", StringComparison.Ordinal) || l.Split(':')[0].Contains($"/{module}.ko.", StringComparison.Ordinal));
        if (setting == "m" || ko)
            return Warn(module, "KernelModule", $"a module, not loaded yet: {why}", $"modprobe {module} (and add it to /etc/modules-load.d to keep it).");
        return Fail(module, "KernelModule", $"not found in the running kernel ({release}): {why}", $"Use a kernel with {config} (=y or =m).");
    }

    /// <summary>"y", "m" or null, from /proc/config.gz or /boot/config-&lt;release&gt;.</summary>
    private static string? KernelConfig(string root, string release, string symbol)
    {
        IEnumerable<string> lines = Array.Empty<string>();
        var gz = Path.Combine(root, "proc/config.gz");
        try
        {
            if (File.Exists(gz))
            {
                using var stream = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress);
                using var reader = new StreamReader(stream);
                lines = reader.ReadToEnd().Split('\n');
            }
            else lines = Lines(root, $"boot/config-{release}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException) { }
        var hit = lines.FirstOrDefault(l => l.StartsWith(symbol + "=", StringComparison.Ordinal));
        return hit?[(symbol.Length + 1)..].Trim();
    }

    private static CheckResult Conntrack(string root, int cpus)
    {
        var status = ConntrackHashsize.Status(cpus, ConntrackHashsize.DefaultMaxPerCore, ConntrackHashsize.DefaultMin, root);
        if (status.CurrentHashsize is null)
            return Warn(Host, "ConntrackHashsize", status.Detail, "modprobe nf_conntrack, then Get-ConntrackHashsize.");
        return status.NeedsRepair
            ? Warn(Host, "ConntrackHashsize", $"{status.Detail} (Ipv6Dind's own kube-proxy configs use maxPerCore 0 and are not affected)",
                "Repair-ConntrackHashsize (as root, on the host) raises it to what kube-proxy wants.")
            : Pass(Host, "ConntrackHashsize", $"hashsize {status.CurrentHashsize} ≥ {status.RequiredHashsize}, what kube-proxy's defaults want on {cpus} CPU(s)");
    }

    /// <summary>A Linux bridge takes at most 1023 ports (BR_MAX_PORTS 1024, port 0 reserved): one per node and pod probe.</summary>
    public const int BridgeMaxPorts = 1023;

    private static CheckResult BridgePorts(string root)
    {
        var net = Path.Combine(root, "sys/class/net");
        var bridges = SafeDirectories(net).Where(d => Directory.Exists(Path.Combine(d, "bridge")))
            .Select(d => (Name: Path.GetFileName(d), Ports: SafeEntries(Path.Combine(d, "brif")))).OrderByDescending(b => b.Ports).ToList();
        if (bridges.Count == 0) return Pass(Host, "BridgePorts", $"no Linux bridges yet (each takes up to {BridgeMaxPorts} ports)");
        var fullest = bridges[0];
        var left = BridgeMaxPorts - fullest.Ports;
        var detail = $"{bridges.Count} bridge(s); the fullest, {fullest.Name}, has {fullest.Ports} of {BridgeMaxPorts} ports ({left} left)";
        return left <= 0 ? Fail(fullest.Name, "BridgePorts", detail, "Spread the containers over more networks (one lab per bridge).")
            : left < 64 ? Warn(fullest.Name, "BridgePorts", detail, "A lab needs one port per node on its bridge; plan larger labs on their own networks.")
            : Pass(fullest.Name, "BridgePorts", detail);
    }

    private static readonly string[] CapabilityNames =
    {
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
        "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
        "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
        "PERFMON", "BPF", "CHECKPOINT_RESTORE",
    };

    /// <summary>
    /// `--privileged` asks runc for every capability; when dockerd's bounding set lacks one (a sandbox or VM that
    /// drops CAP_SYS_RESOURCE), runc fails with "unable to apply caps". Read from dockerd's /proc status when it runs
    /// here, else this process's (started from the same session).
    /// </summary>
    private static CheckResult Privileged(string root)
    {
        var (owner, status) = DockerdStatus(root) ?? ("this process", Lines(root, "proc/self/status").ToList());
        var bnd = status.FirstOrDefault(l => l.StartsWith("CapBnd:", StringComparison.Ordinal));
        var last = int.TryParse(Read(root, "proc/sys/kernel/cap_last_cap"), NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : CapabilityNames.Length - 1;
        if (bnd is null || !ulong.TryParse(bnd["CapBnd:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var set))
            return Warn(Host, "Privileged", "the capability bounding set could not be read", "Try `docker run --rm --privileged <image> true`.");
        var missing = Enumerable.Range(0, last + 1).Where(i => (set & (1UL << i)) == 0)
            .Select(i => i < CapabilityNames.Length ? "CAP_" + CapabilityNames[i] : $"cap {i}").ToList();
        return missing.Count == 0
            ? Pass(Host, "Privileged", $"{owner} has every capability: --privileged containers can start")
            : Warn(Host, "Privileged", $"{owner} lacks {string.Join(", ", missing)}: `docker run --privileged` fails with \"unable to apply caps\"",
                "Ipv6Dind's containers do not need it (they add every capability but these); images that insist on --privileged need a host without the restriction.");
    }

    private static (string Owner, List<string> Status)? DockerdStatus(string root)
    {
        foreach (var dir in SafeDirectories(Path.Combine(root, "proc")))
        {
            var name = Path.GetFileName(dir);
            if (name.Length == 0 || !name.All(char.IsAsciiDigit)) continue;
            if (Read(root, $"proc/{name}/comm") == "dockerd") return ($"dockerd (pid {name})", Lines(root, $"proc/{name}/status").ToList());
        }
        return null;
    }

    private static CheckResult Cgroups(string root, DaemonInfo? docker)
    {
        var version = docker?.CgroupVersion is { Length: > 0 } v ? v : File.Exists(Path.Combine(root, "sys/fs/cgroup/cgroup.controllers")) ? "2" : "1";
        return version == "2"
            ? Pass(Host, "CgroupVersion", "cgroup v2")
            : Warn(Host, "CgroupVersion", "cgroup v1: the network lab works; Kubernetes keeps v1 in maintenance mode since 1.31 and newer node images expect v2",
                "Boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2) for Kubernetes 1.31 and later.");
    }

    private static string? Read(string root, string relative)
    {
        try
        {
            var path = Path.Combine(root, relative);
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    private static IEnumerable<string> Lines(string root, string relative) => (Read(root, relative) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static IEnumerable<string> SafeDirectories(string path)
    {
        try { return Directory.Exists(path) ? Directory.GetDirectories(path) : Array.Empty<string>(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return Array.Empty<string>(); }
    }

    private static int SafeEntries(string path)
    {
        try { return Directory.Exists(path) ? Directory.GetFileSystemEntries(path).Length : 0; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return 0; }
    }

    private static CheckResult Pass(string target, string check, string detail) => new() { Target = target, Check = check, Status = CheckStatus.Pass, Detail = detail };
    private static CheckResult Warn(string target, string check, string detail, string remedy) => new() { Target = target, Check = check, Status = CheckStatus.Warn, Detail = detail, Remedy = remedy };
    private static CheckResult Fail(string target, string check, string detail, string remedy) => new() { Target = target, Check = check, Status = CheckStatus.Fail, Detail = detail, Remedy = remedy };
}
