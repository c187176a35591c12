using Ipv6Dind.Core.Docker;
using Ipv6Dind.TestSupport;

namespace Ipv6Dind.Lab.Tests;

/// <summary>
/// src/Ipv6Dind.Core/Docker/SettlingDockerApi.cs: under Ctrl-C a change that has started finishes (its answer tells the
/// rollback what exists), reads and long execs stop at once, and nothing new starts after the stop. Ctrl-C comes as
/// the first call starts, with its request on its way (<see cref="FaultInjectingDockerApi.CancelAtCallAndFinishLate"/>):
/// a call given the cancelled token returns at once and would be carried out late.
/// </summary>
public sealed class SettlingDockerApiTests
{
    private static (InMemoryDockerApi Daemon, FaultInjectingDockerApi Faulty, IDockerApi Settling, CancellationTokenSource Stop) Arrange()
    {
        var daemon = InMemoryLab.NewDaemon();
        var faulty = new FaultInjectingDockerApi(daemon);
        var stop = new CancellationTokenSource();
        faulty.CancelAtCallAndFinishLate(1, stop);
        return (daemon, faulty, SettlingDockerApi.Wrap(faulty), stop);
    }

    private static readonly NetworkSpec Network = new("ipv6dind-settle", "fd00:5e:0:10::/64", "fd00:5e:0:10::1", new Dictionary<string, string> { ["io.ipv6dind.cluster"] = "settle" });

    [Fact]
    public async Task ACreateThatHasStartedFinishesAndItsAnswerComesBack()
    {
        var (daemon, faulty, settling, stop) = Arrange();
        using (daemon) using (faulty) using (stop)
        {
            var id = await settling.CreateNetworkAsync(Network, stop.Token);
            Assert.True(stop.IsCancellationRequested);
            Assert.Equal(0, await faulty.FinishLateCallsAsync());      // nothing left to happen behind the caller's back
            Assert.Equal(id, Assert.Single(await daemon.ListNetworksAsync(Network.Labels, default)).Id);
            // The stop is honoured before the next change starts.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => settling.RemoveNetworkAsync(id, stop.Token));
            Assert.Single(await daemon.ListNetworksAsync(Network.Labels, default));
        }
    }

    [Fact]
    public async Task AReadStopsAtOnce()
    {
        var (daemon, faulty, settling, stop) = Arrange();
        using (daemon) using (faulty) using (stop)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => settling.ListNetworksAsync(null, stop.Token));
            Assert.Equal(1, await faulty.FinishLateCallsAsync());
        }
    }

    [Theory]
    [InlineData("ip", true)]
    [InlineData("ip6tables", true)]
    [InlineData("tee", true)]
    [InlineData("kubeadm", false)]
    [InlineData("dig", false)]
    public async Task AConfigurationExecFinishesAndALongOneStopsAtOnce(string tool, bool settles)
    {
        var (daemon, faulty, settling, stop) = Arrange();
        using (daemon) using (faulty) using (stop)
        {
            // The container the exec runs in, made before the stop (on the daemon itself, not counted).
            await daemon.CreateNetworkAsync(Network, default);
            var id = await daemon.CreateContainerAsync(new ContainerSpec("settle-node-1", Ipv6Dind.Core.Images.ImageBuilder.ReferenceFor("node"), Network.Labels)
                { Network = Network.Name, Ipv6Address = "fd00:5e:0:10::1001" }, default);
            await daemon.StartContainerAsync(id, default);
            var exec = settling.ExecAsync(id, new[] { tool, "--version" }, null, null, stop.Token);
            if (settles)
            {
                await exec;
                Assert.Equal(0, await faulty.FinishLateCallsAsync());
            }
            else
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => exec);
                Assert.Equal(1, await faulty.FinishLateCallsAsync());
            }
        }
    }

    [Fact]
    public void WrappingTwiceWrapsOnce()
    {
        using var daemon = InMemoryLab.NewDaemon();
        var once = SettlingDockerApi.Wrap(daemon);
        Assert.Same(once, SettlingDockerApi.Wrap(once));
        Assert.Equal(daemon.Endpoint, once.Endpoint);
    }
}
