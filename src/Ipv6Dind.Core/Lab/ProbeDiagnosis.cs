using System.Net;
using System.Net.Sockets;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Lab;

/// <summary>How a DNS query of a probe ended, as dig reports it.</summary>
public enum DnsOutcome
{
    /// <summary>NOERROR with records of the asked type.</summary>
    Answer,
    /// <summary>NOERROR without records of the asked type (NODATA).</summary>
    NoData,
    /// <summary>The name does not exist (NXDOMAIN).</summary>
    NxDomain,
    /// <summary>The resolver failed (SERVFAIL): bind9 says so when its upstream does not answer.</summary>
    ServFail,
    /// <summary>The resolver refused the query (REFUSED).</summary>
    Refused,
    /// <summary>No answer at all (dig: "connection timed out", "no servers could be reached").</summary>
    Timeout,
    /// <summary>Anything else (dig missing, another status).</summary>
    Other,
}

/// <summary>One dig answer: its status and the addresses of the answer section.</summary>
public sealed record DnsAnswer(DnsOutcome Outcome, IReadOnlyList<IPAddress> Addresses, string Text)
{
    /// <summary>"NXDOMAIN", "no AAAA record", "timed out", … for details.</summary>
    public string Describe(string type) => Outcome switch
    {
        DnsOutcome.Answer => string.Join(", ", Addresses),
        DnsOutcome.NoData => $"no {type} record (NOERROR)",
        DnsOutcome.NxDomain => "NXDOMAIN",
        DnsOutcome.ServFail => "SERVFAIL",
        DnsOutcome.Refused => "REFUSED",
        DnsOutcome.Timeout => "no answer (timed out)",
        _ => $"'{Text}'",
    };

    /// <summary>Resolution itself failed: the resolver did not answer or answered with an error.</summary>
    public bool ResolutionFailed => Outcome is DnsOutcome.ServFail or DnsOutcome.Refused or DnsOutcome.Timeout;

    /// <summary>The name has no record of the asked type: it does not exist, or only has other types.</summary>
    public bool NameUnknown => Outcome is DnsOutcome.NxDomain or DnsOutcome.NoData;
}

/// <summary>
/// Pure classification of Test-DindCluster's DNS64 and NAT64 probes: what failed (resolution upstream, the probe
/// name, synthesis, or the connection through NAT64) decides the status and the remedy.
/// </summary>
public static class ProbeDiagnosis
{
    /// <summary>
    /// dig's arguments for a probe query: header and answer section only, so that both the status and the records
    /// can be read (with +short an NXDOMAIN and a timeout look alike).
    /// </summary>
    public static string[] DigArguments(string type, string name, string? server = null)
    {
        var args = new List<string> { "dig", "+time=3", "+tries=2", "+noall", "+comments", "+answer" };
        if (server is not null) args.Add("@" + server);
        args.Add(type);
        args.Add(name);
        return args.ToArray();
    }

    /// <summary>Reads dig's output (<see cref="DigArguments"/>) and exit code: 9 is "no reply from server".</summary>
    public static DnsAnswer ParseDig(int exitCode, string stdout, string stderr)
    {
        var text = (stdout + "\n" + stderr).Trim();
        var addresses = new List<IPAddress>();
        string? status = null;
        foreach (var raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = raw.IndexOf("status:", StringComparison.Ordinal);
            if (raw.StartsWith(";;", StringComparison.Ordinal) && at >= 0)
            {
                status = raw[(at + "status:".Length)..].Split(',', 2)[0].Trim();
                continue;
            }
            if (raw.StartsWith(';')) continue;
            // "www.example.test. 300 IN AAAA fd00::c633:6450"
            var f = raw.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 5 && f[^2] is "A" or "AAAA" && IPAddress.TryParse(f[^1], out var address))
                addresses.Add(address);
        }
        var outcome = status switch
        {
            "NOERROR" => addresses.Count > 0 ? DnsOutcome.Answer : DnsOutcome.NoData,
            "NXDOMAIN" => DnsOutcome.NxDomain,
            "SERVFAIL" => DnsOutcome.ServFail,
            "REFUSED" => DnsOutcome.Refused,
            null when exitCode == 9 || text.Contains("timed out", StringComparison.Ordinal) || text.Contains("no servers could be reached", StringComparison.Ordinal) => DnsOutcome.Timeout,
            _ => DnsOutcome.Other,
        };
        return new DnsAnswer(outcome, addresses, text);
    }

    /// <summary>
    /// The Dns64Synthesis check from the AAAA answer of the probe name and, when that has no address, the A answer:
    /// Pass when an address inside the NAT64 prefix came back; Warn when the name does not exist upstream (nothing to
    /// synthesize from, so synthesis is not tested) or has a real AAAA; Fail when resolution failed (the remedy names
    /// the upstream) or the upstream has an A record that DNS64 did not synthesize from.
    /// </summary>
    public static CheckResult Dns64Check(string target, string cluster, string probeName, Ipv6Prefix nat64, IReadOnlyList<string> upstreams,
        string dns64Address, DnsAnswer aaaa, DnsAnswer? a)
    {
        var upstream = upstreams.Count > 0 ? string.Join(", ", upstreams) : "none configured";
        var synthesized = aaaa.Addresses.FirstOrDefault(x => x.AddressFamily == AddressFamily.InterNetworkV6 && nat64.Contains(x));
        if (synthesized is not null)
            return Check(target, CheckStatus.Pass, $"{probeName} AAAA {synthesized} (inside {nat64})", null);

        if (aaaa.ResolutionFailed || a is { ResolutionFailed: true })
        {
            var failed = aaaa.ResolutionFailed ? aaaa : a!;
            var type = aaaa.ResolutionFailed ? "AAAA" : "A";
            var who = failed.Outcome == DnsOutcome.Timeout
                ? $"no answer from the DNS64 ({dns64Address}) in time: its upstream ({upstream}) does not answer (bind9 waits for it longer than the probe), or the DNS64 itself is down (see ContainerRunning)"
                : $"the DNS64 ({dns64Address}) could not resolve it from its upstream ({upstream})";
            return Check(target, CheckStatus.Fail,
                $"resolution of {probeName} failed: {type} {failed.Describe(type)}; {who}",
                $"Resolution failed, not synthesis: check that the DNS64 upstream ({upstream}) is reachable from the Docker bridge and answers " +
                $"{probeName} (Get-Dns64 {cluster}; Export-DindLog shows bind9's log), or give another one: Set-Dns64 {cluster} -Upstream <resolver>.");
        }

        if (aaaa.Outcome == DnsOutcome.NxDomain || (aaaa.Outcome == DnsOutcome.NoData && a is { NameUnknown: true }))
            return Check(target, CheckStatus.Warn,
                $"{probeName} is unknown upstream ({upstream}): AAAA {aaaa.Describe("AAAA")}" + (a is null ? "" : $", A {a.Describe("A")}") +
                "; synthesis not tested (there is no A record to synthesize from)",
                $"Give -ProbeName with a name your upstream resolves to an IPv4 address only (no AAAA), e.g. -ProbeName www.example.test " +
                "against examples/outside-world; the default ipv4only.arpa (RFC 7050) exists only where the upstream reaches the public DNS.");

        if (aaaa.Outcome == DnsOutcome.Answer)
            return Check(target, CheckStatus.Warn,
                $"{probeName} AAAA {aaaa.Describe("AAAA")}: a real AAAA record outside {nat64}, so synthesis was not tested",
                $"Give -ProbeName with a name that has only A records (AAAA mode answers real AAAA records as they are; -AaaaProbeName tests that).");

        if (aaaa.Outcome == DnsOutcome.NoData && a is { Outcome: DnsOutcome.Answer })
            return Check(target, CheckStatus.Fail,
                $"{probeName} has A {a.Describe("A")} upstream, but its AAAA came back empty: the DNS64 synthesized nothing inside {nat64}",
                $"DNS64 synthesis is not working: Export-DindLog {cluster} shows bind9's named.conf (its dns64 block) and log; Set-Dns64 {cluster} re-renders it.");

        return Check(target, CheckStatus.Fail,
            $"{probeName} AAAA gave {aaaa.Describe("AAAA")}" + (a is null ? "" : $", A {a.Describe("A")}") + $", nothing inside {nat64}",
            $"Check that the DNS64 upstream ({upstream}) answers A queries for {probeName} (Get-Dns64 {cluster}; Export-DindLog shows bind9's log).");
    }

    /// <summary>
    /// The remedy of a failed Nat64Reachability probe. Name resolution and synthesis worked by then, so it is about
    /// the connection through NAT64; with the Well-Known Prefix and a non-global IPv4 destination tayga drops the
    /// traffic by design (RFC 6052 section 3.1), and the remedy says to use a network-specific prefix instead.
    /// </summary>
    public static string Nat64Remedy(string cluster, Ipv6Prefix nat64, IPAddress? destination, string? subnet)
    {
        if (destination is not null && Rfc6052.WellKnownPrefixRefuses(nat64, destination))
            return $"{destination} is a non-global IPv4 address, which the Well-Known Prefix {Rfc6052.WellKnownPrefix} must not carry (RFC 6052 section 3.1): " +
                   $"tayga drops the traffic. Use a network-specific prefix: Set-Nat64Prefix {cluster} -Nat64Prefix {Nat64Advice.SuggestedPrefix(subnet)} " +
                   "(or any unique-local or global /96 of your own, e.g. 2001:db8:64::/96 in a documentation lab).";
        var to = destination is null ? "the server" : destination.ToString();
        return $"The name resolved and was synthesized; the connection through NAT64 to {to} failed: Get-Nat64Mapping {cluster} shows tayga's translations; " +
               $"check that the host forwards IPv4 (net.ipv4.ip_forward=1) and routes to {to}, and that the server listens.";
    }

    /// <summary>
    /// The IPv4 destination behind a probe: the URL's host when it is an IPv4 literal or an address inside the
    /// NAT64 prefix, else the IPv4 embedded in a synthesized address of it (null when unknown).
    /// </summary>
    public static IPAddress? Destination(Ipv6Prefix nat64, string? urlOrHost, IEnumerable<IPAddress>? synthesized)
    {
        if (urlOrHost is not null)
        {
            var host = Uri.TryCreate(urlOrHost, UriKind.Absolute, out var uri) ? uri.Host.Trim('[', ']') : urlOrHost;
            if (IPAddress.TryParse(host, out var literal))
            {
                if (literal.AddressFamily == AddressFamily.InterNetwork) return literal;
                if (nat64.Contains(literal)) return Rfc6052.Extract(nat64, literal);
            }
        }
        var inside = synthesized?.FirstOrDefault(x => x.AddressFamily == AddressFamily.InterNetworkV6 && nat64.Contains(x));
        return inside is null ? null : Rfc6052.Extract(nat64, inside);
    }

    private static CheckResult Check(string target, CheckStatus status, string detail, string? remedy) =>
        new() { Target = target, Check = "Dns64Synthesis", Status = status, Detail = detail, Remedy = remedy ?? "" };
}
