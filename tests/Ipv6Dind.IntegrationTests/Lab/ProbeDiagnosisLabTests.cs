using Xunit.Abstractions;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// Test-DindCluster's probe diagnosis against the real lab and the simulated outside world (which knows only
/// example.test): the default probe name ipv4only.arpa does not fail the lab, a failed resolution names the
/// upstream, and a lab on the Well-Known Prefix 64:ff9b::/96 (warned about at bring-up) whose outside world is
/// non-global has its NAT64 remedy cite RFC 6052 section 3.1.
/// </summary>
[Collection("lab")]
public sealed class ProbeDiagnosisLabTests
{
    private readonly LabFixture _f;
    private readonly ITestOutputHelper _out;
    public ProbeDiagnosisLabTests(LabFixture fixture, ITestOutputHelper output) => (_f, _out) = (fixture, output);

    private List<CheckResult> Test(string name, string args = "")
    {
        var r = _f.Ps.Run($"Test-DindCluster {name} {args}");
        r.AssertSuccess();
        var checks = r.Output.Select(o => (CheckResult)o.BaseObject).ToList();
        foreach (var c in checks.Where(c => c.Check is "Dns64Synthesis" or "Nat64Reachability"))
            _out.WriteLine($"{args}: {c} | {c.Remedy}");
        return checks;
    }

    private static CheckResult One(IEnumerable<CheckResult> checks, string check) => Assert.Single(checks, c => c.Check == check);

    [Fact]
    public async Task TheDefaultProbeUnknownUpstreamWarnsAndTheWellKnownPrefixRemedyCitesRfc6052()
    {
        const string name = "it-probe-wkp";
        try
        {
            var created = _f.Ps.Run($"New-DindCluster {name} -Nodes 1 -NetworkOnly -Nat64Prefix 64:ff9b::/96 -Dns64Upstream {_f.Upstream}");
            created.AssertSuccess();
            Assert.Contains(created.Warnings, w => w.Contains("RFC 6052 section 3.1") && w.Contains(_f.Upstream));

            // The default probe name: not a failure against a world that does not know it (bind9 9.18 forwards
            // ipv4only.arpa like any name, and the world answers NXDOMAIN).
            var dns64 = One(Test(name), "Dns64Synthesis");
            Assert.Equal(CheckStatus.Warn, dns64.Status);
            Assert.Contains("unknown upstream", dns64.Detail);
            Assert.Contains("-ProbeName", dns64.Remedy);
            Assert.Equal(CheckStatus.Warn, One(Test(name, $"-ProbeName {OutsideWorld.MissingName}"), "Dns64Synthesis").Status);

            // A-only name of the world: synthesized under the Well-Known Prefix, and the fetch is dropped by tayga.
            var checks = Test(name, $"-ProbeName {OutsideWorld.WwwName} -ProbeUrl http://{OutsideWorld.WwwName}/");
            var synthesis = One(checks, "Dns64Synthesis");
            var reach = One(checks, "Nat64Reachability");
            Assert.Equal(CheckStatus.Pass, synthesis.Status);
            Assert.Contains("64:ff9b::c633:6450", synthesis.Detail);
            Assert.Equal(CheckStatus.Fail, reach.Status);
            Assert.Contains("RFC 6052 section 3.1", reach.Remedy);
            Assert.Contains($"Set-Nat64Prefix {name} -Nat64Prefix fd", reach.Remedy);

            // Resolution failing upstream (nothing answers at .99 of the world's subnet): the remedy names the upstream.
            const string silent = "198.51.100.99";
            _f.Ps.Run($"Set-Dns64 {name} -Upstream {silent}").AssertSuccess();
            var failed = One(Test(name, $"-ProbeName {OutsideWorld.WwwName}"), "Dns64Synthesis");
            Assert.Equal(CheckStatus.Fail, failed.Status);
            Assert.Contains("Resolution failed", failed.Remedy);
            Assert.Contains(silent, failed.Remedy);
        }
        finally
        {
            _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false");
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }
}
