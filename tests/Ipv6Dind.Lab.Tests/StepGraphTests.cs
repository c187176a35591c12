using System.Collections.Concurrent;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Lab.Tests;

/// <summary>
/// The step graph of every operation, printed from the code: each operation runs on the in-memory daemon, its runners
/// write their graphs to the debug stream (StepRunner.Graph), and the text must be the block of docs/architecture.md
/// between its step-graphs markers. With IPV6DIND_WRITE_DOCS=1 the test writes the block instead (then review the diff).
/// </summary>
public sealed class StepGraphTests
{
    private const string Begin = "<!-- step-graphs:begin -->";
    private const string End = "<!-- step-graphs:end -->";

    private sealed class DebugLines : IDindLog
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public void Verbose(string message)
        {
            if (message == $"Step '{LabSteps.Preflight}' done.") Lines.Enqueue("(preflight done before the runner)");
        }
        public void Warning(string message) { }
        public void Debug(string message) => Lines.Enqueue(message);
    }

    /// <summary>Runs <paramref name="operation"/> on a lab whose log keeps the runners' graphs; returns them as text.</summary>
    private static async Task<string> GraphOfAsync(InMemoryDockerApiHolder docker, string title, Func<DindLab, Task> operation)
    {
        var log = new DebugLines();
        var lab = new DindLab(docker.Docker, new OperationContext(default, new Progress<DindProgress>(), log), new HostFirewall(new RefusingHost()))
        {
            Locality = new DaemonLocalityResult(false, docker.Docker.Endpoint, null, "in-memory daemon"),
        };
        await operation(lab);
        var lines = new List<string> { title };
        foreach (var line in log.Lines)
        {
            if (line.StartsWith('(')) { lines.Add("    " + line); continue; }
            var at = line.IndexOf(" steps: ", StringComparison.Ordinal);
            if (at < 0 || !line.EndsWith('.')) continue;
            lines.AddRange(line[(at + " steps: ".Length)..^1].Split("; ").Select(step => "    " + step));
        }
        if (lines.Count == 1) lines.Add("    (no step runner: sequenced in its own method)");
        return string.Join('\n', lines);
    }

    /// <summary>The in-memory daemon, disposed with the test.</summary>
    private sealed class InMemoryDockerApiHolder : IDisposable
    {
        public TestSupport.InMemoryDockerApi Docker { get; } = InMemoryLab.NewDaemon();
        public void Dispose() => Docker.Dispose();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Ipv6Dind.sln"))) return dir.FullName;
        throw new InvalidOperationException("Ipv6Dind.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task EveryOperationsStepGraphIsTheOneDocsArchitectureShows()
    {
        using var holder = new InMemoryDockerApiHolder();
        const string name = "graphs";
        var options = new LabOptions { NetworkOnly = true, LockWait = TimeSpan.FromSeconds(5) };
        var graphs = new List<string>
        {
            await GraphOfAsync(holder, "New-DindCluster", lab => lab.CreateAsync(InMemoryLab.Spec(name, 2), options)),
            await GraphOfAsync(holder, "Reset-DindCluster", lab => lab.ResetAsync(name, options)),
            await GraphOfAsync(holder, "Add-DindNode", lab => lab.AddNodesAsync(name, 1, options)),
            await GraphOfAsync(holder, "Remove-DindNode", lab => lab.RemoveNodeAsync(name, LabNames.Node(name, 3))),
            await GraphOfAsync(holder, "Stop-DindCluster", lab => lab.StopAsync(name)),
            await GraphOfAsync(holder, "Start-DindCluster", lab => lab.StartAsync(name)),
            await GraphOfAsync(holder, "Set-Dns64", lab => lab.SetDns64Async(name, allowAaaa: null, upstream: new[] { "198.51.100.54" })),
            await GraphOfAsync(holder, "Set-Nat64Prefix", lab => lab.SetNat64PrefixAsync(name, "fd00:64:64:65::/96")),
            await GraphOfAsync(holder, "Remove-DindCluster", lab => lab.RemoveAsync(name)),
        };
        await InMemoryLab.ForgetLocksAsync(holder.Docker, name);
        // A Kubernetes lab cannot come up on the in-memory daemon: its steps are shown as the code declares their order.
        graphs.Add("New-DindCluster, Kubernetes lab (declared order, LabSteps.Kubernetes; not run here)\n    " + string.Join(", ", LabSteps.Kubernetes));
        var block = "```text\n" + string.Join("\n\n", graphs) + "\n```";

        var path = Path.Combine(RepositoryRoot(), "docs", "architecture.md");
        var doc = File.ReadAllText(path);
        var begin = doc.IndexOf(Begin, StringComparison.Ordinal);
        var end = doc.IndexOf(End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"{path} has no {Begin} ... {End} block");
        var shown = doc[(begin + Begin.Length)..end].Trim('\n');
        if (Environment.GetEnvironmentVariable("IPV6DIND_WRITE_DOCS") == "1" && shown != block)
        {
            File.WriteAllText(path, doc[..(begin + Begin.Length)] + "\n" + block + "\n" + doc[end..]);
            shown = block;
        }
        Assert.True(shown == block, $"docs/architecture.md shows other step graphs than the code has; the code's:\n{block}\n(IPV6DIND_WRITE_DOCS=1 writes them)");
    }
}
