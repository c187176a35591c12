using Ipv6Dind.Core.Docker;
using Ipv6Dind.TestSupport;

namespace Ipv6Dind.Lab.Tests;

/// <summary>The in-memory daemon answers as DockerApi does over Docker Engine 20.10, where the lab depends on it.</summary>
public sealed class InMemoryDockerApiTests
{
    private const string Image = "example/tool:1";
    private static readonly Dictionary<string, string> Mine = new() { ["test.owner"] = "me", ["test.role"] = "a" };

    private static async Task<(InMemoryDockerApi Docker, string NetworkId)> WithNetworkAsync()
    {
        var docker = new InMemoryDockerApi();
        docker.AddImage(Image);
        var id = await docker.CreateNetworkAsync(new NetworkSpec("net", "fd00:1::/64", "fd00:1::1", Mine), default);
        return (docker, id);
    }

    private static ContainerSpec Container(string name, string? address = null, IReadOnlyDictionary<string, string>? labels = null) =>
        new(name, Image, labels ?? Mine) { Network = "net", Ipv6Address = address };

    private static async Task<DindException> FailsAsync(Func<Task> call, string errorId, DindErrorCategory category)
    {
        var e = await Assert.ThrowsAsync<DindException>(call);
        Assert.Equal((errorId, category), (e.ErrorId, e.Category));
        return e;
    }

    [Fact]
    public async Task ConflictsAndMissingObjectsFailWithTheIdsOfTheRealMappingAndWhatIsGoneIsNoError()
    {
        var (docker, network) = await WithNetworkAsync();
        using var _ = docker;
        var id = await docker.CreateContainerAsync(Container("one", "fd00:1::10"), default);
        await FailsAsync(() => docker.CreateContainerAsync(Container("one"), default), ErrorIds.DockerConflict, DindErrorCategory.ResourceExists);
        await FailsAsync(() => docker.CreateNetworkAsync(new NetworkSpec("net", "fd00:2::/64", "", Mine), default), ErrorIds.DockerConflict, DindErrorCategory.ResourceExists);
        await FailsAsync(() => docker.CreateNetworkAsync(new NetworkSpec("other", "fd00:1::/48", "", Mine), default), ErrorIds.DockerApiError, DindErrorCategory.ResourceBusy);
        await FailsAsync(() => docker.CreateContainerAsync(Container("two") with { Image = "example/missing:1" }, default), ErrorIds.DockerObjectNotFound, DindErrorCategory.ObjectNotFound);
        await FailsAsync(() => docker.CreateContainerAsync(Container("two") with { Network = "nowhere" }, default), ErrorIds.DockerObjectNotFound, DindErrorCategory.ObjectNotFound);
        await FailsAsync(() => docker.StartContainerAsync("nothing", default), ErrorIds.DockerObjectNotFound, DindErrorCategory.ObjectNotFound);
        Assert.Null(await docker.InspectContainerAsync("nothing", default));

        // Addresses are IPAM's at start: outside the subnet 400, held by a running container 403.
        await docker.CreateContainerAsync(Container("outside", "fd00:9::10"), default);
        await FailsAsync(() => docker.StartContainerAsync("outside", default), ErrorIds.DockerApiError, DindErrorCategory.InvalidArgument);
        await docker.CreateContainerAsync(Container("twin", "fd00:1::10"), default);
        await docker.StartContainerAsync(id, default);
        await docker.StartContainerAsync(id, default);                                  // already running: fine
        await FailsAsync(() => docker.StartContainerAsync("twin", default), ErrorIds.DockerApiError, DindErrorCategory.ResourceBusy);

        // A network with a running container has active endpoints (403); a stopped one holds none.
        await FailsAsync(() => docker.RemoveNetworkAsync("net", default), ErrorIds.DockerApiError, DindErrorCategory.ResourceBusy);
        await FailsAsync(() => docker.RemoveImageAsync(Image, default), ErrorIds.DockerConflict, DindErrorCategory.ResourceExists);
        await docker.StopContainerAsync(id, TimeSpan.Zero, default);
        await docker.StopContainerAsync(id, TimeSpan.Zero, default);                    // already stopped: fine
        Assert.Equal((null, null), (await docker.InspectContainerAsync("one", default))!.Networks["net"]);
        await docker.RemoveNetworkAsync(network, default);
        await docker.RemoveNetworkAsync(network, default);                              // gone: fine
        await FailsAsync(() => docker.StartContainerAsync("one", default), ErrorIds.DockerObjectNotFound, DindErrorCategory.ObjectNotFound);
        await docker.RemoveContainerAsync("one", default);
        await docker.RemoveContainerAsync("one", default);                              // gone: fine
        await docker.RemoveVolumeAsync("never-made", default);
    }

    [Fact]
    public async Task LabelFiltersNeedEveryPairAndAnEmptyValueMatchesAnyValue()
    {
        var (docker, _) = await WithNetworkAsync();
        using var _d = docker;
        await docker.CreateContainerAsync(Container("ca"), default);
        await docker.CreateContainerAsync(Container("cb", labels: new Dictionary<string, string> { ["test.owner"] = "me", ["test.role"] = "b" }), default);
        await docker.CreateContainerAsync(Container("cc", labels: new Dictionary<string, string> { ["test.role"] = "a" }), default);
        async Task<string> Names(Dictionary<string, string>? filter) =>
            string.Join(",", (await docker.ListContainersAsync(filter, default)).Select(c => c.Name).Order());
        Assert.Equal("ca,cb,cc", await Names(null));
        Assert.Equal("ca,cb", await Names(new() { ["test.owner"] = "me" }));
        Assert.Equal("ca", await Names(new() { ["test.owner"] = "me", ["test.role"] = "a" }));
        Assert.Equal("ca,cb,cc", await Names(new() { ["test.role"] = "" }));
        Assert.Equal("cb", await Names(new() { ["test.owner"] = "", ["test.role"] = "b" }));
        Assert.Equal("", await Names(new() { ["test.other"] = "" }));
    }

    [Fact]
    public async Task RoutesAndRulesLiveInTheNetworkNamespaceFilesInTheContainerAndAnonymousVolumesGoWithIt()
    {
        var (docker, _) = await WithNetworkAsync();
        using var _d = docker;
        var id = await docker.CreateContainerAsync(Container("node", "fd00:1::20") with { Volumes = new[] { "/var" } }, default);
        Assert.Equal(InMemoryDockerApi.DefaultReadonlyPaths, (await docker.InspectContainerAsync(id, default))!.ReadonlyPaths);
        await FailsAsync(() => docker.ExecAsync(id, new[] { "true" }, null, null, default), ErrorIds.DockerConflict, DindErrorCategory.ResourceExists);
        await docker.PutFileAsync(id, "/etc/app.conf", "x=1\n", 420, default);
        await docker.StartContainerAsync(id, default);

        async Task<ExecResult> Run(string? stdin, params string[] argv) => await docker.ExecAsync(id, argv, stdin, null, default);
        var batch = await Run("address flush dev eth0 to 0.0.0.0/0\nroute replace fd00:40::/80 via fd00:1::30 dev eth0\nroute del fd00:99::/64\nroute replace fd00:41::/80 via fd00:1::31 dev eth0\n", "ip", "-batch", "-");
        Assert.Equal(1, batch.ExitCode);
        Assert.Contains("RTNETLINK answers: No such process", batch.StandardError);
        Assert.Contains("Command failed -:3", batch.StandardError);
        var table = (await Run(null, "ip", "-6", "route", "show")).StandardOutput;
        Assert.Contains("fd00:40::/80 via fd00:1::30 dev eth0 metric 1024 pref medium\n", table);
        Assert.DoesNotContain("fd00:41::", table);                                     // the batch stopped at line 3
        Assert.Contains("default via fd00:1::1 dev eth0 metric 1024 pref medium\n", table);
        var offLink = await Run("route replace fd00:42::/80 via fd00:7::1 dev eth0\n", "ip", "-batch", "-");
        Assert.Equal(1, offLink.ExitCode);
        Assert.Contains("Nexthop has invalid gateway", offLink.StandardError);
        Assert.Equal(127, (await Run(null, "kubectl", "version")).ExitCode);

        string[] Rule(string op) => new[] { "ip6tables", "-t", "nat", op, "POSTROUTING", "-s", "fd00:40::/64", "!", "-d", "fd00:40::/64", "-j", "MASQUERADE" };
        Assert.Equal(1, (await Run(null, Rule("-C"))).ExitCode);
        Assert.Equal(0, (await Run(null, Rule("-A"))).ExitCode);
        Assert.Equal(0, (await Run(null, Rule("-C"))).ExitCode);
        Assert.Equal(1, (await Run(null, "ip6tables", "-C", "POSTROUTING", "-s", "fd00:40::/64", "!", "-d", "fd00:40::/64", "-j", "MASQUERADE")).ExitCode); // another table
        Assert.Equal(1, (await Run(null, Rule("-C").Select(a => a == "ip6tables" ? "iptables" : a).ToArray())).ExitCode);                         // another tool
        Assert.Contains("-A POSTROUTING -s fd00:40::/64 ! -d fd00:40::/64 -j MASQUERADE", (await Run(null, "ip6tables-save")).StandardOutput);
        Assert.Equal("nameserver fd00:1::53\n", (await Run("nameserver fd00:1::53\n", "tee", "/etc/resolv.conf")).StandardOutput);
        Assert.Equal(1, (await Run("1\n", "tee", "/proc/sys/net/ipv6/conf/all/forwarding")).ExitCode);

        // Stop and start: a new network namespace (Docker's routes only, no rules), the same files.
        await docker.StopContainerAsync(id, TimeSpan.Zero, default);
        await docker.StartContainerAsync(id, default);
        Assert.DoesNotContain("fd00:40::", (await Run(null, "ip", "-6", "route", "show")).StandardOutput);
        Assert.Equal(1, (await Run(null, Rule("-C"))).ExitCode);
        Assert.Equal("nameserver fd00:1::53\n", await docker.GetFileAsync(id, "/etc/resolv.conf", default));
        Assert.True(await docker.PathExistsAsync(id, "/etc", default));
        Assert.Single(await docker.ListVolumesAsync(null, default));

        await docker.RemoveContainerAsync(id, default);
        Assert.Empty(await docker.ListVolumesAsync(null, default));
        Assert.DoesNotContain(docker.Snapshot(), l => l.Contains("node", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheHandlerAnswersFirstEveryExecIsRecordedAndACancelledTokenStopsEveryCallBeforeItActs()
    {
        var (docker, _) = await WithNetworkAsync();
        using var _d = docker;
        var id = await docker.CreateContainerAsync(Container("node"), default);
        await docker.StartContainerAsync(id, default);
        docker.ExecHandler = x => x.Argv[0] == "kubectl" ? new ExecResult(0, $"{x.ContainerName}:{x.Stdin}", "") : null;
        Assert.Equal("node:in", (await docker.ExecAsync(id, new[] { "kubectl", "apply", "-f", "-" }, "in", null, default)).StandardOutput);
        Assert.Equal(0, (await docker.ExecAsync(id, new[] { "true" }, null, null, default)).ExitCode);
        Assert.Equal(new[] { "node kubectl", "node true" }, docker.Execs.Select(e => $"{e.ContainerName} {e.Argv[0]}"));

        var fork = docker.Fork("copy");
        await fork.RemoveContainerAsync("node", default);
        Assert.NotNull(await docker.InspectContainerAsync("node", default));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var before = docker.Snapshot();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => docker.RemoveContainerAsync("node", cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => docker.ExecAsync(id, new[] { "true" }, null, null, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => docker.CreateVolumeAsync("v", Mine, cancelled.Token));
        Assert.Equal(before, docker.Snapshot());
        Assert.Equal(2, docker.Execs.Count);
    }
}
