using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Images;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Tests;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// What every lab test needs once: the images (built offline on first use, cached after), the simulated outside
/// world, a Docker client, and the module in the hosted engine. Clusters of the tests are named "it-…" and every
/// object the module creates during this run carries the label <see cref="RunLabel"/>=<see cref="RunId"/> (through
/// IPV6DIND_LABELS, which child processes such as real pwsh inherit). Cleanup removes exactly the clusters with this
/// run's label, never a cluster by its name: a user's own "it-something" lab, or another run's, is never touched.
/// </summary>
public sealed class LabFixture : IAsyncLifetime, ILabFixture
{
    public const string Prefix = "it-";
    public const string RunLabel = "io.ipv6dind-test.run";
    public static readonly string RunId = MarkRun();

    /// <summary>
    /// "&lt;pid&gt;.&lt;start time&gt;.&lt;random&gt;": the test process and its start time (field 22 of /proc/&lt;pid&gt;/stat), so
    /// that a later run can tell the debris of a run that was killed (its process is gone) from a run still going.
    /// </summary>
    private static string MarkRun()
    {
        var id = $"{Environment.ProcessId}.{StartTime(Environment.ProcessId)}.{Guid.NewGuid().ToString("N")[..8]}";
        Environment.SetEnvironmentVariable(LabLabels.ExtraVariable, $"{RunLabel}={id}");
        return id;
    }

    private static string StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
        }
        catch (IOException) { return "gone"; }
        catch (UnauthorizedAccessException) { return "gone"; }
    }

    /// <summary>
    /// Whether the test process that made <paramref name="runId"/> still runs. Ids of the earlier form (12 hex digits,
    /// before the process was recorded) belong to runs of older test code, all over; any other form: assumed alive.
    /// </summary>
    public static bool RunIsAlive(string runId)
    {
        if (runId.Length == 12 && runId.All(Uri.IsHexDigit)) return false;
        var parts = runId.Split('.');
        if (parts.Length != 3 || !int.TryParse(parts[0], out var pid)) return true;
        return StartTime(pid) == parts[1];
    }

    /// <summary>
    /// Clusters left by test runs whose process is gone (killed by a time limit, a reboot, Ctrl-C): removed at the start
    /// of a run, so that a reserved test name ("it-sw-k8-fa") is free again. A run that is still going is never touched.
    /// </summary>
    public static async Task RemoveDeadRunsAsync(IDockerApi docker)
    {
        var any = new Dictionary<string, string> { [RunLabel] = "" };
        var names = (await docker.ListContainersAsync(any, default)).Select(c => c.Labels)
            .Concat((await docker.ListNetworksAsync(any, default)).Select(n => n.Labels))
            .Where(l => l.TryGetValue(RunLabel, out var run) && !RunIsAlive(run) && l.ContainsKey(LabLabels.Cluster))
            .Select(l => l[LabLabels.Cluster]).Distinct().ToList();
        var lab = new DindLab(docker, OperationContext.None);
        foreach (var name in names) await lab.RemoveAsync(name);
    }
    public OutsideWorld World { get; } = new();
    public IDockerApi Docker { get; private set; } = null!;
    public ModuleSession Ps { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Docker = DockerApi.Connect();
        await RemoveDeadRunsAsync(Docker);
        await RemoveTestClustersAsync();
        await new ImageBuilder(Docker, OperationContext.None).EnsureImagesAsync(new[] { "dns64", "nat64", "node" }, force: false);
        await World.StartAsync();
        Ps = new ModuleSession();
    }

    public async Task DisposeAsync()
    {
        Ps?.Dispose();
        try { await RemoveTestClustersAsync(); }
        finally
        {
            await World.DisposeAsync();
            Docker.Dispose();
        }
    }

    public DindLab Lab(CancellationToken ct = default) =>
        new(Docker, new OperationContext(ct, new Progress<DindProgress>(), NullLog.Instance));

    /// <summary>Every cluster this run made (its label, never its name): containers, volumes, networks, host rules.</summary>
    public async Task RemoveTestClustersAsync()
    {
        var lab = Lab();
        var mine = new Dictionary<string, string> { [RunLabel] = RunId };
        var names = (await Docker.ListContainersAsync(mine, default)).Select(c => c.Labels[LabLabels.Cluster])
            .Concat((await Docker.ListNetworksAsync(mine, default)).Select(n => n.Labels[LabLabels.Cluster]))
            .Distinct().ToList();
        foreach (var name in names) await lab.RemoveAsync(name);
    }

    /// <summary>Everything the module could leave behind for a cluster: containers, volumes, networks, host rules.</summary>
    public async Task<IReadOnlyList<string>> LeftoversAsync(string cluster)
    {
        var filter = LabLabels.ClusterFilter(cluster);
        var left = new List<string>();
        left.AddRange((await Docker.ListContainersAsync(filter, default)).Select(c => "container " + c.Name));
        left.AddRange((await Docker.ListNetworksAsync(filter, default)).Select(n => "network " + n.Name));
        left.AddRange((await Docker.ListVolumesAsync(filter, default)).Select(v => "volume " + v));
        left.AddRange((await new HostFirewall().ListClusterAsync(cluster, default)).Select(r => $"ip6tables -t {r.Table} {r.Chain} {string.Join(' ', r.Specification)}"));
        return left;
    }

    public string Upstream => OutsideWorld.ResolverAddress4;

    /// <summary>The daemon's ID, which the module's locks are keyed by.</summary>
    public async Task<string> DaemonIdAsync() => (await Docker.GetDaemonInfoAsync(default)).Id;
}

[CollectionDefinition("lab")]
public sealed class LabCollection : ICollectionFixture<LabFixture> { }
