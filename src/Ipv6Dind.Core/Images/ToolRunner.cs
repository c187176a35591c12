using System.Diagnostics;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Images;

/// <summary>
/// Runs the host tools of an image build (debootstrap, tar) with argument lists, never a shell string. Output lines
/// go to the debug log and the last ones into the error message; cancellation or the time limit kills the whole
/// process tree (debootstrap forks dpkg and chroot'ed scripts).
/// </summary>
internal sealed class ToolRunner
{
    private readonly string _searchPath;
    private readonly IDindLog _log;

    public ToolRunner(string searchPath, IDindLog log)
    {
        _searchPath = searchPath;
        _log = log;
    }

    /// <summary>The tool's full path on the search path, or ImageToolMissing saying which package brings it.</summary>
    public string Find(string tool, string package)
    {
        foreach (var dir in _searchPath.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate) && !OperatingSystem.IsWindows() && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return candidate;
        }
        throw new DindException(ErrorIds.ImageToolMissing, DindErrorCategory.NotInstalled,
            $"{tool} is needed to build the images offline but was not found on the search path ({_searchPath}); install it with: apt-get install {package}",
            target: tool, recommendedAction: $"apt-get install {package}");
    }

    public async Task RunAsync(string tool, string package, IReadOnlyList<string> arguments, string step, TimeSpan timeout, CancellationToken ct)
    {
        var path = Find(tool, package);
        var psi = new ProcessStartInfo(path)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        // The children (dpkg, chroot, mount) are looked up on the same path; C locale keeps messages plain.
        psi.Environment["PATH"] = _searchPath;
        psi.Environment["LC_ALL"] = "C";
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";

        _log.Verbose($"{step}: {path} {string.Join(' ', arguments)}");
        var tail = new TailBuffer(20);
        using var process = new Process { StartInfo = psi };
        try { process.Start(); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new DindException(ErrorIds.ImageToolMissing, DindErrorCategory.NotInstalled,
                $"{path} could not be started: {e.Message}; install it with: apt-get install {package}", target: tool, inner: e);
        }
        process.StandardInput.Close(); // nothing to answer: a prompt must fail, not wait

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        var pump = Task.WhenAll(Pump(process.StandardOutput, tail), Pump(process.StandardError, tail));
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            await pump.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            if (ct.IsCancellationRequested) throw;
            throw new DindException(ErrorIds.ImageBuildFailed, DindErrorCategory.OperationTimeout,
                $"{step} did not finish within {timeout.TotalMinutes:0} min and was stopped. Last lines:{Environment.NewLine}{tail}",
                target: tool);
        }

        if (process.ExitCode != 0)
            throw new DindException(ErrorIds.ImageBuildFailed, DindErrorCategory.InvalidOperation,
                $"{step} failed ({tool} exited with {process.ExitCode}). Last lines:{Environment.NewLine}{tail}",
                target: tool, recommendedAction: "Check that the Debian mirror in /etc/apt/sources.list.d answers (apt-get update) and that the packages exist for " + ImageRecipes.Suite + ".");
    }

    private async Task Pump(StreamReader reader, TailBuffer tail)
    {
        // Read to the end even after a kill: the pipe closes when the tree is gone.
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            tail.Add(line);
            _log.Debug(line);
        }
    }

    private static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // already exited
        try { process.WaitForExit(10_000); } catch (InvalidOperationException) { }
    }

    /// <summary>PATH plus the sbin directories: debootstrap and chroot live there, and non-login shells often lack them.</summary>
    public static string DefaultSearchPath()
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (var d in new[] { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin" })
            if (!dirs.Contains(d)) dirs.Add(d);
        return string.Join(':', dirs);
    }
}
