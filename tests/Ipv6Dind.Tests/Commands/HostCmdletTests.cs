using System.Text.Json.Nodes;
using Ipv6Dind;

namespace Ipv6Dind.Tests.Commands;

/// <summary>
/// The host cmdlets in the hosted engine: parameters, pipeline binding, -WhatIf, error ids. daemon.json work happens on
/// temp files with -PidFile naming no daemon, so nothing here restarts or reconfigures a real dockerd; the real
/// restarts, rules and routes are in Ipv6Dind.IntegrationTests/Host against a daemon the tests own.
/// </summary>
[Collection(DockerHostEnvironment.Name)]
public sealed class HostCmdletTests : IClassFixture<ModuleFixture>, IDisposable
{
    private readonly ModuleSession _ps;
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-hostcmd-").FullName;
    private string Config => Path.Combine(_dir, "daemon.json");
    private string NoPid => Path.Combine(_dir, "no-daemon.pid");
    private const string NoDocker = "$env:DOCKER_HOST = 'unix:///run/ipv6dind-tests-no-such-docker.sock'";

    public HostCmdletTests(ModuleFixture fixture) => _ps = fixture.Session;

    private PsResult WithoutDocker(string script) => _ps.Run($"{NoDocker}; try {{ {script} }} finally {{ $env:DOCKER_HOST = $null }}");

    private string Docker(string args) => $"{args} -ConfigPath '{Config}' -PidFile '{NoPid}' -DockerVersion 20.10.24 -Confirm:$false -PassThru";

    [Theory]
    [InlineData("Enable-DockerIpv6 fd00:d0c:1::/64")]
    [InlineData("Set-DockerIpv6Prefix 2001:db8:1234:5600::/56")]
    public void WithoutPassThruTheChangeIsMadeAndNothingIsWritten(string command)
    {
        var r = _ps.Run($"{command} -ConfigPath '{Config}' -PidFile '{NoPid}' -DockerVersion 20.10.24 -Confirm:$false");
        Assert.Null(r.ErrorId);
        Assert.Empty(r.Output);
        Assert.Contains("fixed-cidr-v6", File.ReadAllText(Config));
        // The restart it needs is said as a warning, with or without -PassThru.
        Assert.Contains(r.Warnings, w => w.Contains("Restart Docker (or use -Restart)", StringComparison.Ordinal));
    }

    [Fact]
    public void GetConntrackHashsizeAnswersForAnyCpuCount()
    {
        var r = _ps.Run("Get-ConntrackHashsize -CpuCount 32");
        r.AssertSuccess();
        var s = r.Single<ConntrackStatus>();
        Assert.Equal(1048576, s.RequiredMax);
        Assert.Equal(262144, s.RequiredHashsize);
        Assert.Equal(32, s.CpuCount);
        Assert.Equal(32768, s.MaxPerCore);
        Assert.Equal(131072, s.Min);
    }

    [Theory]
    [InlineData("Get-ConntrackHashsize -MaxPerCore -1")]
    [InlineData("Get-ConntrackHashsize -CpuCount 0")]
    [InlineData("Repair-ConntrackHashsize -Min -3 -WhatIf")]
    public void BadConntrackParametersAreNamed(string script)
    {
        var r = _ps.Run(script);
        Assert.StartsWith("InvalidConntrackParameter,", r.ErrorId);
    }

    [Fact]
    public void RepairBindsByPropertyNameAndHonoursWhatIf()
    {
        var before = File.ReadAllText("/sys/module/nf_conntrack/parameters/hashsize");
        var r = _ps.Run("Get-ConntrackHashsize -CpuCount 4096 | Repair-ConntrackHashsize -WhatIf");
        r.AssertSuccess();
        Assert.Empty(r.Output);
        Assert.Equal(before, File.ReadAllText("/sys/module/nf_conntrack/parameters/hashsize"));
    }

    [Fact]
    public void RepairWithNothingToDoReturnsTheStatus()
    {
        var r = _ps.Run("Repair-ConntrackHashsize -MaxPerCore 0 -Confirm:$false");
        r.AssertSuccess();
        var s = r.Single<ConntrackStatus>();
        Assert.False(s.NeedsRepair);
        Assert.Null(s.PreviousHashsize);
    }

    [Fact]
    public void RepairOfAClusterNeedsDocker()
    {
        var r = WithoutDocker("Repair-ConntrackHashsize -ClusterName lab -Confirm:$false");
        Assert.StartsWith("DockerUnreachable,", r.ErrorId);
    }

    [Fact]
    public void TestDindHostReportsAnUnreachableDockerAsAFailedCheck()
    {
        var r = WithoutDocker("Test-DindHost");
        r.AssertSuccess();
        var checks = r.All<CheckResult>().ToList();
        var docker = Assert.Single(checks, c => c.Check == "Docker");
        Assert.Equal(CheckStatus.Fail, docker.Status);
        Assert.NotEmpty(docker.Remedy);
        Assert.Contains(checks, c => c.Check == "Ipv6Forwarding");
        Assert.Equal(4, checks.Count(c => c.Check == "KernelModule"));
        Assert.All(checks.Where(c => c.Status != CheckStatus.Pass), c => Assert.NotEmpty(c.Remedy));
    }

    [Fact]
    public void EnableWritesMergesAndBacksUp()
    {
        File.WriteAllText(Config, "{ \"log-driver\": \"journald\" }");
        var r = _ps.Run(Docker("Enable-DockerIpv6 fd00:d0c:1::/64"));
        r.AssertSuccess();
        var s = r.Single<DockerIpv6Settings>();
        Assert.True(s.Changed);
        Assert.False(s.Restarted);
        Assert.Equal("fd00:d0c:1::/64", s.FixedCidrV6);
        Assert.True(s.Experimental);
        Assert.True(File.Exists(s.BackupPath));
        Assert.Contains(r.Warnings, w => w.Contains("-Restart"));
        var json = JsonNode.Parse(File.ReadAllText(Config))!;
        Assert.Equal("journald", (string?)json["log-driver"]);
        Assert.True((bool)json["ipv6"]!);

        var again = _ps.Run(Docker("Enable-DockerIpv6 fd00:d0c:1::/64 -Restart"));
        again.AssertSuccess();
        Assert.False(again.Single<DockerIpv6Settings>().Changed);   // nothing changed: no restart asked of anything
    }

    [Fact]
    public void EnableWhatIfWritesNothing()
    {
        File.WriteAllText(Config, "{}");
        var r = _ps.Run($"Enable-DockerIpv6 fd00:d0c:1::/64 -ConfigPath '{Config}' -PidFile '{NoPid}' -DockerVersion 20.10.24 -Restart -WhatIf");
        r.AssertSuccess();
        Assert.Empty(r.Output);
        Assert.Equal("{}", File.ReadAllText(Config));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Theory]
    [InlineData("Enable-DockerIpv6 fd00:d0c:1::/96", "InvalidDockerIpv6Prefix")]
    [InlineData("Enable-DockerIpv6 fd00:d0c:1::1/64", "InvalidDockerIpv6Prefix")]
    [InlineData("Enable-DockerIpv6 nonsense", "InvalidDockerIpv6Prefix")]
    [InlineData("Enable-DockerIpv6 2001:db8:1::/64 -Masquerade", "DockerMasqueradeNotUla")]
    [InlineData("Set-DockerIpv6Prefix 2001:db8:1234:5678::/96", "DelegatedPrefixTooSmall")]
    [InlineData("Set-DockerIpv6Prefix 2001:db8:1234:5678::/64 -SubnetLength 64 -Index 1", "DelegatedPrefixTooSmall")]
    [InlineData("Set-DockerIpv6Prefix 2001:db8:1234:5600::/56 -SubnetLength 96", "InvalidSubnetLength")]
    [InlineData("Set-DockerIpv6Prefix 2001:db8:1234:5601::/56", "InvalidDockerIpv6Prefix")]
    public void BadPrefixesAreRefusedBeforeAnythingIsWritten(string command, string errorId)
    {
        File.WriteAllText(Config, "{}");
        var r = _ps.Run(Docker(command));
        Assert.StartsWith(errorId + ",", r.ErrorId);
        Assert.Empty(r.Output);
        Assert.Equal("{}", File.ReadAllText(Config));
    }

    [Fact]
    public void ASyntaxErrorLeavesDaemonJsonUntouched()
    {
        const string broken = "{ \"log-driver\": \"journald\", }";
        File.WriteAllText(Config, broken);
        var r = _ps.Run(Docker("Enable-DockerIpv6 fd00:d0c:1::/64"));
        Assert.StartsWith("InvalidDaemonJson,", r.ErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.ParserError, r.Error.CategoryInfo.Category);
        Assert.Contains(Config, r.Error.ToString());
        Assert.Equal(broken, File.ReadAllText(Config));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void AnUnwritableDaemonJsonIsAClearError()
    {
        File.WriteAllText(Path.Combine(_dir, "blocker"), "x");
        var r = _ps.Run($"Enable-DockerIpv6 fd00:d0c:1::/64 -ConfigPath '{Path.Combine(_dir, "blocker", "daemon.json")}' -PidFile '{NoPid}' -DockerVersion 20.10.24 -Confirm:$false");
        Assert.StartsWith("DaemonJsonWriteFailed,", r.ErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.WriteError, r.Error.CategoryInfo.Category);
    }

    [Fact]
    public void SetDockerIpv6PrefixPicksTheFirst80AndChangesOnlyOnce()
    {
        var r = _ps.Run(Docker("Set-DockerIpv6Prefix 2001:db8:1234:5600::/56"));
        r.AssertSuccess();
        var s = r.Single<DockerIpv6Settings>();
        Assert.Equal("2001:db8:1234:5600::/80", s.FixedCidrV6);
        Assert.Equal("2001:db8:1234:5600::/56", s.DelegatedPrefix);
        Assert.True(s.Changed);
        Assert.Equal("", s.BackupPath);   // there was no file before

        var third = _ps.Run(Docker("Set-DockerIpv6Prefix -DelegatedPrefix 2001:db8:1234:5600::/56 -SubnetLength 64 -Index 2"));
        Assert.Equal("2001:db8:1234:5602::/64", third.Single<DockerIpv6Settings>().FixedCidrV6);
    }

    [Fact]
    public void SetDockerIpv6PrefixRestartsOnlyWhenChanged()
    {
        // First run: changed, and the restart has no daemon to act on: a clear error after the file was written.
        var first = _ps.Run(Docker("Set-DockerIpv6Prefix 2001:db8:1234:5600::/56 -Restart"));
        Assert.StartsWith("DockerRestartFailed,", first.ErrorId);
        Assert.Contains("2001:db8:1234:5600::/80", File.ReadAllText(Config));
        // Same lease again: nothing changed, so no restart is attempted and there is no error.
        var second = _ps.Run(Docker("Set-DockerIpv6Prefix 2001:db8:1234:5600::/56 -Restart"));
        second.AssertSuccess();
        Assert.False(second.Single<DockerIpv6Settings>().Restarted);
    }

    [Fact]
    public void SetDockerIpv6PrefixRestartsOnlyWithRestartAndStillAcceptsTheOldNoRestart()
    {
        // The module's one polarity is -Restart (Enable-DockerIpv6 too); -NoRestart, the old opt-out, still binds and changes nothing.
        var plain = _ps.Run(Docker("Set-DockerIpv6Prefix 2001:db8:1234:5600::/56"));
        plain.AssertSuccess();
        Assert.False(plain.Single<DockerIpv6Settings>().Restarted);
        Assert.Contains(plain.Warnings, w => w.Contains("-Restart"));
        var old = _ps.Run(Docker("Set-DockerIpv6Prefix 2001:db8:1234:5600::/56 -SubnetLength 64 -NoRestart"));
        old.AssertSuccess();
        Assert.False(old.Single<DockerIpv6Settings>().Restarted);
    }

    [Fact]
    public void DaemonChangingCmdletsAreHighImpact()
    {
        foreach (var name in new[] { "Enable-DockerIpv6", "Set-DockerIpv6Prefix" })
        {
            var cmd = _ps.Run($"(Get-Command {name}).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact");
            Assert.Equal("High", cmd.Output.Single().ToString());
        }
    }

    [Fact]
    public void SyncDindRouteHostIsASwitchNamedHost()
    {
        var r = _ps.Run("(Get-Command Sync-DindRoute).Parameters['HostRoute'].Aliases");
        Assert.Equal("Host", Assert.Single(r.Output).ToString());
        var whatIf = WithoutDocker("Sync-DindRoute lab -Host -WhatIf");
        whatIf.AssertSuccess();
        Assert.Empty(whatIf.Output);
        var removeWhatIf = WithoutDocker("Sync-DindRoute lab -Host -Remove -WhatIf");
        removeWhatIf.AssertSuccess();
        Assert.StartsWith("DockerUnreachable,", WithoutDocker("Sync-DindRoute lab -Host -Confirm:$false").ErrorId);
    }

    [Fact]
    public void RemoveWithoutHostIsRefusedByTheBinder()
    {
        var r = WithoutDocker("Sync-DindRoute lab -NodeName lab-node-1 -Remove -WhatIf");
        Assert.NotNull(r.ErrorId);
        Assert.Empty(r.Output);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
