using System.Globalization;
using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Host;

/// <summary>How to restart dockerd (Enable-DockerIpv6 -Restart, Set-DockerIpv6Prefix).</summary>
public sealed record DockerRestartOptions
{
    /// <summary>dockerd's pid file; null: systemd when the host booted with it, else <see cref="DockerDaemonRestarter.DefaultPidFile"/>.</summary>
    public string? PidFile { get; init; }
    /// <summary>The argv that starts dockerd again; null: the running daemon's own argv (/proc/&lt;pid&gt;/cmdline).</summary>
    public IReadOnlyList<string>? DaemonCommand { get; init; }
    /// <summary>Where the restarted daemon's output goes (appended).</summary>
    public string LogFile { get; init; } = DockerDaemonRestarter.DefaultLogFile;
    /// <summary>The endpoint to wait on; null: the daemon's own -H, else DOCKER_HOST, else the default socket.</summary>
    public string? DockerHost { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Test seam: where /proc and /run are.</summary>
    public string Root { get; init; } = "/";
}

/// <summary>A running dockerd: its pid, its argv, and the daemon.json it reads.</summary>
public sealed record RunningDaemon(int Pid, IReadOnlyList<string> Argv, string ConfigFile, string? Host);

/// <summary>
/// Restarts dockerd so that daemon.json changes take effect. SIGHUP is not enough: dockerd reloads only a few keys
/// on SIGHUP (labels, debug, registry mirrors, …); ipv6, fixed-cidr-v6 and ip6tables are read at start only.
/// Two ways, chosen honestly from what the host has:
/// <list type="number">
/// <item>systemd (the host booted with it, /run/systemd/system exists) and no pid file given:
/// <c>systemctl restart docker</c>.</item>
/// <item>otherwise signal and start: the pid in the pid file gets SIGTERM, the module waits until it has exited
/// (dockerd stops its containers first), then starts the daemon again detached (setsid) with its output appended to
/// a log file - with -DaemonCommand when given, else with exactly the argv the old daemon ran with, read from
/// /proc/&lt;pid&gt;/cmdline before it was stopped.</item>
/// </list>
/// Either way it then waits until the daemon answers on its endpoint. Before anything is stopped, the running
/// daemon's flags are checked against the keys written to daemon.json: dockerd refuses to start when a setting is
/// given both as a flag and in the file, and a daemon that reads another --config-file would not see the change.
/// </summary>
public sealed class DockerDaemonRestarter
{
    public const string DefaultPidFile = "/var/run/docker.pid";
    public const string DefaultLogFile = "/var/log/dockerd.log";

    /// <summary>
    /// The one shell in the module: .NET cannot hand a child an open file, so a fixed script redirects the daemon's
    /// output and then execs it. Nothing is interpolated: the log path is $0 and the daemon's argv is "$@".
    /// </summary>
    private const string DetachScript = "exec \"$@\" >>\"$0\" 2>&1 </dev/null";

    private readonly IHostCommandRunner _run;

    public DockerDaemonRestarter(IHostCommandRunner? runner = null) => _run = runner ?? HostCommandRunner.Instance;

    /// <summary>sd_booted(3): the host runs systemd as its init.</summary>
    public static bool SystemdBooted(string root = "/") => Directory.Exists(Path.Combine(root, "run/systemd/system"));

    public static bool UsesSystemd(DockerRestartOptions options) => options.PidFile is null && options.DaemonCommand is null && SystemdBooted(options.Root);

    /// <summary>What a restart would do, for ShouldProcess.</summary>
    public static string Describe(DockerRestartOptions options) =>
        UsesSystemd(options)
            ? "systemctl restart docker"
            : $"SIGTERM to the dockerd in {options.PidFile ?? DefaultPidFile}, then start " +
              (options.DaemonCommand is { Count: > 0 } c ? string.Join(' ', c) : "it again with its own command line") + $" (output to {options.LogFile})";

    /// <summary>
    /// The daemon the pid file names, when it runs; null when the file is missing or its process is gone. Throws
    /// (<see cref="ErrorIds.DockerRestartFailed"/>) rather than name a process root must not signal: a pid file that
    /// is a link or that others could write (<see cref="TrustedPidFile"/>), a process that is not dockerd
    /// (/proc/&lt;pid&gt;/exe, and its argv[0], since that argv is what a restart runs again), or a dockerd that is not the
    /// one serving the daemon's unix endpoint (<see cref="DaemonLocality"/>).
    /// </summary>
    public static RunningDaemon? FindRunning(DockerRestartOptions options)
    {
        var pidFile = options.PidFile ?? DefaultPidFile;
        int? read;
        try { read = TrustedPidFile.Read(pidFile); }
        catch (TrustedPidFile.UntrustedException ex) { throw Refused(pidFile, ex.Message); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
        if (read is not int pid || !Alive(options.Root, pid)) return null;

        var proc = new DaemonLocality(options.Root);
        if (!proc.IsDockerd(pid))
            throw Refused(pidFile, $"it names pid {pid}, which is {proc.Describe(pid)}, not dockerd");
        var argv = proc.Argv(pid).ToArray();
        if (argv.Length == 0 || Path.GetFileName(argv[0]) != "dockerd")
            throw Refused(pidFile, $"the command line of pid {pid} does not start with dockerd ('{(argv.Length == 0 ? "" : argv[0])}'), so it is not run again");
        var host = FlagValue(argv, "-H") ?? FlagValue(argv, "--host");
        // The endpoint this daemon serves: the one given, else its own -H, else dockerd's default socket.
        var endpoint = options.DockerHost ?? host ?? DockerEndpoint.DefaultHost;
        if (endpoint.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            var locality = proc.Decide(endpoint);
            if (!locality.IsLocal || locality.DaemonPid != pid)
                throw Refused(pidFile, $"pid {pid} is not the dockerd serving {endpoint} ({locality.Evidence})");
        }
        return new RunningDaemon(pid, argv, FlagValue(argv, "--config-file") ?? DockerDaemonJson.DefaultPath, host);
    }

    private static DindException Refused(string pidFile, string why) =>
        new(ErrorIds.DockerRestartFailed, DindErrorCategory.InvalidOperation,
            $"Refusing to signal or restart the process in {pidFile}: {why}. No signal was sent.", pidFile, "PidFile",
            "Give -PidFile naming dockerd's own pid file (written by dockerd --pidfile, owned by root, in a root-only folder such as /run), " +
            "and -DockerHost with the unix socket that dockerd serves.");

    /// <summary>Refuses a restart that could not work: a flag for a key the file now sets, or a daemon reading another file.</summary>
    public static void CheckConflicts(RunningDaemon daemon, string configPath, IEnumerable<string> keysInFile)
    {
        if (!string.Equals(Path.GetFullPath(daemon.ConfigFile), Path.GetFullPath(configPath), StringComparison.Ordinal))
            throw new DindException(ErrorIds.DockerDaemonFlagConflict, DindErrorCategory.InvalidOperation,
                $"ConfigPath: the running dockerd (pid {daemon.Pid}) reads {daemon.ConfigFile}, not {configPath}; a restart would not apply the change.",
                configPath, "ConfigPath", $"Give -ConfigPath {daemon.ConfigFile}.");
        var flags = keysInFile.Where(k => daemon.Argv.Any(a => a == "--" + k || a.StartsWith("--" + k + "=", StringComparison.Ordinal))).ToList();
        if (flags.Count > 0)
            throw new DindException(ErrorIds.DockerDaemonFlagConflict, DindErrorCategory.InvalidOperation,
                $"The running dockerd (pid {daemon.Pid}) was started with {string.Join(", ", flags.Select(f => "--" + f))}, which daemon.json now sets too: " +
                "dockerd refuses to start when a setting is given both ways.", daemon.Pid, null,
                "Remove those flags from dockerd's command line (its unit or start script), or restart it yourself with the flags of your choice.");
    }

    /// <summary>Restarts dockerd; returns how, for the output object.</summary>
    public async Task<string> RestartAsync(DockerRestartOptions options, CancellationToken ct)
    {
        if (UsesSystemd(options))
        {
            var result = await _run.RunAsync("systemctl", new[] { "restart", "docker" }, null, options.Timeout, ct).ConfigureAwait(false);
            if (!result.Succeeded)
                throw Failed($"'systemctl restart docker' failed (exit {result.ExitCode}): {result.StandardError.Trim()}", "journalctl -u docker shows why.");
            await WaitForDaemonAsync(options.DockerHost, options, ct).ConfigureAwait(false);
            return "systemctl restart docker";
        }

        var running = FindRunning(options);
        var argv = options.DaemonCommand is { Count: > 0 } given ? given.ToList() : running?.Argv.ToList();
        if (argv is null || argv.Count == 0)
            throw Failed($"No dockerd runs under the pid file {options.PidFile ?? DefaultPidFile}, so its command line is unknown.",
                "Give -DaemonCommand (the argv that starts dockerd), or -PidFile naming the running daemon's pid file.");
        var host = options.DockerHost ?? FlagValue(argv, "-H") ?? FlagValue(argv, "--host") ?? running?.Host;
        if (running is not null)
        {
            // The pid could have ended and been reused since it was checked.
            if (!new DaemonLocality(options.Root).IsDockerd(running.Pid))
                throw Refused(options.PidFile ?? DefaultPidFile, $"pid {running.Pid} is no longer dockerd");
            var kill = await _run.RunAsync("kill", new[] { "-TERM", running.Pid.ToString(CultureInfo.InvariantCulture) }, null, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
            if (!kill.Succeeded && Alive(options.Root, running.Pid))
                throw Failed($"SIGTERM to dockerd (pid {running.Pid}) failed: {kill.StandardError.Trim()}", "Run as root.");
            var deadline = DateTime.UtcNow + options.Timeout;
            while (Alive(options.Root, running.Pid))
            {
                if (DateTime.UtcNow > deadline)
                    throw Failed($"dockerd (pid {running.Pid}) did not exit within {options.Timeout.TotalSeconds:F0} s of SIGTERM; it was not started again.",
                        "See its log; it may be waiting for containers to stop (shutdown-timeout).");
                await Task.Delay(200, ct).ConfigureAwait(false);
            }
        }
        var start = await _run.RunAsync("setsid", new[] { "-f", "/bin/sh", "-c", DetachScript, options.LogFile }.Concat(argv).ToList(), null, TimeSpan.FromSeconds(20), ct).ConfigureAwait(false);
        if (!start.Succeeded)
            throw Failed($"Starting '{string.Join(' ', argv)}' failed: {start.StandardError.Trim()}", "Check the command and the log file's folder.");
        await WaitForDaemonAsync(host, options, ct).ConfigureAwait(false);
        return running is null
            ? $"started {string.Join(' ', argv)}"
            : $"SIGTERM {running.Pid}, then started {string.Join(' ', argv)}";
    }

    private async Task WaitForDaemonAsync(string? host, DockerRestartOptions options, CancellationToken ct)
    {
        using var docker = DockerApi.Connect(host);
        var deadline = DateTime.UtcNow + options.Timeout;
        while (true)
        {
            try
            {
                await docker.GetDaemonInfoAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (DindException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, ct).ConfigureAwait(false);
            }
            catch (DindException ex)
            {
                throw Failed($"dockerd did not answer at {docker.Endpoint} within {options.Timeout.TotalSeconds:F0} s after the restart ({ex.Message}). " +
                    $"Last lines of {options.LogFile}:\n{Tail(options.LogFile, 15)}", "Fix what the log names (often daemon.json), then start dockerd again.");
            }
        }
    }

    /// <summary>The value of a flag given as "--flag value" or "--flag=value"; the first occurrence.</summary>
    public static string? FlagValue(IReadOnlyList<string> argv, string flag)
    {
        for (var i = 0; i < argv.Count; i++)
        {
            if (argv[i] == flag && i + 1 < argv.Count) return argv[i + 1];
            if (argv[i].StartsWith(flag + "=", StringComparison.Ordinal)) return argv[i][(flag.Length + 1)..];
        }
        return null;
    }

    /// <summary>The process exists and is not a zombie.</summary>
    private static bool Alive(string root, int pid)
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(root, $"proc/{pid}/stat"));
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] != 'Z';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }

    private static string Tail(string path, int lines)
    {
        try { return File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(lines)) : "(no log)"; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return "(log unreadable)"; }
    }

    private static DindException Failed(string message, string remedy) =>
        new(ErrorIds.DockerRestartFailed, DindErrorCategory.InvalidOperation, message, "dockerd", null, remedy);
}
