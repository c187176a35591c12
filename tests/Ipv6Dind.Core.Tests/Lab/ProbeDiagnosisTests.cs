using System.Net;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Core.Tests.Lab;

/// <summary>
/// Test-DindCluster's probe classification (ProbeDiagnosis): a probe name unknown upstream is a Warn, a failed
/// resolution names the upstream, a failed connection after synthesis names NAT64, and the Well-Known Prefix with a
/// non-global destination names RFC 6052 section 3.1.
/// </summary>
public class ProbeDiagnosisTests
{
    private static readonly Ipv6Prefix Nat64 = Ipv6Prefix.Parse("fd00:77:0:64::/96");
    private static readonly string[] Upstreams = { "198.51.100.53" };
    private const string Dns64 = "fd00:77:0:10::100";

    private static string Dig(string status, params string[] answers) =>
        ";; Got answer:\n" +
        $";; ->>HEADER<<- opcode: QUERY, status: {status}, id: 4242\n" +
        ";; flags: qr rd ra; QUERY: 1, ANSWER: " + answers.Length + ", AUTHORITY: 0, ADDITIONAL: 1\n\n" +
        ";; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232\n" +
        ";; QUESTION SECTION:\n;ipv4only.arpa.\t\t\tIN\tAAAA\n\n" +
        (answers.Length > 0 ? ";; ANSWER SECTION:\n" + string.Join("\n", answers) + "\n" : "");

    private const string TimedOut = ";; communications error to fd00:77:0:10::100#53: timed out\n;; communications error to fd00:77:0:10::100#53: timed out\n;; no servers could be reached\n";

    private static DnsAnswer Parse(string stdout, int exit = 0) => ProbeDiagnosis.ParseDig(exit, stdout, "");

    [Fact]
    public void DigOutputGivesStatusAndAddresses()
    {
        var synthesized = Parse(Dig("NOERROR", "www.example.test.\t300\tIN\tAAAA\tfd00:77:0:64::c633:6450"));
        Assert.Equal(DnsOutcome.Answer, synthesized.Outcome);
        Assert.Equal(IPAddress.Parse("fd00:77:0:64::c633:6450"), Assert.Single(synthesized.Addresses));

        Assert.Equal(DnsOutcome.NoData, Parse(Dig("NOERROR")).Outcome);
        Assert.Equal(DnsOutcome.NxDomain, Parse(Dig("NXDOMAIN")).Outcome);
        Assert.Equal(DnsOutcome.ServFail, Parse(Dig("SERVFAIL")).Outcome);
        Assert.Equal(DnsOutcome.Refused, Parse(Dig("REFUSED")).Outcome);
        Assert.Equal(DnsOutcome.Timeout, Parse(TimedOut, exit: 9).Outcome);
        Assert.Equal(DnsOutcome.Other, ProbeDiagnosis.ParseDig(127, "", "exec: \"dig\": executable file not found").Outcome);
        // A CNAME line is not an address.
        var cname = Parse(Dig("NOERROR", "www.example.test.\t300\tIN\tCNAME\tweb.example.test.", "web.example.test.\t300\tIN\tA\t198.51.100.80"));
        Assert.Equal(IPAddress.Parse("198.51.100.80"), Assert.Single(cname.Addresses));
    }

    [Fact]
    public void DigArgumentsAskForStatusAndAnswerOnly()
    {
        Assert.Equal(new[] { "dig", "+time=3", "+tries=2", "+noall", "+comments", "+answer", "AAAA", "ipv4only.arpa" }, ProbeDiagnosis.DigArguments("AAAA", "ipv4only.arpa"));
        Assert.Equal("@fd00:77:0:30::a", ProbeDiagnosis.DigArguments("AAAA", "x.test", "fd00:77:0:30::a")[6]);
    }

    private static CheckResult Check(DnsAnswer aaaa, DnsAnswer? a, string name = "ipv4only.arpa") =>
        ProbeDiagnosis.Dns64Check("lab-node-1", "lab", name, Nat64, Upstreams, Dns64, aaaa, a);

    [Fact]
    public void SynthesisPasses()
    {
        var r = Check(Parse(Dig("NOERROR", "ipv4only.arpa.\t300\tIN\tAAAA\tfd00:77:0:64::c000:aa")), null);
        Assert.Equal(CheckStatus.Pass, r.Status);
        Assert.Equal("Dns64Synthesis", r.Check);
        Assert.Contains("fd00:77:0:64::c000:aa", r.Detail);
    }

    [Fact]
    public void AProbeNameUnknownUpstreamIsAWarningThatSaysHowToChooseAnother()
    {
        // The simulated outside world (examples/outside-world) knows only example.test: ipv4only.arpa is NXDOMAIN.
        foreach (var (aaaa, a) in new[] { (Parse(Dig("NXDOMAIN")), (DnsAnswer?)null), (Parse(Dig("NOERROR")), Parse(Dig("NOERROR"))), (Parse(Dig("NOERROR")), Parse(Dig("NXDOMAIN"))) })
        {
            var r = Check(aaaa, a);
            Assert.Equal(CheckStatus.Warn, r.Status);
            Assert.True(r.Passed);
            Assert.Contains("unknown upstream (198.51.100.53)", r.Detail);
            Assert.Contains("-ProbeName", r.Remedy);
        }
    }

    [Theory]
    [InlineData("SERVFAIL", 0)]
    [InlineData("REFUSED", 0)]
    [InlineData(null, 9)]
    public void AFailedResolutionFailsAndNamesTheUpstream(string? status, int exit)
    {
        var aaaa = status is null ? Parse(TimedOut, exit) : Parse(Dig(status));
        var r = Check(aaaa, null);
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("resolution", r.Detail);
        Assert.Contains("Resolution failed", r.Remedy);
        Assert.Contains("198.51.100.53", r.Remedy);
        Assert.DoesNotContain("NAT64", r.Remedy);
    }

    [Fact]
    public void AnARecordWithoutSynthesisFailsAsSynthesis()
    {
        var r = Check(Parse(Dig("NOERROR")), Parse(Dig("NOERROR", "www.example.test.\t300\tIN\tA\t198.51.100.80")), "www.example.test");
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("198.51.100.80", r.Detail);
        Assert.Contains("synthesis", r.Remedy);
    }

    [Fact]
    public void ARealAaaaLeavesSynthesisUntested()
    {
        var r = Check(Parse(Dig("NOERROR", "dual.example.test.\t300\tIN\tAAAA\t2001:db8:5e5e::80")), null, "dual.example.test");
        Assert.Equal(CheckStatus.Warn, r.Status);
        Assert.Contains("only A records", r.Remedy);
    }

    [Fact]
    public void AFailedConnectionAfterSynthesisNamesNat64NotTheUpstream()
    {
        var remedy = ProbeDiagnosis.Nat64Remedy("lab", Nat64, IPAddress.Parse("198.51.100.80"), "fd00:77::/48");
        Assert.Contains("connection through NAT64", remedy);
        Assert.Contains("Get-Nat64Mapping lab", remedy);
        Assert.DoesNotContain("upstream", remedy);
        Assert.DoesNotContain("RFC 6052", remedy);
    }

    [Theory]
    [InlineData("198.51.100.80")]
    [InlineData("198.18.7.1")]
    [InlineData("10.1.2.3")]
    [InlineData("192.168.1.1")]
    public void TheWellKnownPrefixWithANonGlobalDestinationNamesRfc6052AndANetworkSpecificPrefix(string destination)
    {
        var remedy = ProbeDiagnosis.Nat64Remedy("lab", Rfc6052.WellKnownPrefix, IPAddress.Parse(destination), "fd00:77::/48");
        Assert.Contains("RFC 6052 section 3.1", remedy);
        Assert.Contains("Set-Nat64Prefix lab -Nat64Prefix fd00:77:0:64::/96", remedy);
        Assert.Contains("2001:db8:64::/96", remedy);
    }

    [Fact]
    public void TheWellKnownPrefixWithAGlobalDestinationIsAnOrdinaryConnectionProblem()
    {
        // 100.128.0.1 (just above RFC 6598's 100.64/10) is global; it appears as data only, nothing is sent to it.
        var remedy = ProbeDiagnosis.Nat64Remedy("lab", Rfc6052.WellKnownPrefix, IPAddress.Parse("100.128.0.1"), "fd00:77::/48");
        Assert.DoesNotContain("RFC 6052", remedy);
        Assert.Contains("connection through NAT64", remedy);
    }

    [Fact]
    public void TheDestinationComesFromTheUrlOrTheSynthesizedAddress()
    {
        Assert.Equal(IPAddress.Parse("198.51.100.80"), ProbeDiagnosis.Destination(Nat64, "http://198.51.100.80/", null));
        Assert.Equal(IPAddress.Parse("198.51.100.80"), ProbeDiagnosis.Destination(Nat64, "http://[fd00:77:0:64::c633:6450]:8080/x", null));
        Assert.Equal(IPAddress.Parse("198.51.100.80"), ProbeDiagnosis.Destination(Rfc6052.WellKnownPrefix, "http://www.example.test/", new[] { IPAddress.Parse("64:ff9b::c633:6450") }));
        Assert.Null(ProbeDiagnosis.Destination(Nat64, "http://www.example.test/", new[] { IPAddress.Parse("2001:db8:5e5e::80") }));
        Assert.Null(ProbeDiagnosis.Destination(Nat64, "http://www.example.test/", null));
    }
}
