using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// dockerd restarted under a running lab: the restart policy brings the containers back without their
/// routes, resolver and IPv6-only state; Test-DindCluster says so, Start-DindCluster re-applies it, and every check
/// passes again. Runs only against the daemon tests/lab/ensure-dockerd started (its pid file), never a daemon this
/// test does not own.
/// </summary>
[Collection("lab")]
public sealed class DockerdRestartTests
{
    private const string OurPidFile = "/run/ipv6dind-dockerd.pid";
    private readonly LabFixture _f;
    public DockerdRestartTests(LabFixture fixture) => _f = fixture;

    [Fact]
    public async Task AfterADockerdRestartStartDindClusterBringsTheLabBack()
    {
        if (!File.Exists(OurPidFile))
            return; // a daemon started by someone else (systemd, a developer): not ours to restart
        const string name = "it-dockerd";
        var probes = new LabTestOptions { ProbeName = "www.example.test", ProbeUrl = "http://www.example.test/" };
        try
        {
            await _f.Lab().CreateAsync(new DindClusterSpec { ClusterName = name, Nodes = 2, Dns64Upstream = new[] { _f.Upstream } }, new LabOptions());

            await new DockerDaemonRestarter().RestartAsync(new DockerRestartOptions
            {
                PidFile = OurPidFile,
                LogFile = "/var/log/ipv6dind-dockerd.log",
                Timeout = TimeSpan.FromSeconds(90),
            }, CancellationToken.None);

            // unless-stopped: the daemon starts the containers again by itself.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await _f.Lab().GetClustersAsync(name)).Single().State != "Running" && DateTime.UtcNow < deadline)
                await Task.Delay(500);
            var broken = await new LabTester(_f.Lab()).TestAsync(name, probes);
            Assert.Contains(broken, c => c.Status == CheckStatus.Fail && c.Check is "Routes" or "Ipv6Only");

            await _f.Lab().StartAsync(name);
            var checks = await new LabTester(_f.Lab()).TestAsync(name, probes);
            var failed = checks.Where(c => c.Status == CheckStatus.Fail).Select(c => c.ToString()).ToList();
            Assert.True(failed.Count == 0, string.Join("\n", failed));
        }
        finally
        {
            await _f.Lab().RemoveAsync(name);
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }
}
