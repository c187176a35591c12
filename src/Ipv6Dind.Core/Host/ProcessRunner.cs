using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Host;

/// <summary>How <see cref="ProcessRunner"/> runs one program.</summary>
internal sealed record ProcessRunOptions
{
    /// <summary>Written to the program's stdin, which is then closed. Null: stdin is closed at once, so a prompt fails instead of waiting.</summary>
    public string? Stdin { get; init; }
    /// <summary>Variables set (or replaced) in the program's environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    /// <summary>Each line of stdout and stderr as it comes (a log, a tail for error messages).</summary>
    public Action<string>? OnLine { get; init; }
    /// <summary>Whether stdout and stderr are kept for the result (off for tools that talk a lot, such as debootstrap).</summary>
    public bool Capture { get; init; } = true;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>The program did not finish within its time limit; its process tree was killed.</summary>
internal sealed class ProcessTimeoutException(string message) : TimeoutException(message);

/// <summary>
/// The one way the core starts a host program: an argument vector (never a shell string), stdin written or closed,
/// stdout and stderr read line by line as they come, and a time limit or Ctrl-C that kills the whole process tree
/// (debootstrap forks dpkg and chroot'ed scripts) before the call returns. Callers turn a program that cannot be
/// started (<see cref="Win32Exception"/>) or a <see cref="ProcessTimeoutException"/> into their own error ids.
/// </summary>
internal static class ProcessRunner
{
    public static async Task<ExecResult> RunAsync(string file, IReadOnlyList<string> arguments, ProcessRunOptions options, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        if (options.Environment is not null)
            foreach (var (name, value) in options.Environment) psi.Environment[name] = value;

        using var process = new Process { StartInfo = psi };
        process.Start(); // Win32Exception when the program is missing or not executable
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        // Read to the end even after a kill: the pipes close when the tree is gone.
        var pump = Task.WhenAll(Pump(process.StandardOutput, options.Capture ? stdout : null, options.OnLine),
                                Pump(process.StandardError, options.Capture ? stderr : null, options.OnLine));
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(options.Timeout);
        try
        {
            try
            {
                if (options.Stdin is not null)
                    await process.StandardInput.WriteAsync(options.Stdin.AsMemory(), limit.Token).ConfigureAwait(false);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The program exited without reading all of stdin; its exit code tells the rest.
            }
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            await pump.ConfigureAwait(false);
            return new ExecResult(process.ExitCode, stdout.ToString(), stderr.ToString());
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            await Task.WhenAny(pump, Task.Delay(TimeSpan.FromSeconds(10), CancellationToken.None)).ConfigureAwait(false);
            if (ct.IsCancellationRequested) throw;
            throw new ProcessTimeoutException($"'{file} {string.Join(' ', arguments)}' did not finish within {Describe(options.Timeout)} and was stopped.");
        }
    }

    private static async Task Pump(StreamReader reader, StringBuilder? capture, Action<string>? onLine)
    {
        if (onLine is null)
        {
            // Kept exactly as written (line ends and all) for callers that parse it.
            var all = await reader.ReadToEndAsync().ConfigureAwait(false);
            capture?.Append(all);
            return;
        }
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (capture is not null) lock (capture) capture.Append(line).Append('\n');
            onLine?.Invoke(line);
        }
    }

    private static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // already exited
        try { process.WaitForExit(10_000); } catch (InvalidOperationException) { }
    }

    private static string Describe(TimeSpan t) => t.TotalMinutes >= 2 ? $"{t.TotalMinutes:0} min" : $"{t.TotalSeconds:0} s";
}
