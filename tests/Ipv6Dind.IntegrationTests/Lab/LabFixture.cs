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
public sealed class LabFixture : IAsyncLifetime
{
    public const string Prefix = "it-";
    public const string RunLabel = "io.ipv6dind-test.run";
    public static readonly string RunId = MarkRun();

    private static string MarkRun()
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        Environment.SetEnvironmentVariable(LabLabels.ExtraVariable, $"{RunLabel}={id}");
        return id;
    }
    public OutsideWorld World { get; } = new();
    public IDockerApi Docker { get; private set; } = null!;
    public ModuleSession Ps { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Docker = DockerApi.Connect();
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
