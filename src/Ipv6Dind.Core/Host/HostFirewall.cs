using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Host;

/// <summary>One ip6tables rule on the host, as ip6tables-save prints it.</summary>
public sealed record HostRule(string Table, string Chain, IReadOnlyList<string> Specification, string Comment);

/// <summary>
/// The host's ip6tables rules of a cluster: added for AAAA mode (direct IPv6 egress of the management network,
/// the management network), each carrying the cluster's comment (LabNames.HostRuleComment: name and network ID);
/// removal deletes exactly the rules with that comment (read back with ip6tables-save), never anything else, and
/// reports a rule it could not delete instead of counting it.
/// </summary>
public sealed class HostFirewall
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly IHostCommandRunner _run;

    public HostFirewall(IHostCommandRunner? runner = null) => _run = runner ?? HostCommandRunner.Instance;

    /// <summary>How this instance runs host programs (the lab's other host commands use it too, so tests see them all).</summary>
    internal IHostCommandRunner Runner => _run;

    /// <summary>The rules AAAA mode needs for a management prefix.</summary>
    public static IReadOnlyList<HostRule> AaaaModeRules(string comment, string managementPrefix)
    {
        string[] Tag(params string[] spec) => spec.Concat(new[] { "-m", "comment", "--comment", comment }).ToArray();
        return new[]
        {
            // Leaving the lab: masquerade behind the host's own address (the ULA is not routed outside).
            new HostRule("nat", "POSTROUTING", Tag("-s", managementPrefix, "!", "-d", managementPrefix, "-j", "MASQUERADE"), comment),
            // dockerd sets FORWARD's policy to DROP; let the lab out and the replies in.
            new HostRule("filter", "FORWARD", Tag("-s", managementPrefix, "-j", "ACCEPT"), comment),
            new HostRule("filter", "FORWARD", Tag("-d", managementPrefix, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"), comment),
        };
    }

    /// <summary>Adds each rule unless it is already there (-C first): a second run adds nothing.</summary>
    public async Task EnsureAsync(IEnumerable<HostRule> rules, CancellationToken ct)
    {
        foreach (var rule in rules)
        {
            var check = await Ip6Tables(new[] { "-t", rule.Table, "-C", rule.Chain }.Concat(rule.Specification), ct, allowFailure: true).ConfigureAwait(false);
            if (check.Succeeded) continue;
            // FORWARD rules go first: Docker's own chain jumps come before any appended rule.
            var verb = rule.Chain == "FORWARD" ? "-I" : "-A";
            await Ip6Tables(new[] { "-t", rule.Table, verb, rule.Chain }.Concat(rule.Specification), ct).ConfigureAwait(false);
        }
    }

    /// <summary>The rules on the host that carry exactly <paramref name="comment"/>.</summary>
    public async Task<IReadOnlyList<HostRule>> ListByCommentAsync(string comment, CancellationToken ct) =>
        (await ListAllAsync(ct).ConfigureAwait(false)).Where(r => r.Comment == comment).ToList();

    /// <summary>
    /// The rules of every cluster of this name, whatever its network ID (what removal leaves alone when the ID is
    /// not the removed network's; what a leftover listing shows).
    /// </summary>
    public async Task<IReadOnlyList<HostRule>> ListClusterAsync(string cluster, CancellationToken ct) =>
        (await ListAllAsync(ct).ConfigureAwait(false)).Where(r => r.Comment.StartsWith(Lab.LabNames.HostRuleClusterPrefix(cluster), StringComparison.Ordinal)).ToList();

    /// <summary>Every rule on the host (ip6tables-save).</summary>
    public async Task<IReadOnlyList<HostRule>> ListAllAsync(CancellationToken ct)
    {
        var saved = await _run.RunAsync(Tool("ip6tables-save"), Array.Empty<string>(), null, Timeout, ct).ConfigureAwait(false);
        if (!saved.Succeeded) throw Failure("ip6tables-save", saved);
        return Parse(saved.StandardOutput).ToList();
    }

    /// <summary>
    /// Deletes every rule carrying exactly <paramref name="comment"/>; none is not an error. A rule ip6tables
    /// would not delete is reported (HostCommandFailed naming it and the command that removes it), never counted.
    /// </summary>
    public async Task<int> RemoveByCommentAsync(string comment, CancellationToken ct)
    {
        var rules = await ListByCommentAsync(comment, ct).ConfigureAwait(false);
        var failed = new List<string>();
        var removed = 0;
        foreach (var rule in rules)
        {
            var r = await Ip6Tables(new[] { "-t", rule.Table, "-D", rule.Chain }.Concat(rule.Specification), ct, allowFailure: true).ConfigureAwait(false);
            if (r.Succeeded) removed++;
            else failed.Add($"{DeleteCommand(rule)} ({r.StandardError.Trim()})");
        }
        if (failed.Count > 0)
            throw new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.InvalidOperation,
                $"{failed.Count} host ip6tables rule(s) tagged {comment} could not be deleted ({removed} were): {string.Join("; ", failed)}.", comment, null,
                "Delete them by hand as root with the commands shown, or run the same command again.");
        return removed;
    }

    /// <summary>The command line that deletes <paramref name="rule"/> (for messages that leave it to the admin).</summary>
    public static string DeleteCommand(HostRule rule) =>
        $"ip6tables -t {rule.Table} -D {rule.Chain} {string.Join(' ', rule.Specification.Select(a => a.Contains(' ') || a.Length == 0 ? $"'{a}'" : a))}";

    /// <summary>Deletes exactly these rules where they are present (-C first); returns how many were deleted.</summary>
    public async Task<int> RemoveAsync(IEnumerable<HostRule> rules, CancellationToken ct)
    {
        var removed = 0;
        foreach (var rule in rules)
        {
            var check = await Ip6Tables(new[] { "-t", rule.Table, "-C", rule.Chain }.Concat(rule.Specification), ct, allowFailure: true).ConfigureAwait(false);
            if (!check.Succeeded) continue;
            await Ip6Tables(new[] { "-t", rule.Table, "-D", rule.Chain }.Concat(rule.Specification), ct).ConfigureAwait(false);
            removed++;
        }
        return removed;
    }

    /// <summary>Parses ip6tables-save output into rules (table from the "*table" lines, arguments unquoted).</summary>
    public static IEnumerable<HostRule> Parse(string save)
    {
        var table = "filter";
        foreach (var raw in save.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('*')) { table = line[1..]; continue; }
            if (!line.StartsWith("-A ", StringComparison.Ordinal)) continue;
            var tokens = Tokenize(line);
            var chain = tokens[1];
            var spec = tokens.Skip(2).ToList();
            var at = spec.IndexOf("--comment");
            var comment = at >= 0 && at + 1 < spec.Count ? spec[at + 1] : "";
            yield return new HostRule(table, chain, spec, comment);
        }
    }

    private static List<string> Tokenize(string line)
    {
        var tokens = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        var any = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\' && quoted && i + 1 < line.Length) { current.Append(line[++i]); continue; }
            if (c == '"') { quoted = !quoted; any = true; continue; }
            if (c == ' ' && !quoted)
            {
                if (any || current.Length > 0) tokens.Add(current.ToString());
                current.Clear();
                any = false;
                continue;
            }
            current.Append(c);
        }
        if (any || current.Length > 0) tokens.Add(current.ToString());
        return tokens;
    }

    private async Task<ExecResult> Ip6Tables(IEnumerable<string> args, CancellationToken ct, bool allowFailure = false)
    {
        var argv = new[] { "-w", "5" }.Concat(args).ToList();
        var result = await _run.RunAsync(Tool("ip6tables"), argv, null, Timeout, ct).ConfigureAwait(false);
        if (!result.Succeeded && !allowFailure) throw Failure("ip6tables " + string.Join(' ', argv), result);
        return result;
    }

    /// <summary>Full path in the sbin folders when there (a user's PATH often lacks /usr/sbin), else the bare name.</summary>
    internal static string Tool(string name) =>
        new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists) ?? name;

    private static DindException Failure(string command, ExecResult result) =>
        // Decided by privilege, not by parsing ip6tables' wording.
        Environment.IsPrivilegedProcess
            ? new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.InvalidOperation,
                $"'{command}' failed (exit {result.ExitCode}): {result.StandardError.Trim()}", command, null, "See the message of ip6tables.")
            : new DindException(ErrorIds.HostPermissionDenied, DindErrorCategory.PermissionDenied,
                $"'{command}' failed: changing the host's ip6tables rules needs root. {result.StandardError.Trim()}", command, null,
                "Run as root (host firewall rules need CAP_NET_ADMIN), or create the lab without -AllowAaaa.");
}
