using System.Text.RegularExpressions;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Tests;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// The success path of examples/nightly/Rebuild-DindLab.ps1, run as the systemd timer runs it: the whole script through
/// a child `dotnet pwsh` (PwshProcess), for a network lab whose DNS64 forwards to the simulated outside world. First
/// run: no lab, New-DindCluster creates it, every check passes, exit 0. Second run: the lab exists, Reset-DindCluster
/// rebuilds its nodes with the same names and addresses, exit 0. And a run whose probe URL reaches nothing (an
/// address of the outside world where nothing listens): exit 2, the failed check and its remedy on stdout.
/// The unit tests (Ipv6Dind.Tests/AdminExampleTests) cover its pure parts and its exit codes 1 and 3.
/// </summary>
[Collection("lab")]
public sealed class NightlyRebuildTests : IDisposable
{
    private static readonly string Script = Path.Combine(Repo.Root, "examples", "nightly", "Rebuild-DindLab.ps1");

    /// <summary>The IPv4-only web server by its A-only name: reached through DNS64 and NAT64.</summary>
    private static readonly string ProbeUrl = $"http://{OutsideWorld.WwwName}/";

    /// <summary>In the outside world's range, but no address of its namespace: nothing answers there.</summary>
    private const string NothingListens4 = "198.51.100.81";

    private readonly LabFixture _f;
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-nightly-").FullName;

    public NightlyRebuildTests(LabFixture fixture) => _f = fixture;
    public void Dispose() => Directory.Delete(_dir, true);

    private sealed record NightlyRun(int Code, string Stdout, string Stderr, string Log)
    {
        public string[] Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
        public override string ToString() => $"exit {Code}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}\n--- log\n{Log}";
    }

    /// <summary>
    /// The script in a child pwsh, as ipv6dind-rebuild.service starts it (an argument vector, no shell). Log is
    /// what this run appended to <paramref name="logPath"/>.
    /// </summary>
    private async Task<NightlyRun> RunNightlyAsync(string cluster, string logPath, params string[] extra)
    {
        var before = File.Exists(logPath) ? await File.ReadAllTextAsync(logPath) : "";
        var args = new List<string>
        {
            "-File", Script,
            "-ClusterName", cluster, "-LogPath", logPath,
            "-NetworkOnly", "-Nodes", "2", "-Dns64Upstream", _f.Upstream, "-ProbeName", OutsideWorld.WwwName,
        };
        args.AddRange(extra);
        var r = await PwshProcess.RunAsync(args, TimeSpan.FromMinutes(10));
        var after = File.Exists(logPath) ? await File.ReadAllTextAsync(logPath) : "";
        Assert.True(after.StartsWith(before, StringComparison.Ordinal), "the log was not appended to:\n" + after);
        return new NightlyRun(r.ExitCode, r.StdOut, r.StdErr, after[before.Length..]);
    }

    /// <summary>The checks as the log has them ("OUTPUT: Pass it-x-node-1 Routes: ..."), by status.</summary>
    private static Dictionary<string, List<string>> LoggedChecks(string log) =>
        Regex.Matches(log, @"\] OUTPUT: (Pass|Warn|Fail) (\S+ \S+): ").GroupBy(m => m.Groups[1].Value)
            .ToDictionary(g => g.Key, g => g.Select(m => m.Groups[2].Value).ToList());

    private static void AssertSummary(NightlyRun run, string cluster, string logPath, int code, string verdict, string action)
    {
        var lines = run.Lines;
        Assert.True(lines.Length >= 3, run.ToString());
        Assert.Equal($"Ipv6Dind nightly rebuild of '{cluster}' on {Environment.MachineName}: {verdict} (exit {code})", lines[0]);
        Assert.Matches($@"^  {action} in \d+ s$", lines[1]);
        Assert.Equal($"  log: {logPath}", lines[^1]);

        // The totals agree with the checks in the log.
        var logged = LoggedChecks(run.Log);
        int Count(string status) => logged.TryGetValue(status, out var l) ? l.Count : 0;
        var total = Count("Pass") + Count("Warn") + Count("Fail");
        Assert.True(total > 0, run.ToString());
        Assert.Equal($"  checks: {Count("Pass")} passed, {Count("Warn")} warned, {Count("Fail")} failed (of {total})", lines[^2]);
        Assert.Equal(Count("Fail"), lines.Count(l => l.StartsWith("  FAIL ", StringComparison.Ordinal)));

        // The summary is in the log too, then the last line.
        foreach (var line in lines) Assert.Contains($"[{cluster}] SUMMARY: {line}", run.Log);
        Assert.EndsWith($"[{cluster}] finished: exit {code}{Environment.NewLine}", run.Log);
        Assert.Equal("", run.Stderr);   // everything was caught and summarized
    }

    /// <summary>Name → (address, container id) of the lab's nodes, through the module.</summary>
    private Dictionary<string, (string Address, string ContainerId)> Nodes(string cluster)
    {
        var r = _f.Ps.Run($"Get-DindNode {cluster}");
        r.AssertSuccess();
        return r.All<DindNode>().ToDictionary(n => n.NodeName, n => (n.IPv6Address, n.ContainerId));
    }

    /// <summary>Runs <paramref name="body"/>, then removes the lab whatever happened, and checks that nothing is left.</summary>
    private async Task ThenRemovedAsync(string cluster, Func<Task> body)
    {
        try { await body(); }
        finally { _f.Ps.Run($"Remove-DindCluster {cluster} -Confirm:$false"); }
        Assert.Empty(await _f.LeftoversAsync(cluster));
    }

    [Fact]
    public async Task FirstRunCreatesTheLabAndTheNextResetsItKeepingNamesAndAddresses()
    {
        const string name = "it-nightly";
        var logPath = Path.Combine(_dir, "logs", name + ".log");   // the directory does not exist yet: the script makes it
        await ThenRemovedAsync(name, async () =>
        {
            Assert.Empty(await _f.LeftoversAsync(name));   // no lab yet

            // 1. No lab: New-DindCluster, then every check.
            var first = await RunNightlyAsync(name, logPath, "-ProbeUrl", ProbeUrl);
            Assert.True(first.Code == 0, first.ToString());
            AssertSummary(first, name, logPath, 0, "OK", "New-DindCluster");
            Assert.DoesNotContain(first.Lines, l => l.StartsWith("  FAIL ", StringComparison.Ordinal));
            Assert.Contains($"[{name}] start: {Script} on {Environment.MachineName}, PowerShell ", first.Log);
            Assert.Contains($"[{name}] no lab named '{name}': New-DindCluster with 2 node(s)", first.Log);
            Assert.DoesNotContain("Reset-DindCluster", first.Log);
            // The cmdlet's -Verbose steps.
            Assert.Contains("] VERBOSE: Plan: management ", first.Log);
            Assert.Contains("] VERBOSE: Step 'nodes' done.", first.Log);
            Assert.Contains("] VERBOSE: Step 'routes' done.", first.Log);
            // The checks, each in the log: the outside world reached by name through DNS64 and NAT64.
            var checks = LoggedChecks(first.Log);
            Assert.False(checks.ContainsKey("Fail"), first.ToString());
            foreach (var check in new[] { "ContainerRunning", "Ipv6Only", "Dns64Synthesis", "Nat64Reachability", "NodeToNode", "PodToPod", "Routes" })
                Assert.Contains(checks["Pass"], c => c.EndsWith(" " + check, StringComparison.Ordinal));
            Assert.Matches($@"\] OUTPUT: Pass {name}-node-\d+ Nat64Reachability: GET {Regex.Escape(ProbeUrl)} \S+ HTTP 200 through NAT64", first.Log);
            Assert.Matches($@"\] OUTPUT: Pass {name}-node-\d+ Dns64Synthesis: {Regex.Escape(OutsideWorld.WwwName)} AAAA ", first.Log);

            var created = Nodes(name);
            Assert.Equal(new[] { $"{name}-node-1", $"{name}-node-2" }, created.Keys.Order());

            // 2. The lab exists: Reset-DindCluster rebuilds the nodes, same names and addresses, new containers.
            var second = await RunNightlyAsync(name, logPath, "-ProbeUrl", ProbeUrl);
            Assert.True(second.Code == 0, second.ToString());
            AssertSummary(second, name, logPath, 0, "OK", "Reset-DindCluster");
            Assert.Contains($"[{name}] the lab exists (Running, 2 node(s)): Reset-DindCluster", second.Log);
            Assert.DoesNotContain("New-DindCluster", second.Log);
            Assert.Contains($"] VERBOSE: Removed node {name}-node-1 (and its /var volume).", second.Log);
            Assert.Contains($"] VERBOSE: Removed node {name}-node-2 (and its /var volume).", second.Log);
            Assert.False(LoggedChecks(second.Log).ContainsKey("Fail"), second.ToString());

            var reset = Nodes(name);
            Assert.Equal(created.ToDictionary(n => n.Key, n => n.Value.Address), reset.ToDictionary(n => n.Key, n => n.Value.Address));
            Assert.All(reset, n => Assert.NotEqual(created[n.Key].ContainerId, n.Value.ContainerId));   // really rebuilt
        });
    }

    [Fact]
    public async Task WithASpecFileTheFirstRunCreatesTheLabTheFileDescribes()
    {
        const string name = "it-nightly-spec";
        var logPath = Path.Combine(_dir, name + ".log");
        var specPath = Path.Combine(_dir, name + ".yaml");
        await ThenRemovedAsync(name, async () =>
        {
            // One node and a NAT64 prefix of its own in the file; the run's -Nodes 2 applies only without a spec.
            _f.Ps.Run($"New-DindClusterSpec {name} -Nodes 1 -Nat64Prefix fd77:6464:77::/96 -Dns64Upstream {_f.Upstream} | Export-DindClusterSpec -Path '{specPath}'").AssertSuccess();

            var run = await RunNightlyAsync(name, logPath, "-SpecPath", specPath, "-ProbeUrl", ProbeUrl);
            Assert.True(run.Code == 0, run.ToString());
            AssertSummary(run, name, logPath, 0, "OK", "New-DindCluster");
            Assert.Contains($"[{name}] no lab named '{name}': New-DindCluster from {specPath}", run.Log);
            Assert.Equal(new[] { $"{name}-node-1" }, Nodes(name).Keys);
            var cluster = _f.Ps.Run($"Get-DindCluster {name}").Single<DindCluster>();
            Assert.Equal("fd77:6464:77::/96", cluster.Nat64Prefix);
            Assert.True(cluster.NetworkOnly);
        });
    }

    [Fact]
    public async Task ARunWhoseProbeReachesNothingExitsTwoWithTheFailedCheckAndItsRemedy()
    {
        const string name = "it-nightly-fail";
        var logPath = Path.Combine(_dir, name + ".log");
        await ThenRemovedAsync(name, async () =>
        {
            var create = _f.Ps.Run($"New-DindCluster {name} -Nodes 2 -NetworkOnly -Dns64Upstream {_f.Upstream}");
            create.AssertSuccess();
            // What DNS64 would synthesize for an outside IPv4 address where no server runs (a web server that is down).
            var nowhere = Nat64Conversion.ToIpv6(NothingListens4, create.Single<DindCluster>().Nat64Prefix).IPv6Address;
            var url = $"http://[{nowhere}]/";

            var run = await RunNightlyAsync(name, logPath, "-ProbeUrl", url);
            Assert.True(run.Code == 2, run.ToString());
            AssertSummary(run, name, logPath, 2, "CHECKS FAILED", "Reset-DindCluster");
            Assert.Contains($"[{name}] the lab exists (Running, 2 node(s)): Reset-DindCluster", run.Log);

            // Only the probe failed, and stdout says which, why and what to do.
            var failed = Assert.Single(run.Lines, l => l.StartsWith("  FAIL ", StringComparison.Ordinal));
            Assert.Matches($@"^  FAIL {name}-node-\d+ Nat64Reachability: GET {Regex.Escape(url)} failed: .+ -- remedy: The name resolved and was synthesized; the connection through NAT64 to {Regex.Escape(NothingListens4.ToString())} failed: Get-Nat64Mapping {name} ", failed);
            Assert.Contains("net.ipv4.ip_forward=1", failed);
            Assert.Equal(new[] { "Nat64Reachability" }, LoggedChecks(run.Log)["Fail"].Select(c => c.Split(' ')[1]));
            Assert.Contains($"] OUTPUT: Fail {name}-node-", run.Log);
        });
    }
}
