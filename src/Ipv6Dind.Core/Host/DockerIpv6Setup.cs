using System.Text.RegularExpressions;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Core.Host;

/// <summary>One Enable-DockerIpv6 / Set-DockerIpv6Prefix request.</summary>
public sealed record DockerIpv6Request
{
    public string ConfigPath { get; init; } = DockerDaemonJson.DefaultPath;
    public required Ipv6Prefix Prefix { get; init; }
    /// <summary>Null: keep what the file says (true when it says nothing).</summary>
    public bool? Ip6Tables { get; init; } = true;
    /// <summary>True: add the tagged ULA MASQUERADE rule; false: remove it; null: keep (moved along when the prefix changes).</summary>
    public bool? Masquerade { get; init; }
    public bool Restart { get; init; }
    public DockerRestartOptions RestartOptions { get; init; } = new();
    /// <summary>The daemon's version when known; else asked of the daemon, else of `dockerd --version`.</summary>
    public string? DockerVersion { get; init; }
    public string DelegatedPrefix { get; init; } = "";
}

/// <summary>
/// Enable-DockerIpv6 and Set-DockerIpv6Prefix: daemon.json, the optional ULA MASQUERADE rule and the restart,
/// each behind its own confirmation (the cmdlet's ShouldProcess), in that order. Nothing is restarted when
/// daemon.json did not change.
/// </summary>
public sealed class DockerIpv6Setup
{
    private readonly OperationContext _ctx;
    private readonly Func<string, string, bool> _confirm;
    private readonly IHostCommandRunner _run;
    private readonly HostFirewall _firewall;
    private readonly DockerDaemonRestarter _restarter;

    public DockerIpv6Setup(OperationContext context, Func<string, string, bool> confirm, IHostCommandRunner? runner = null)
    {
        _ctx = context;
        _confirm = confirm;
        _run = runner ?? HostCommandRunner.Instance;
        _firewall = new HostFirewall(_run);
        _restarter = new DockerDaemonRestarter(_run);
    }

    /// <summary>Applies the request; null when the user declined the daemon.json change (-WhatIf, -Confirm "no").</summary>
    public async Task<DockerIpv6Settings?> ApplyAsync(DockerIpv6Request request)
    {
        var ct = _ctx.Cancellation;
        var current = DockerDaemonJson.Read(request.ConfigPath);
        var ip6tables = request.Ip6Tables ?? (!File.Exists(current.ConfigPath) || current.Ip6Tables || !HasKey(current.ConfigPath, "ip6tables"));
        var version = await DockerVersionAsync(request).ConfigureAwait(false);
        var options = version is null
            ? new DockerIpv6Options(request.Prefix.ToString(), ip6tables, Experimental: ip6tables)
            : DockerIpv6Options.From(version, request.Prefix.ToString(), ip6tables);
        var change = DockerDaemonJson.Plan(request.ConfigPath, options);

        // A daemon that could not start with the new file is found out before anything changes.
        // An untrusted pid file (DockerDaemonRestarter.FindRunning) stops a restart before daemon.json changes.
        RunningDaemon? running;
        try { running = DockerDaemonRestarter.FindRunning(request.RestartOptions); }
        catch (DindException ex) when (!request.Restart)
        {
            _ctx.Log.Warning($"{ex.Message} {ex.RecommendedAction}");
            running = null;
        }
        if (running is not null)
        {
            var keys = DockerDaemonJson.Keys.Where(k => k != "experimental" || options.Experimental).ToList();
            try { DockerDaemonRestarter.CheckConflicts(running, change.Path, keys); }
            catch (DindException ex) when (!request.Restart)
            {
                _ctx.Log.Warning($"{ex.Message} {ex.RecommendedAction}");
            }
        }

        string? backup = null;
        if (change.Changed)
        {
            var what = $"Set ipv6: true, fixed-cidr-v6: {request.Prefix}, ip6tables: {(ip6tables ? "true" : "false")}{(options.Experimental ? ", experimental: true" : "")} " +
                       $"(every other key kept{(change.Exists ? ", the old file backed up" : "")})";
            if (!_confirm(change.Path, what)) return null;
            backup = DockerDaemonJson.Apply(change, DateTimeOffset.UtcNow);
            _ctx.Log.Verbose(backup is null ? $"Wrote {change.Path}." : $"Wrote {change.Path}; the old file is {backup}.");
        }
        else
        {
            _ctx.Log.Verbose($"{change.Path} already has these IPv6 settings; nothing written.");
        }

        var rule = await MasqueradeAsync(request, current.FixedCidrV6, ct).ConfigureAwait(false);

        var method = "";
        if (request.Restart && change.Changed)
        {
            if (_confirm("dockerd", $"Restart Docker to apply daemon.json: {DockerDaemonRestarter.Describe(request.RestartOptions)}"))
            {
                method = await _restarter.RestartAsync(request.RestartOptions, ct).ConfigureAwait(false);
                _ctx.Log.Verbose($"Docker restarted: {method}.");
            }
        }
        else if (request.Restart)
        {
            _ctx.Log.Verbose("daemon.json did not change: Docker is not restarted.");
        }
        else if (change.Changed)
        {
            _ctx.Log.Warning($"{change.Path} changed; dockerd reads it only when it starts. Restart Docker (or use -Restart) to apply it.");
        }

        return new DockerIpv6Settings
        {
            ConfigPath = change.Path,
            Ipv6 = true,
            FixedCidrV6 = request.Prefix.ToString(),
            Ip6Tables = ip6tables,
            Experimental = options.Experimental || current.Experimental,
            Changed = change.Changed,
            BackupPath = backup ?? "",
            MasqueradeRule = rule,
            Restarted = method.Length > 0,
            RestartMethod = method,
            DelegatedPrefix = request.DelegatedPrefix,
        };
    }

    /// <summary>
    /// Adds, moves or removes this daemon's tagged ULA MASQUERADE rule; returns the rule now in place ("" for none).
    /// "This daemon's" means a rule tagged <see cref="DockerIpv6Prefix.MasqueradeComment"/> whose source is the new
    /// prefix or the prefix daemon.json had before (<paramref name="previousPrefix"/>): rules of another dockerd on
    /// the same host (its own daemon.json, its own prefix) are never touched.
    /// </summary>
    private async Task<string> MasqueradeAsync(DockerIpv6Request request, string previousPrefix, CancellationToken ct)
    {
        var wanted = DockerIpv6Prefix.MasqueradeRule(request.Prefix);
        var previous = Ipv6Prefix.TryParse(previousPrefix, out _) is { } p && !p.Equals(request.Prefix) ? p : null;
        var old = previous is null ? Array.Empty<HostRule>() : new[] { DockerIpv6Prefix.MasqueradeRule(previous) };

        IReadOnlyList<HostRule> tagged;
        try
        {
            tagged = (await _firewall.ListByCommentAsync(DockerIpv6Prefix.MasqueradeComment, ct).ConfigureAwait(false))
                .Concat(await _firewall.ListByCommentAsync(DockerIpv6Prefix.LegacyMasqueradeComment, ct).ConfigureAwait(false)).ToList();
            // A rule under the old comment is replaced by the same rule under the new one.
            foreach (var legacy in tagged.Where(r => r.Comment == DockerIpv6Prefix.LegacyMasqueradeComment).ToList())
            {
                await _firewall.RemoveAsync(new[] { legacy }, ct).ConfigureAwait(false);
                var source = SourceOf(legacy);
                if (Ipv6Prefix.TryParse(source, out _) is { } moved)
                {
                    var renewed = DockerIpv6Prefix.MasqueradeRule(moved);
                    await _firewall.EnsureAsync(new[] { renewed }, ct).ConfigureAwait(false);
                    tagged = tagged.Select(r => ReferenceEquals(r, legacy) ? renewed : r).ToList();
                }
            }
        }
        catch (DindException ex) when (request.Masquerade is null && ex.Category is DindErrorCategory.NotInstalled or DindErrorCategory.PermissionDenied)
        {
            _ctx.Log.Verbose($"The host's ip6tables rules could not be read ({ex.Message}); no MASQUERADE rule is moved.");
            return "";
        }
        var hasWanted = tagged.Any(r => SourceIs(r, request.Prefix));
        var hasOld = previous is not null && tagged.Any(r => SourceIs(r, previous));

        if (request.Masquerade == false || (request.Masquerade is null && !DockerIpv6Prefix.IsUla(request.Prefix)))
        {
            // Asked to remove, or keeping it would masquerade a global prefix: this daemon's rules go.
            var doomed = (hasWanted ? new[] { wanted } : Array.Empty<HostRule>()).Concat(hasOld ? old : Array.Empty<HostRule>()).ToList();
            if (doomed.Count > 0 && _confirm("ip6tables nat POSTROUTING", $"Remove the MASQUERADE rule(s) tagged {DockerIpv6Prefix.MasqueradeComment} for {string.Join(", ", doomed.Select(SourceOf))}"))
            {
                var removed = await _firewall.RemoveAsync(doomed, ct).ConfigureAwait(false);
                _ctx.Log.Verbose($"Removed {removed} MASQUERADE rule(s) tagged {DockerIpv6Prefix.MasqueradeComment}.");
            }
            return "";
        }
        if (request.Masquerade is null)
        {
            // Not asked: keep the rule if this daemon has one, following the prefix when it moved (Set-DockerIpv6Prefix).
            if (hasWanted && !hasOld) return Text(wanted);
            if (!hasOld) return "";
        }
        if (!_confirm("ip6tables nat POSTROUTING", $"Masquerade traffic from {request.Prefix} leaving it (rule tagged {DockerIpv6Prefix.MasqueradeComment})" +
                                                   (hasOld ? $", replacing the rule for {previous}" : ""))) return hasWanted ? Text(wanted) : "";
        if (hasOld) await _firewall.RemoveAsync(old, ct).ConfigureAwait(false);
        await _firewall.EnsureAsync(new[] { wanted }, ct).ConfigureAwait(false);
        return Text(wanted);
    }

    private static string SourceOf(HostRule rule)
    {
        var at = rule.Specification.ToList().IndexOf("-s");
        return at >= 0 && at + 1 < rule.Specification.Count ? rule.Specification[at + 1] : "";
    }

    private static bool SourceIs(HostRule rule, Ipv6Prefix prefix) =>
        Ipv6Prefix.TryParse(SourceOf(rule), out _) is { } source && source.Equals(prefix);

    private static string Text(HostRule rule) => $"-t {rule.Table} {rule.Chain} {string.Join(' ', rule.Specification)}";

    private static bool HasKey(string path, string key)
    {
        try { return System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path)) is System.Text.Json.Nodes.JsonObject o && o.ContainsKey(key); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException) { return false; }
    }

    /// <summary>The daemon's version: given, else the daemon's answer, else `dockerd --version`; null when none says.</summary>
    private async Task<Version?> DockerVersionAsync(DockerIpv6Request request)
    {
        if (request.DockerVersion is { Length: > 0 } given)
            return ParseVersion(given) ?? throw new DindException(ErrorIds.DockerVersionUnsupported, DindErrorCategory.InvalidArgument,
                $"DockerVersion: '{given}' is not a version such as 20.10.24.", given, "DockerVersion", "Give the version dockerd --version prints, e.g. 20.10.24.");
        try
        {
            using var docker = DockerApi.Connect(request.RestartOptions.DockerHost);
            return ParseVersion((await docker.GetDaemonInfoAsync(_ctx.Cancellation).ConfigureAwait(false)).Version);
        }
        catch (DindException ex)
        {
            _ctx.Log.Verbose($"Docker did not answer ({ex.Message}); asking dockerd --version.");
        }
        try
        {
            var r = await _run.RunAsync("dockerd", new[] { "--version" }, null, TimeSpan.FromSeconds(20), _ctx.Cancellation).ConfigureAwait(false);
            if (r.Succeeded && ParseVersion(r.StandardOutput) is { } v) return v;
        }
        catch (DindException ex) when (ex.Category is DindErrorCategory.NotInstalled) { }
        _ctx.Log.Warning("The Docker version is unknown (no daemon answers, no dockerd here): experimental is set for ip6tables, as Docker before 27.0 needs.");
        return null;
    }

    /// <summary>"20.10.24+dfsg1", "Docker version 27.3.1, build ce12230" → the version.</summary>
    public static Version? ParseVersion(string text)
    {
        var m = Regex.Match(text ?? "", @"(\d+)\.(\d+)(?:\.(\d+))?");
        return m.Success ? new Version(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture),
            m.Groups[3].Success ? int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) : 0) : null;
    }
}
