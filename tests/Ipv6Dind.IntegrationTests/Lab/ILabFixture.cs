using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>What a test needs of a fixture to make and inspect labs: the two test processes have one each
/// (<see cref="LabFixture"/>, and the fault sweep's SweepFixture in tests/Ipv6Dind.IntegrationTests/Faults/FaultSweepTests.cs).</summary>
public interface ILabFixture
{
    /// <summary>A client that reaches the daemon directly (never through a relay under test).</summary>
    IDockerApi Docker { get; }
    /// <summary>The DNS64 upstream of test labs (the simulated outside world's resolver).</summary>
    string Upstream { get; }
    DindLab Lab(CancellationToken ct = default);
    Task<string> DaemonIdAsync();
}
