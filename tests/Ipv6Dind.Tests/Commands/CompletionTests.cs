using System.Diagnostics;
using System.Management.Automation;
using System.Net.Sockets;

namespace Ipv6Dind.Tests.Commands;

/// <summary>
/// Tab completion of cluster and node names through the hosted engine's TabExpansion2: which parameters have it,
/// what it answers against the real dockerd (read-only: these tests create nothing), and that a missing, hanging
/// or misconfigured daemon gives no names, no error and no hang. In the DOCKER_HOST collection: the variable is
/// process-wide.
/// </summary>
[Collection(DockerHostEnvironment.Name)]
public sealed class CompletionTests : IClassFixture<ModuleFixture>
{
    private readonly ModuleSession _ps;
    public CompletionTests(ModuleFixture fixture) => _ps = fixture.Session;

    /// <summary>The ParameterValue completions of <paramref name="line"/> with the cursor at its end, and how long they took.</summary>
    private (List<CompletionResult> Values, TimeSpan Elapsed, PsResult Run) Complete(string line, string? dockerHost = null)
    {
        var set = dockerHost is null ? "" : $"$env:DOCKER_HOST = '{dockerHost}'; ";
        var watch = Stopwatch.StartNew();
        var r = _ps.Run($"{set}try {{ (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches }} finally {{ {(dockerHost is null ? "" : "$env:DOCKER_HOST = $null")} }}",
            new Dictionary<string, object?> { ["line"] = line });
        watch.Stop();
        r.AssertSuccess();
        var values = r.Output.Select(o => (CompletionResult)o.BaseObject).Where(c => c.ResultType == CompletionResultType.ParameterValue).ToList();
        return (values, watch.Elapsed, r);
    }

    private List<string> Names(string script)
    {
        var r = _ps.Run(script);
        r.AssertSuccess();
        return r.Output.Select(o => o.ToString()!).ToList();
    }

    private bool DockerAnswers() => _ps.Run("Get-DindCluster -ErrorAction Stop | Out-Null").Terminating is null;

    // ------------------------------------------------------------------------------------------ which parameters

    [Fact]
    public void EveryLabParameterNamingAClusterOrNodeHasACompleter()
    {
        // "command|parameter|completer type" for every parameter called, or aliased, ClusterName or NodeName.
        var rows = Names("""
            foreach ($c in Get-Command -Module Ipv6Dind) {
                foreach ($p in $c.Parameters.Values) {
                    if ($p.Name -notin 'ClusterName', 'NodeName', 'Name' -and 'ClusterName' -notin $p.Aliases) { continue }
                    if ($p.Name -eq 'Name' -and 'ClusterName' -notin $p.Aliases) { continue }
                    $completer = @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ArgumentCompleterAttribute] })
                    '{0}|{1}|{2}' -f $c.Name, $p.Name, ($(if ($completer.Count) { $completer[0].Type.Name } else { '' }))
                }
            }
            """);
        // Names of clusters that do not exist yet, and specs (not labs), have nothing to complete from.
        var exempt = new HashSet<string> { "New-DindCluster|ClusterName", "New-DindClusterSpec|ClusterName", "Import-DindClusterSpec|ClusterName", "New-KubeadmConfig|NodeName" };
        Assert.True(rows.Count >= 20, string.Join("\n", rows));
        foreach (var row in rows)
        {
            var parts = row.Split('|');
            var key = parts[0] + "|" + parts[1];
            if (exempt.Contains(key)) { Assert.Equal("", parts[2]); continue; }
            var expected = parts[1] == "NodeName" ? "NodeNameCompleter" : "ClusterNameCompleter";
            Assert.True(parts[2] == expected, $"{key} has '{parts[2]}', expected {expected}");
        }
        Assert.Contains("Invoke-DindCommand|NodeName|NodeNameCompleter", rows);
        Assert.Contains("Get-DindCluster|ClusterName|ClusterNameCompleter", rows);
        Assert.Contains("Remove-DindCluster|ClusterName|ClusterNameCompleter", rows);
    }

    [Fact]
    public void CompleterTypesLiveInTheDefaultLoadContextNotTheCore()
    {
        var r = Names("""
            foreach ($t in [Ipv6Dind.Completion.ClusterNameCompleter], [Ipv6Dind.Completion.NodeNameCompleter]) {
                $t.Assembly.GetName().Name + '=' + [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($t.Assembly).Name
            }
            """);
        Assert.Equal(new[] { "Ipv6Dind=Default", "Ipv6Dind=Default" }, r);
    }

    // ------------------------------------------------------------------------------------------ no usable Docker

    [Theory]
    [InlineData("Test-DindCluster ")]
    [InlineData("Get-DindCluster -Name l")]
    [InlineData("Invoke-DindCommand lab ")]
    [InlineData("Get-DindNode -ClusterName lab -NodeName ")]
    [InlineData("Remove-DindCluster ")]
    public void MissingDockerSocketGivesNoNamesQuicklyAndNoError(string line)
    {
        var (values, elapsed, run) = Complete(line, "unix:///run/ipv6dind-tests-no-such-docker.sock");
        Assert.Empty(values);
        Assert.Empty(run.Errors);
        // Fails fast (connection refused); the margin is for a loaded test machine, not for Docker.
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"took {elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public void InvalidDockerHostGivesNoNamesAndNoError()
    {
        var (values, _, run) = Complete("Get-DindCluster ", "ftp://nowhere");
        Assert.Empty(values);
        Assert.Empty(run.Errors);
    }

    [Fact]
    public void ADaemonThatNeverAnswersCostsAtMostTheBudget()
    {
        // A unix socket that accepts connections (the kernel's backlog) and never says a word.
        var dir = Directory.CreateTempSubdirectory("ipv6dind-complete-").FullName;
        var path = Path.Combine(dir, "silent.sock");
        try
        {
            using var silent = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            silent.Bind(new UnixDomainSocketEndPoint(path));
            silent.Listen(16);
            var (values, elapsed, run) = Complete("Get-DindCluster ", "unix://" + path);
            Assert.Empty(values);
            Assert.Empty(run.Errors);
            Assert.True(elapsed >= TimeSpan.FromSeconds(1.5), $"answered in {elapsed.TotalMilliseconds:0} ms: the silent daemon was not reached?");
            Assert.True(elapsed < TimeSpan.FromSeconds(6), $"took {elapsed.TotalMilliseconds:0} ms (budget 2 s, plus the engine's own time on a loaded machine)");
        }
        finally { Directory.Delete(dir, true); }
    }

    // ------------------------------------------------------------------------------------------ the real dockerd

    [Fact]
    public void ClusterNamesComeFromDocker()
    {
        Assert.True(DockerAnswers(), "this test needs a Docker daemon (tests/run starts one)");
        // Other test runs may create or remove labs meanwhile: what was there before and after must be offered,
        // and nothing that was there neither before nor after.
        var before = Names("Get-DindCluster | ForEach-Object ClusterName");
        var (values, elapsed, _) = Complete("Get-DindCluster ");
        var after = Names("Get-DindCluster | ForEach-Object ClusterName");
        var offered = values.Select(v => v.ListItemText).ToList();
        // tests/run runs the integration tests (which make and remove it-* labs, and load the machine) beside this:
        // completion that hit its ~2 s bound offers nothing by design, and short-lived it-* labs may come and go.
        if (offered.Count == 0 && elapsed >= TimeSpan.FromSeconds(1.8)) return;
        Assert.All(before.Intersect(after).Where(n => !n.StartsWith("it-", StringComparison.Ordinal)), n => Assert.Contains(n, offered));
        Assert.All(offered, n => Assert.True(before.Union(after).Contains(n) || n.StartsWith("it-", StringComparison.Ordinal), n));
        Assert.All(values, v => Assert.Equal(v.ListItemText, v.CompletionText));   // valid names need no quotes
        Assert.All(values, v => Assert.StartsWith(v.ListItemText + ": ", v.ToolTip));
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"took {elapsed.TotalMilliseconds:0} ms");

        var stable = before.Intersect(after).FirstOrDefault(n => !n.StartsWith("it-", StringComparison.Ordinal));
        if (stable is null) return;
        var prefix = stable[..Math.Min(2, stable.Length)];
        var (filtered, _, _) = Complete("Test-DindCluster " + prefix.ToUpperInvariant());
        Assert.Contains(stable, filtered.Select(v => v.ListItemText));
        Assert.All(filtered, v => Assert.StartsWith(prefix, v.ListItemText, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void NodeNamesFollowTheClusterGivenBeforeThem()
    {
        Assert.True(DockerAnswers(), "this test needs a Docker daemon (tests/run starts one)");
        var clusters = Names("Get-DindCluster | Where-Object Nodes -GT 0 | ForEach-Object ClusterName");
        // it-* labs belong to the integration tests that tests/run runs beside this one; they come and go mid-call.
        foreach (var cluster in clusters.Where(c => !c.StartsWith("it-", StringComparison.Ordinal)).Take(2))
        {
            var nodes = Names($"Get-DindNode {cluster} -ErrorAction SilentlyContinue | ForEach-Object NodeName");
            if (nodes.Count == 0) continue;   // removed meanwhile
            // By position, by name, and through the alias.
            foreach (var line in new[] { $"Invoke-DindCommand {cluster} ", $"Get-DindRoute -ClusterName {cluster} -NodeName ", $"Get-DindNode -Name {cluster} -NodeName " })
            {
                var (values, elapsed, _) = Complete(line);
                var offered = values.Select(v => v.ListItemText).ToList();
                var now = Names($"Get-DindNode {cluster} -ErrorAction SilentlyContinue | ForEach-Object NodeName");
                if (offered.Count == 0 && (elapsed >= TimeSpan.FromSeconds(1.8) || now.Count == 0)) continue; // bound hit, or the lab went away
                Assert.All(offered, n => Assert.Contains(n, nodes.Union(now)));
                Assert.All(nodes.Intersect(now), n => Assert.Contains(n, offered));
                Assert.All(offered, n => Assert.StartsWith(cluster + "-", n));
            }
        }
    }
}
