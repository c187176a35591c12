using System.Diagnostics;
using Ipv6Dind.Tests;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// examples/outside-world (the demo's world, on the same addresses as <see cref="OutsideWorld"/>) through
/// tests/lab/outside-world.test.sh: it reuses its own running world and refuses, naming the obstacle and creating
/// nothing, when a broken world of its own, a taken interface name, or another interface or namespace holding an
/// address of 198.51.100.0/24 is in the way. Runs outside the "lab" collection, so the fixture's world is not up.
/// </summary>
public sealed class OutsideWorldScriptTests
{
    [Fact]
    public async Task UpReusesItsOwnWorldAndRefusesWhatIsInTheWay()
    {
        var psi = new ProcessStartInfo("bash", new[] { Path.Combine(Repo.Root, "tests", "lab", "outside-world.test.sh") })
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(cts.Token);
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}\n{await stdout}\n{await stderr}");
    }
}
