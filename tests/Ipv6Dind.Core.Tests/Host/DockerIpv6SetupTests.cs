using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Tests.Host;

/// <summary>An in-memory ip6tables (save, -C, -A, -I, -D) behind the host command runner seam.</summary>
internal sealed class FakeIp6Tables : IHostCommandRunner
{
    public List<(string Table, string Chain, List<string> Spec)> Rules { get; } = new();
    public List<string> Changes { get; } = new();

    public Task<ExecResult> RunAsync(string file, IReadOnlyList<string> arguments, string? stdin, TimeSpan timeout, CancellationToken ct)
    {
        if (file.EndsWith("ip6tables-save", StringComparison.Ordinal))
        {
            var text = string.Join('\n', Rules.GroupBy(r => r.Table).SelectMany(g => new[] { "*" + g.Key }
                .Concat(g.Select(r => $"-A {r.Chain} " + string.Join(' ', r.Spec.Select(a => a.Contains(':') && r.Spec.IndexOf(a) > 0 && r.Spec[r.Spec.IndexOf(a) - 1] == "--comment" ? $"\"{a}\"" : a))))
                .Append("COMMIT")));
            return Task.FromResult(new ExecResult(0, text + "\n", ""));
        }
        if (!file.EndsWith("ip6tables", StringComparison.Ordinal)) return Task.FromResult(new ExecResult(127, "", "not faked"));
        var args = arguments.SkipWhile(a => a != "-t").ToList();      // drops "-w 5"
        var (table, verb, chain, spec) = (args[1], args[2], args[3], args.Skip(4).ToList());
        var at = Rules.FindIndex(r => r.Table == table && r.Chain == chain && r.Spec.SequenceEqual(spec));
        switch (verb)
        {
            case "-C": return Task.FromResult(new ExecResult(at >= 0 ? 0 : 1, "", at >= 0 ? "" : "Bad rule"));
            case "-A" or "-I": Rules.Add((table, chain, spec)); break;
            case "-D" when at >= 0: Rules.RemoveAt(at); break;
            case "-D": return Task.FromResult(new ExecResult(1, "", "Bad rule (does a matching rule exist in that chain?)."));
        }
        Changes.Add($"{verb} {string.Join(' ', spec.Take(2))}");
        return Task.FromResult(new ExecResult(0, "", ""));
    }
}

/// <summary>
/// The tagged ULA MASQUERADE rule of Enable-DockerIpv6 / Set-DockerIpv6Prefix: only this daemon's rule (its prefix,
/// or the prefix its daemon.json had before) is ever added, moved or removed; another dockerd's rule on the same
/// host, tagged alike, stays as it is.
/// </summary>
public sealed class DockerIpv6SetupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-setup-").FullName;
    private readonly FakeIp6Tables _fw = new();
    private string Config => Path.Combine(_dir, "daemon.json");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Existing(string prefix) =>
        _fw.Rules.Add(("nat", "POSTROUTING", DockerIpv6Prefix.MasqueradeRule(DockerIpv6Prefix.Validate(prefix)).Specification.ToList()));

    private IEnumerable<string> Sources => _fw.Rules.Select(r => r.Spec[r.Spec.IndexOf("-s") + 1]).OrderBy(s => s, StringComparer.Ordinal);

    private Task<DockerIpv6Settings?> Apply(string prefix, bool? masquerade, Func<string, string, bool>? confirm = null) =>
        new DockerIpv6Setup(OperationContext.None, confirm ?? ((_, _) => true), _fw).ApplyAsync(new DockerIpv6Request
        {
            ConfigPath = Config,
            Prefix = DockerIpv6Prefix.Validate(prefix),
            Masquerade = masquerade,
            DockerVersion = "20.10.24",
            RestartOptions = new DockerRestartOptions { PidFile = Path.Combine(_dir, "none.pid") },
        });

    [Fact]
    public async Task NotAskedLeavesAnotherDaemonsRuleAlone()
    {
        Existing("fd00:d1d:7:1::/64");          // another dockerd's rule, same tag
        var s = await Apply("fd00:d0c:1::/64", masquerade: null);
        Assert.Equal("", s!.MasqueradeRule);
        Assert.Equal(new[] { "fd00:d1d:7:1::/64" }, Sources);
        Assert.Empty(_fw.Changes);
    }

    [Fact]
    public async Task AddingKeepsAnotherDaemonsRuleAndASecondRunAddsNothing()
    {
        Existing("fd00:d1d:7:1::/64");
        var s = await Apply("fd00:d0c:1::/64", masquerade: true);
        Assert.StartsWith("-t nat POSTROUTING -s fd00:d0c:1::/64", s!.MasqueradeRule);
        Assert.Equal(new[] { "fd00:d0c:1::/64", "fd00:d1d:7:1::/64" }, Sources);
        var changes = _fw.Changes.Count;
        await Apply("fd00:d0c:1::/64", masquerade: true);
        Assert.Equal(changes, _fw.Changes.Count);
    }

    [Fact]
    public async Task RemovingRemovesOnlyThisDaemonsRule()
    {
        Existing("fd00:d1d:7:1::/64");
        Existing("fd00:d0c:1::/64");
        await Apply("fd00:d0c:1::/64", masquerade: false);
        Assert.Equal(new[] { "fd00:d1d:7:1::/64" }, Sources);
    }

    [Fact]
    public async Task ANewPrefixMovesThisDaemonsRuleWhenNotAsked()
    {
        File.WriteAllText(Config, "{ \"ipv6\": true, \"fixed-cidr-v6\": \"fd00:d0c:1::/64\" }");
        Existing("fd00:d0c:1::/64");
        Existing("fd00:d1d:7:1::/64");
        var s = await Apply("fd00:d0c:2::/64", masquerade: null);
        Assert.StartsWith("-t nat POSTROUTING -s fd00:d0c:2::/64", s!.MasqueradeRule);
        Assert.Equal(new[] { "fd00:d0c:2::/64", "fd00:d1d:7:1::/64" }, Sources);
    }

    [Fact]
    public async Task AGlobalPrefixDropsThisDaemonsOldRuleInsteadOfMovingIt()
    {
        File.WriteAllText(Config, "{ \"ipv6\": true, \"fixed-cidr-v6\": \"fd00:d0c:1::/64\" }");
        Existing("fd00:d0c:1::/64");
        Existing("fd00:d1d:7:1::/64");
        var s = await Apply("2001:db8:1:2::/64", masquerade: null);
        Assert.Equal("", s!.MasqueradeRule);
        Assert.Equal(new[] { "fd00:d1d:7:1::/64" }, Sources);
    }

    [Fact]
    public async Task DeclinedChangesNothingOnTheFirewall()
    {
        File.WriteAllText(Config, "{ \"ipv6\": true, \"fixed-cidr-v6\": \"fd00:d0c:1::/64\" }");
        Existing("fd00:d0c:1::/64");
        await Apply("fd00:d0c:2::/64", masquerade: true, confirm: (target, _) => !target.StartsWith("ip6tables", StringComparison.Ordinal));
        Assert.Equal(new[] { "fd00:d0c:1::/64" }, Sources);
        Assert.Empty(_fw.Changes);
    }
}
