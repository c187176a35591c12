using System.Diagnostics;
using System.Management.Automation;

namespace Ipv6Dind.Tests;

/// <summary>
/// The admin's examples. examples/nightly/Rebuild-DindLab.ps1: its pure functions (exit code, summary) through the hosted engine, and the
/// whole script in a child pwsh, as the systemd unit starts it: Docker unreachable gives exit 1, a cluster whose
/// lock another process holds gives exit 3, each with its summary on stdout and its log file. No lab is built
/// here (that needs the simulated outside world as the DNS64's upstream): the success path, in the same child pwsh
/// (New-DindCluster then Reset-DindCluster, every check passing, exit 0; a probe that reaches nothing, exit 2),
/// runs in Ipv6Dind.IntegrationTests/Lab/NightlyRebuildTests. examples/quick-start.ps1: stops at a failed host check
/// with its remedy.
/// </summary>
[Collection(Commands.DockerHostEnvironment.Name)]   // the child process inherits DOCKER_HOST: keep it unset meanwhile
public sealed class AdminExampleTests : IClassFixture<ModuleFixture>, IDisposable
{
    private static readonly string Script = Path.Combine(Repo.Root, "examples", "nightly", "Rebuild-DindLab.ps1");
    private readonly ModuleSession _ps;
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-admin-examples-").FullName;

    public AdminExampleTests(ModuleFixture fixture) => _ps = fixture.Session;
    public void Dispose() => Directory.Delete(_dir, true);

    // ------------------------------------------------------------------------------------------ pure parts

    private const string Checks = """
        . $script
        $results = @(
            [Ipv6Dind.CheckResult]@{ Target = 'lab-dns64'; Check = 'ContainerRunning'; Status = 'Pass'; Detail = 'running' }
            [Ipv6Dind.CheckResult]@{ Target = 'lab-node-1'; Check = 'Dns64Synthesis'; Status = 'Warn'; Detail = 'slow'; Remedy = 'r0' }
            [Ipv6Dind.CheckResult]@{ Target = 'lab-node-2'; Check = 'Nat64Reachability'; Status = 'Fail'; Detail = 'curl timed out'; Remedy = 'Start-DindCluster lab' }
            [Ipv6Dind.CheckResult]@{ Target = 'lab-node-2'; Check = 'Routes'; Status = 'Fail'; Detail = '1 route missing' }
        )
        """;

    private List<string> Lines(string script)
    {
        var r = _ps.Run(script, new Dictionary<string, object?> { ["script"] = Script });
        r.AssertSuccess();
        return r.Output.Select(o => o.ToString()!).ToList();
    }

    [Fact]
    public void DotSourcingDefinesTheFunctionsAndRunsNothing()
    {
        var lines = Lines(". $script; @(Get-Command Format-RebuildSummary, Resolve-RebuildExitCode | ForEach-Object Name) + @('end')");
        Assert.Equal(new[] { "Format-RebuildSummary", "Resolve-RebuildExitCode", "end" }, lines);
    }

    [Theory]
    [InlineData("Resolve-RebuildExitCode -Outcome Rebuilt -Results $results", 2)]
    [InlineData("Resolve-RebuildExitCode -Outcome Rebuilt -Results $results[0..1]", 0)]   // a warning is not a failure
    [InlineData("Resolve-RebuildExitCode -Outcome Rebuilt -Results @()", 2)]              // nothing checked: nothing proven
    [InlineData("Resolve-RebuildExitCode -Outcome Rebuilt -Results $results[0] -CheckError 'DockerUnreachable: x'", 2)]
    [InlineData("Resolve-RebuildExitCode -Outcome Failed -Results $results[0]", 1)]
    [InlineData("Resolve-RebuildExitCode -Outcome Busy", 3)]
    public void ExitCodes(string call, int expected) =>
        Assert.Equal(expected.ToString(), Assert.Single(Lines(Checks + "\n" + call)));

    [Fact]
    public void SummaryHasOneLinePerFailedCheckAndTheTotals()
    {
        var lines = Lines(Checks + """

            Format-RebuildSummary -ClusterName lab -ExitCode 2 -Action Reset-DindCluster -Results $results `
                -Duration ([TimeSpan]::FromSeconds(83.4)) -LogPath /var/log/ipv6dind/rebuild-lab.log -HostName lab-host
            """);
        Assert.Equal(new[]
        {
            "Ipv6Dind nightly rebuild of 'lab' on lab-host: CHECKS FAILED (exit 2)",
            "  Reset-DindCluster in 83 s",
            "  FAIL lab-node-2 Nat64Reachability: curl timed out -- remedy: Start-DindCluster lab",
            "  FAIL lab-node-2 Routes: 1 route missing",
            "  checks: 1 passed, 1 warned, 2 failed (of 4)",
            "  log: /var/log/ipv6dind/rebuild-lab.log",
        }, lines);
    }

    [Fact]
    public void SummaryOfAFailedRebuildNamesTheError()
    {
        var lines = Lines(". $script; Format-RebuildSummary -ClusterName lab -ExitCode 1 -RebuildError 'DockerUnreachable: no daemon' -HostName h");
        Assert.Equal(new[] { "Ipv6Dind nightly rebuild of 'lab' on h: REBUILD FAILED (exit 1)", "  error: DockerUnreachable: no daemon" }, lines);
    }

    // ------------------------------------------------------------------------------------------ the whole script

    /// <summary>A script in a child `dotnet pwsh`, as systemd or cron would start it (see PwshProcess).</summary>
    private static (int Code, string Stdout, string Stderr) RunPwsh(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        var r = PwshProcess.Run(arguments, TimeSpan.FromMinutes(2), environment);
        return (r.ExitCode, r.StdOut, r.StdErr);
    }

    private (int Code, string Stdout, string Stderr, string Log) RunNightly(string cluster, IReadOnlyDictionary<string, string>? environment = null, params string[] extra)
    {
        var log = Path.Combine(_dir, "logs", cluster + ".log");   // the directory does not exist yet: the script makes it
        var (code, stdout, stderr) = RunPwsh(new[] { "-File", Script, "-ClusterName", cluster, "-LogPath", log }.Concat(extra), environment);
        return (code, stdout, stderr, File.Exists(log) ? File.ReadAllText(log) : "");
    }

    private static readonly Dictionary<string, string> NoDocker = new() { ["DOCKER_HOST"] = "unix:///run/ipv6dind-tests-no-such-docker.sock" };

    [Fact]
    public void QuickStartStopsAtAFailedHostCheckWithItsRemedy()
    {
        var (code, stdout, stderr) = RunPwsh(new[] { "-File", Path.Combine(Repo.Root, "examples", "quick-start.ps1"), "-Name", "qs" }, NoDocker);
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("==> Test-DindHost", stdout);
        Assert.Contains("host check(s) failed", stdout);
        Assert.Contains("Docker: Start dockerd", stdout);
        Assert.DoesNotContain("==> Build-DindImage", stdout);   // nothing built or created after a failed host check
    }

    [Fact]
    public void DockerUnreachableExitsOneWithSummaryAndLog()
    {
        var (code, stdout, stderr, log) = RunNightly("nightly", NoDocker);
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Ipv6Dind nightly rebuild of 'nightly' on ", lines[0]);
        Assert.EndsWith(": REBUILD FAILED (exit 1)", lines[0]);
        Assert.StartsWith("  error: DockerUnreachable: ", lines[1]);
        Assert.Equal("", stderr);   // caught and summarized, not an unhandled error
        Assert.Contains("[nightly] start: ", log);
        Assert.Contains("ERROR (Get-DindCluster): DockerUnreachable", log);
        Assert.Contains("REMEDY: ", log);
        Assert.Contains("[nightly] finished: exit 1", log);
    }

    [Fact]
    public void AnotherRunHoldingTheLockExitsThreeAndChangesNothing()
    {
        Assert.True(Docker("version", "--format", "{{.Server.Version}}").Ok, "this test needs a Docker daemon (tests/run starts one)");
        // A stand-in lab: one labelled container, created but never started, on no network (no traffic at all).
        var cluster = $"nt{Environment.ProcessId % 100000}{Random.Shared.Next(0x1000, 0xffff):x}";
        var container = cluster + "-node-1";
        // The module's lock of this cluster on this daemon (root's shared lock folder; the tests run as root).
        var daemonId = Docker("info", "--format", "{{.ID}}").Output.Trim();
        const string lockDir = "/run/ipv6dind";
        var daemonKey = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(daemonId)))[..16].ToLowerInvariant();
        var lockPath = Path.Combine(lockDir, $"{daemonKey}.{cluster}.lock");
        try
        {
            // Any image will do: the container is never started.
            var image = Docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .FirstOrDefault(i => !i.Contains("<none>"));
            Assert.True(image is not null, "no image on the daemon to make a stand-in container of");
            Assert.True(Docker("create", "--name", container, "--network", "none", "--label", "io.ipv6dind.cluster=" + cluster,
                "--label", "io.ipv6dind.role=node", "--label", "io.ipv6dind.node-index=1", image, "true").Ok, "could not create the stand-in container");
            var id = Docker("inspect", "--format", "{{.Id}}", container).Output.Trim();

            // The cluster lock is an flock(2) on this file: util-linux flock(1) holds it, as another run would.
            Directory.CreateDirectory(lockDir);
            using var holder = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/flock") { ArgumentList = { "--exclusive", lockPath, "sleep", "60" } })!;
            try
            {
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (!File.Exists(lockPath) && DateTime.UtcNow < deadline) Thread.Sleep(50);
                Thread.Sleep(200);
                var (code, stdout, stderr, log) = RunNightly(cluster, null, "-LockTimeoutSec", "1");
                Assert.True(code == 3, $"exit {code}\n{stdout}\n{stderr}\n{log}");
                Assert.Contains(": BUSY (locked) (exit 3)", stdout);
                Assert.Contains("  error: ClusterLocked: ", stdout);
                Assert.Contains("the lab exists", log);
                Assert.Contains("ERROR (Reset-DindCluster): ClusterLocked", log);
            }
            finally
            {
                holder.Kill(entireProcessTree: true);
                holder.WaitForExit();
            }
            // Nothing was touched: the same container, still never started.
            Assert.Equal(id, Docker("inspect", "--format", "{{.Id}}", container).Output.Trim());
            Assert.Equal("created", Docker("inspect", "--format", "{{.State.Status}}", container).Output.Trim());
        }
        finally
        {
            Docker("rm", "-f", container);
            try { File.Delete(lockPath); } catch (IOException) { }
        }
    }

    private static (bool Ok, string Output) Docker(params string[] args)
    {
        var psi = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEndAsync();
            p.StandardError.ReadToEnd();
            if (!p.WaitForExit(TimeSpan.FromSeconds(30))) { p.Kill(true); return (false, ""); }
            return (p.ExitCode == 0, output.Result);
        }
        catch (System.ComponentModel.Win32Exception) { return (false, ""); }   // no docker CLI
    }
}
