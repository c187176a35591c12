using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Images;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Tests;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// What every lab test needs once: the images (built offline on first use, cached after), the simulated outside
/// world, a Docker client, and the module in the hosted engine. Clusters of the tests are named "it-…"; all of
/// them are removed before and after, so a failed or killed run leaves nothing for the next.
/// </summary>
public sealed class LabFixture : IAsyncLifetime
{
    public const string Prefix = "it-";
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

    /// <summary>Every cluster whose name starts with "it-": containers, volumes, networks, host rules.</summary>
    public async Task RemoveTestClustersAsync()
    {
        var lab = Lab();
        var names = (await Docker.ListContainersAsync(LabLabels.AnyCluster(), default)).Select(c => c.Labels[LabLabels.Cluster])
            .Concat((await Docker.ListNetworksAsync(LabLabels.AnyCluster(), default)).Select(n => n.Labels[LabLabels.Cluster]))
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Distinct().ToList();
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
        left.AddRange((await new HostFirewall().ListAsync(cluster, default)).Select(r => $"ip6tables -t {r.Table} {r.Chain} {string.Join(' ', r.Specification)}"));
        return left;
    }

    public string Upstream => OutsideWorld.ResolverAddress4;
}

[CollectionDefinition("lab")]
public sealed class LabCollection : ICollectionFixture<LabFixture> { }
