using System.Diagnostics;
using System.Text;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>What a finished host command produced.</summary>
public sealed record HostProcessResult(string CommandLine, int ExitCode, string StdOut, string StdErr)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>A host command failed (non-zero exit), timed out or could not start.</summary>
public sealed class HostProcessException : Exception
{
    public HostProcessException(string commandLine, int? exitCode, string stdErr, string message, Exception? inner = null)
        : base(message, inner)
    {
        CommandLine = commandLine;
        ExitCode = exitCode;
        StdErr = stdErr;
    }

    public string CommandLine { get; }

    /// <summary>Null when the command did not finish (timeout, cancellation, could not start).</summary>
    public int? ExitCode { get; }

    public string StdErr { get; }
}

/// <summary>
/// Runs host programs for the integration tests. Arguments are passed as an argv vector
/// (<see cref="ProcessStartInfo.ArgumentList"/>), never through a shell, so nothing is re-parsed or expanded.
/// </summary>
public static class HostProcess
{
    private static readonly string[] SystemDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    /// <summary>
    /// Runs <paramref name="file"/> to completion and returns its output; throws <see cref="HostProcessException"/>
    /// (with the command line and stderr) on a non-zero exit status, on timeout (the whole tree is killed) or when
    /// it cannot start.
    /// </summary>
    public static async Task<HostProcessResult> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken ct = default)
    {
        var result = await TryRunAsync(file, args, timeout, ct).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new HostProcessException(result.CommandLine, result.ExitCode, result.StdErr,
                $"'{result.CommandLine}' exited with status {result.ExitCode}: {Trim(result.StdErr, result.StdOut)}");
        }
        return result;
    }

    /// <summary>Like <see cref="RunAsync"/> but a non-zero exit status is returned, not thrown (timeouts still throw).</summary>
    public static async Task<HostProcessResult> TryRunAsync(string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken ct = default)
    {
        var argv = args.ToArray();
        var psi = CreateStartInfo(file, argv);
        var commandLine = FormatCommandLine(psi.FileName, argv);

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Exception e)
        {
            throw new HostProcessException(commandLine, null, "", $"'{commandLine}' could not start: {e.Message}", e);
        }
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e)
        {
            KillTree(process);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            var err = await stderr.ConfigureAwait(false);
            if (ct.IsCancellationRequested)
            {
                throw new OperationCanceledException($"'{commandLine}' was cancelled", e, ct);
            }
            throw new HostProcessException(commandLine, null, err,
                $"'{commandLine}' did not finish within {timeout.TotalSeconds:0.#} s (killed): {Trim(err, "")}", e);
        }
        return new HostProcessResult(commandLine, process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>
    /// Starts a long-running program (a daemon kept in the foreground). Its stdout and stderr go to
    /// <paramref name="logFile"/> when given and to an in-memory tail for error messages.
    /// </summary>
    public static BackgroundProcess StartBackground(string file, IEnumerable<string> args, string? logFile = null)
    {
        var argv = args.ToArray();
        var psi = CreateStartInfo(file, argv);
        var commandLine = FormatCommandLine(psi.FileName, argv);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var background = new BackgroundProcess(process, commandLine, logFile);
        try
        {
            process.Start();
        }
        catch (Exception e)
        {
            process.Dispose();
            throw new HostProcessException(commandLine, null, "", $"'{commandLine}' could not start: {e.Message}", e);
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return background;
    }

    /// <summary>
    /// The full path of a program: an absolute path is kept; otherwise the system directories (where iproute2 and
    /// dnsmasq live, also when PATH lacks the sbin directories) come before PATH, so a user shim never wins.
    /// </summary>
    public static string Which(string file)
    {
        if (file.Contains('/'))
        {
            return file;
        }
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in SystemDirectories.Concat(path.Split(':', StringSplitOptions.RemoveEmptyEntries)))
        {
            var candidate = Path.Combine(dir, file);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return file;
    }

    public static string FormatCommandLine(string file, IEnumerable<string> args) =>
        string.Join(' ', new[] { file }.Concat(args).Select(Quote));

    internal static void KillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile, or never started.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exited between the check and the signal.
        }
    }

    private static ProcessStartInfo CreateStartInfo(string file, string[] argv)
    {
        var psi = new ProcessStartInfo(Which(file))
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = "/",
        };
        foreach (var a in argv)
        {
            psi.ArgumentList.Add(a);
        }
        // Stable, untranslated tool output.
        psi.Environment["LC_ALL"] = "C";
        return psi;
    }

    private static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || "-_./:=,@%+[]#".Contains(c))
            ? s
            : "'" + s.Replace("'", "'\\''") + "'";

    private static string Trim(string stderr, string stdout)
    {
        var text = (string.IsNullOrWhiteSpace(stderr) ? stdout : stderr).Trim();
        return text.Length == 0 ? "(no output)" : text.Length > 2000 ? text[..2000] + "…" : text;
    }
}

/// <summary>A daemon started by <see cref="HostProcess.StartBackground"/>. Disposing kills its whole tree.</summary>
public sealed class BackgroundProcess : IAsyncDisposable
{
    private const int TailLines = 50;
    private readonly Process _process;
    private readonly Queue<string> _tail = new();
    private readonly StreamWriter? _log;
    private readonly object _gate = new();
    private int _stopped;
    private int? _exitCode;

    internal BackgroundProcess(Process process, string commandLine, string? logFile)
    {
        _process = process;
        CommandLine = commandLine;
        if (logFile is not null)
        {
            _log = new StreamWriter(new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        }
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
    }

    public string CommandLine { get; }

    public int Id => _process.Id;

    public bool HasExited
    {
        get
        {
            lock (_gate)
            {
                if (_exitCode is not null || _stopped == 1)
                {
                    return true;
                }
                try
                {
                    if (!_process.HasExited)
                    {
                        return false;
                    }
                    _exitCode = _process.ExitCode;
                }
                catch (InvalidOperationException)
                {
                    _exitCode = -1;
                }
                return true;
            }
        }
    }

    /// <summary>The exit status once the process has exited (-1 when it is unknown), else null.</summary>
    public int? ExitCode => HasExited ? _exitCode ?? -1 : null;

    /// <summary>The last lines the process wrote (stdout and stderr interleaved).</summary>
    public string Tail()
    {
        lock (_gate)
        {
            return string.Join('\n', _tail);
        }
    }

    /// <summary>Kills the whole process tree and waits for it (up to <paramref name="timeout"/>). Safe to call twice.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        HostProcess.KillTree(_process);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Reported by the caller's own checks; nothing more can be done than SIGKILL.
        }
        lock (_gate)
        {
            try
            {
                _exitCode ??= _process.HasExited ? _process.ExitCode : -1;
            }
            catch (InvalidOperationException)
            {
                _exitCode ??= -1;
            }
            _log?.Dispose();
        }
        _process.Dispose();
    }

    public ValueTask DisposeAsync() => new(StopAsync(TimeSpan.FromSeconds(10)));

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_gate)
        {
            _tail.Enqueue(line);
            while (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
            try
            {
                _log?.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
