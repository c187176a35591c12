using System.IO.Compression;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Tests.Host;

public sealed class HostChecksTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ipv6dind-hostchecks-").FullName;
    private static readonly DaemonInfo Engine = new("20.10.24+dfsg1", "1.41", "Debian GNU/Linux 12 (bookworm)", true, false, "1", false);

    private void Write(string relative, string content)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    /// <summary>A healthy host shaped like this project's machines (kernel config in /proc/config.gz, everything built in).</summary>
    private void HealthyHost()
    {
        foreach (var i in new[] { "all", "default" }) Write($"proc/sys/net/ipv6/conf/{i}/disable_ipv6", "0\n");
        Write("proc/sys/net/ipv6/conf/all/forwarding", "1\n");
        Write("proc/sys/net/ipv4/ip_forward", "1\n");
        Write("proc/net/ipv6_route",
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n");
        Write("proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
        Write("proc/sys/kernel/osrelease", "6.18.44-test\n");
        Write("proc/sys/net/netfilter/nf_conntrack_max", "262144\n");
        Write("sys/module/nf_conntrack/parameters/hashsize", "262144\n");
        Write("dev/net/tun", "");
        Directory.CreateDirectory(Path.Combine(_root, "proc/sys/net/bridge"));
        using (var gz = new GZipStream(File.Create(Path.Combine(_root, "proc/config.gz")), CompressionLevel.Fastest))
        using (var w = new StreamWriter(gz))
            w.Write("CONFIG_IP6_NF_NAT=y\nCONFIG_NF_CONNTRACK=y\nCONFIG_TUN=y\nCONFIG_BRIDGE_NETFILTER=y\n");
        Write("proc/sys/kernel/cap_last_cap", "40\n");
        Write("proc/self/status", "Name:\ttest\nCapBnd:\t000001ffffffffff\n");
        Directory.CreateDirectory(Path.Combine(_root, "sys/class/net/docker0/bridge"));
        foreach (var port in new[] { "veth1", "veth2" }) Directory.CreateDirectory(Path.Combine(_root, $"sys/class/net/docker0/brif/{port}"));
        Directory.CreateDirectory(Path.Combine(_root, "sys/class/net/eth0"));
        Write("sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
    }

    private HostCheckInputs Inputs(DaemonInfo? docker = null, int cpus = 2) => new()
    {
        Root = _root, CpuCount = cpus, IsLinux = true, DockerEndpoint = "unix:///var/run/docker.sock",
        Docker = docker ?? Engine with { Ipv6Default = true, CgroupVersion = "2" },
        Ip6TablesSave = "*filter\n:INPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n:DOCKER-ISOLATION-STAGE-1 - [0:0]\nCOMMIT\n",
    };

    private static CheckResult One(IEnumerable<CheckResult> results, string check, string? target = null) =>
        Assert.Single(results, r => r.Check == check && (target is null || r.Target == target));

    [Fact]
    public void AHealthyHostPassesEveryCheck()
    {
        HealthyHost();
        var results = HostChecks.Evaluate(Inputs());
        Assert.All(results, r => Assert.True(r.Status == CheckStatus.Pass, r.ToString()));
        Assert.Equal(new[] { "Platform", "Ipv6Enabled", "Ipv6Forwarding", "Ipv4Forwarding", "AcceptRa", "Swap", "Docker", "DockerIpv6", "DockerIp6Tables",
            "KernelModule", "KernelModule", "KernelModule", "KernelModule", "ConntrackHashsize", "BridgePorts", "Privileged", "CgroupVersion" }, results.Select(r => r.Check));
        Assert.Contains("built into the kernel", One(results, "KernelModule", "ip6table_nat").Detail);
        Assert.Contains("2 of 1023 ports", One(results, "BridgePorts").Detail);
    }

    [Theory]
    [InlineData("unix:///var/run/docker.sock", true)]
    [InlineData("unix:///tmp/forwarded.sock", false)]
    [InlineData("unix:///run/nobody-listens.sock", false)]
    [InlineData("tcp://127.0.0.1:2375", false)]
    [InlineData("tcp://[::1]:2376", false)]
    [InlineData("tcp://localhost:2376", false)]
    [InlineData("tcp://docker-host.example:2376", false)]
    [InlineData("tcp://198.51.100.7:2376", false)]
    [InlineData("tcp://[2001:db8::7]:2376", false)]
    public void ADaemonNotProvablyHereIsSaidToBeOneAndItsHostChecksAreQualified(string endpoint, bool local)
    {
        using var proc = new FakeProc();
        proc.Process(700, "/usr/sbin/dockerd", new[] { "dockerd" }, sockets: 6234);
        proc.Listen(6234, "/var/run/docker.sock");
        proc.Process(800, "/usr/bin/socat", new[] { "socat" }, sockets: 7000);
        proc.Listen(7000, "/tmp/forwarded.sock");
        var locality = new DaemonLocality(proc.Root).Decide(DockerEndpoint.Resolve(endpoint, _ => null).Display);
        Assert.Equal(local, locality.IsLocal);
        HealthyHost();
        var results = HostChecks.Evaluate(Inputs() with { DockerEndpoint = DockerEndpoint.Resolve(endpoint, _ => null).Display, DockerLocality = locality });
        if (local)
            Assert.DoesNotContain(results, r => r.Check == "DockerHostLocation");
        else
        {
            var warn = One(results, "DockerHostLocation");
            Assert.Equal(CheckStatus.Warn, warn.Status);
            Assert.Contains("describe this machine, not the Docker host", warn.Detail);
            Assert.Contains("-Dns64Upstream", warn.Remedy);
        }
    }

    [Fact]
    public void EachProblemHasItsStatusAndARemedy()
    {
        HealthyHost();
        Write("proc/sys/net/ipv6/conf/default/disable_ipv6", "1\n");
        Write("proc/sys/net/ipv4/ip_forward", "0\n");
        // A default route learned from RAs on eth1 (flags RTF_UP|RTF_GATEWAY|RTF_DEFAULT|RTF_ADDRCONF|RTF_EXPIRES) with accept_ra 1.
        Write("proc/net/ipv6_route",
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00450003     eth1\n");
        Write("proc/sys/net/ipv6/conf/eth1/accept_ra", "1\n");
        Write("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swapfile                               file\t\t1048572\t\t0\t\t-2\n");
        Write("sys/module/nf_conntrack/parameters/hashsize", "65536\n");
        Write("proc/self/status", "Name:\ttest\nCapBnd:\t000001fffeffffff\n");  // no CAP_SYS_RESOURCE
        File.Delete(Path.Combine(_root, "sys/fs/cgroup/cgroup.controllers"));
        var results = HostChecks.Evaluate(Inputs(Engine, cpus: 32) with { Ip6TablesSave = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n" });

        Assert.Equal(CheckStatus.Fail, One(results, "Ipv6Enabled").Status);
        Assert.Equal(CheckStatus.Fail, One(results, "Ipv4Forwarding").Status);
        var ra = One(results, "AcceptRa", "eth1");
        Assert.Equal(CheckStatus.Fail, ra.Status);
        Assert.Contains("accept_ra=2", ra.Remedy);
        Assert.Equal(CheckStatus.Warn, One(results, "Swap").Status);
        Assert.Equal(CheckStatus.Warn, One(results, "DockerIpv6").Status);
        Assert.Equal(CheckStatus.Warn, One(results, "DockerIp6Tables").Status);
        var conntrack = One(results, "ConntrackHashsize");
        Assert.Equal(CheckStatus.Warn, conntrack.Status);
        Assert.Contains("65536 < 1048576 / 4", conntrack.Detail);
        var privileged = One(results, "Privileged");
        Assert.Equal(CheckStatus.Warn, privileged.Status);
        Assert.Contains("CAP_SYS_RESOURCE", privileged.Detail);
        Assert.Equal(CheckStatus.Warn, One(results, "CgroupVersion").Status);
        Assert.All(results.Where(r => r.Status != CheckStatus.Pass), r => Assert.NotEmpty(r.Remedy));
    }

    [Fact]
    public void AcceptRaTwoPasses()
    {
        HealthyHost();
        Write("proc/net/ipv6_route",
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00450003     eth1\n");
        Write("proc/sys/net/ipv6/conf/eth1/accept_ra", "2\n");
        Assert.Equal(CheckStatus.Pass, One(HostChecks.Evaluate(Inputs()), "AcceptRa", "eth1").Status);
    }

    [Fact]
    public void ModulesAreLoadedBuiltInLoadableOrMissing()
    {
        HealthyHost();
        File.Delete(Path.Combine(_root, "proc/config.gz"));
        File.Delete(Path.Combine(_root, "dev/net/tun"));
        Directory.Delete(Path.Combine(_root, "proc/sys/net/bridge"));
        Write("proc/modules", "ip6table_nat 16384 1 - Live 0x0000000000000000\n");
        Write("lib/modules/6.18.44-test/modules.dep", "kernel/drivers/net/tun.ko.xz:\n");
        var results = HostChecks.Evaluate(Inputs());
        Assert.Equal(CheckStatus.Pass, One(results, "KernelModule", "ip6table_nat").Status);
        var tun = One(results, "KernelModule", "tun");
        Assert.Equal(CheckStatus.Warn, tun.Status);
        Assert.Equal("modprobe tun (and add it to /etc/modules-load.d to keep it).", tun.Remedy);
        Assert.Equal(CheckStatus.Fail, One(results, "KernelModule", "br_netfilter").Status);
    }

    [Fact]
    public void DockerDesktopAndAnUnreachableDaemonFail()
    {
        HealthyHost();
        var desktop = One(HostChecks.Evaluate(Inputs(Engine with { OperatingSystem = "Docker Desktop", IsDockerDesktop = true })), "Docker");
        Assert.Equal(CheckStatus.Fail, desktop.Status);
        Assert.Contains("no usable IPv6", desktop.Detail);
        var down = HostChecks.Evaluate(Inputs() with { Docker = null, DockerError = "connection refused" });
        Assert.Equal(CheckStatus.Fail, One(down, "Docker").Status);
        Assert.DoesNotContain(down, r => r.Check == "DockerIpv6");
        var old = One(HostChecks.Evaluate(Inputs(Engine with { Version = "19.03.15" })), "Docker");
        Assert.Equal(CheckStatus.Fail, old.Status);
    }

    [Fact]
    public void MacOsIsOneClearFailure()
    {
        var results = HostChecks.Evaluate(Inputs() with { IsLinux = false });
        var only = Assert.Single(results);
        Assert.Equal(CheckStatus.Fail, only.Status);
        Assert.Contains("Docker Desktop", only.Detail);
    }

    [Fact]
    public void AFullBridgeFails()
    {
        HealthyHost();
        for (var i = 0; i < 1023; i++) Directory.CreateDirectory(Path.Combine(_root, $"sys/class/net/docker0/brif/v{i}"));
        Assert.Equal(CheckStatus.Fail, One(HostChecks.Evaluate(Inputs()), "BridgePorts").Status);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
