using System.Management.Automation;
using System.Runtime.CompilerServices;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Completion;

/// <summary>
/// What the completers ask Docker, under a hard time budget. Completion runs on the pipeline thread while someone
/// waits at the prompt: it must answer fast, never throw and never hang, so a daemon that is down, slow, refusing
/// or misconfigured (a bad DOCKER_HOST) yields no names rather than an error. The query is time-bounded twice:
/// the Docker calls get a cancellation token and a per-call timeout of the same budget, and the caller stops
/// waiting when the budget is spent (the abandoned query then unwinds in the background).
/// </summary>
internal static class LabNameLookup
{
    /// <summary>How long a completion may wait for Docker.</summary>
    internal static TimeSpan Budget { get; } = TimeSpan.FromSeconds(2);

    public static IReadOnlyList<DindCluster> Clusters() => Bounded(ct => CoreQueries.ClustersAsync(ct));

    /// <summary>The nodes of <paramref name="cluster"/>, or of every cluster when it is null or empty.</summary>
    public static IReadOnlyList<DindNode> Nodes(string? cluster) => Bounded(ct => CoreQueries.NodesAsync(cluster, ct));

    private static IReadOnlyList<T> Bounded<T>(Func<CancellationToken, Task<IReadOnlyList<T>>> query)
    {
        var cts = new CancellationTokenSource();
        Task<IReadOnlyList<T>> task;
        try
        {
            task = Task.Run(() => query(cts.Token), cts.Token);
        }
        catch (Exception)
        {
            cts.Dispose();
            return Array.Empty<T>();
        }
        // The CTS lives until the query has unwound: disposing it earlier would leave a cancelled query's token dead.
        task.ContinueWith(t => { _ = t.Exception; cts.Dispose(); }, TaskScheduler.Default);
        try
        {
            if (task.Wait(Budget)) return task.Result;
        }
        catch (Exception)
        {
            // Completion is best effort by contract: a failing Docker (any exception) means "no suggestions".
            return Array.Empty<T>();
        }
        cts.Cancel();
        return Array.Empty<T>();
    }

    /// <summary>
    /// Everything that touches Ipv6Dind.Core, kept in its own class so that the completers themselves load without
    /// the core (it is resolved from the module's load context on first use, as for the cmdlets).
    /// </summary>
    private static class CoreQueries
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static async Task<IReadOnlyList<DindCluster>> ClustersAsync(CancellationToken ct)
        {
            using var docker = Connect();
            return await Lab(docker, ct).GetClustersAsync(null).ConfigureAwait(false);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static async Task<IReadOnlyList<DindNode>> NodesAsync(string? cluster, CancellationToken ct)
        {
            using var docker = Connect();
            var lab = Lab(docker, ct);
            var names = string.IsNullOrEmpty(cluster)
                ? (await lab.GetClustersAsync(null).ConfigureAwait(false)).Select(c => c.ClusterName).ToList()
                : new List<string> { cluster };
            var nodes = new List<DindNode>();
            foreach (var name in names)
            {
                try { nodes.AddRange(await lab.GetNodesAsync(name).ConfigureAwait(false)); }
                catch (DindException) { /* a half-removed cluster has no readable plan: skip it, complete the rest */ }
            }
            return nodes;
        }

        private static DockerApi Connect() => DockerApi.Connect(null, DockerApiOptions.Default with { CallTimeout = Budget });

        private static DindLab Lab(IDockerApi docker, CancellationToken ct) =>
            new(docker, new OperationContext(ct, new Progress<DindProgress>(), NullLog.Instance));
    }
}

/// <summary>Turns names into completion results: prefix (or wildcard) match on what was typed, quoted when needed.</summary>
internal static class CompletionText
{
    public static IEnumerable<CompletionResult> Results(IEnumerable<(string Name, string ToolTip)> candidates, string? wordToComplete)
    {
        var typed = (wordToComplete ?? "").Trim('\'', '"');
        var pattern = WildcardPattern.Get(typed + "*", WildcardOptions.IgnoreCase);
        return candidates
            .Where(c => pattern.IsMatch(c.Name))
            .GroupBy(c => c.Name, StringComparer.Ordinal)
            .Select(g => g.First())
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => new CompletionResult(Quote(c.Name), c.Name, CompletionResultType.ParameterValue, c.ToolTip.Length > 0 ? c.ToolTip : c.Name))
            .ToList();
    }

    /// <summary>Valid cluster and node names need no quotes; anything else Docker might report is single-quoted.</summary>
    internal static string Quote(string name) =>
        name.Length > 0 && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.')
            ? name
            : "'" + name.Replace("'", "''") + "'";
}
