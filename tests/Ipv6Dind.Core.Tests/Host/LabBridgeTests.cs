using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Tests.Host;

/// <summary>The lab bridge's gateway is made again without DAD: the lab's own bridge and address only, and never left without it.</summary>
public sealed class LabBridgeTests
{
    private sealed class Recording(params int[] exitCodes) : IHostCommandRunner
    {
        public List<string> Commands { get; } = new();
        public List<CancellationToken> Tokens { get; } = new();
        public Task<ExecResult> RunAsync(string file, IReadOnlyList<string> arguments, string? stdin, TimeSpan timeout, CancellationToken ct)
        {
            Commands.Add(string.Join(' ', arguments));
            Tokens.Add(ct);
            var code = exitCodes[Commands.Count - 1];
            return Task.FromResult(new ExecResult(code, "", code == 0 ? "" : "RTNETLINK answers: Cannot assign requested address"));
        }
    }

    private const string NetworkId = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

    [Fact]
    public async Task TheGatewayIsRemovedAndAddedAgainWithNodadOnTheNetworksOwnBridge()
    {
        Assert.True(Path.IsPathRooted(HostFirewall.Tool("ip")), "the tests run where ip is installed (tests/run installs iproute2)");
        var run = new Recording(0, 0);
        Assert.Null(await LabBridge.SkipDadAsync(run, NetworkId, "fd00:77:0:10::1", 64, default));
        Assert.Equal(new[]
        {
            "-6 address del fd00:77:0:10::1/64 dev br-0a1b2c3d4e5f",
            "-6 address add fd00:77:0:10::1/64 dev br-0a1b2c3d4e5f nodad",
        }, run.Commands);
    }

    [Fact]
    public async Task NoSuchAddressChangesNothingAndSaysWhy()
    {
        var run = new Recording(2);
        var why = await LabBridge.SkipDadAsync(run, NetworkId, "fd00:77:0:10::1", 64, default);
        Assert.Contains("br-0a1b2c3d4e5f has no address fd00:77:0:10::1/64", why);
        Assert.Single(run.Commands);                 // nothing added after a failed removal
    }

    [Fact]
    public async Task OnceRemovedTheGatewayComesBackEvenWhenTheOperationIsStoppedAndAFailureToDoSoIsAnError()
    {
        using var stopped = new CancellationTokenSource();
        stopped.Cancel();
        var run = new Recording(0, 0);
        Assert.Null(await LabBridge.SkipDadAsync(run, NetworkId, "fd00:77:0:10::1", 64, stopped.Token));
        Assert.False(run.Tokens[1].CanBeCanceled);   // the add is not on the operation's token

        var failing = new Recording(0, 2);
        var ex = await Assert.ThrowsAsync<DindException>(() => LabBridge.SkipDadAsync(failing, NetworkId, "fd00:77:0:10::1", 64, default));
        Assert.Equal(ErrorIds.HostCommandFailed, ex.ErrorId);
        Assert.Contains("could not be added again to br-0a1b2c3d4e5f", ex.Message);
    }

    [Theory]
    [InlineData("not-hex-at-all")]
    [InlineData("0a1b2c")]
    [InlineData("")]
    public async Task AnIdThatIsNotDockersTouchesNothing(string id)
    {
        var run = new Recording();
        Assert.NotNull(await LabBridge.SkipDadAsync(run, id, "fd00:77:0:10::1", 64, default));
        Assert.Empty(run.Commands);
    }
}
