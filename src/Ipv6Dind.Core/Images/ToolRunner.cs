using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

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
        _log.Verbose($"{step}: {path} {string.Join(' ', arguments)}");
        var tail = new TailBuffer(20);
        var options = new ProcessRunOptions
        {
            // The children (dpkg, chroot, mount) are looked up on the same path; C locale keeps messages plain.
            Environment = new Dictionary<string, string> { ["PATH"] = _searchPath, ["LC_ALL"] = "C", ["DEBIAN_FRONTEND"] = "noninteractive" },
            OnLine = line => { tail.Add(line); _log.Debug(line); },
            Capture = false,
            Timeout = timeout,
        };
        ExecResult result;
        try
        {
            result = await ProcessRunner.RunAsync(path, arguments, options, ct).ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new DindException(ErrorIds.ImageToolMissing, DindErrorCategory.NotInstalled,
                $"{path} could not be started: {e.Message}; install it with: apt-get install {package}", target: tool, inner: e);
        }
        catch (ProcessTimeoutException)
        {
            throw new DindException(ErrorIds.ImageBuildFailed, DindErrorCategory.OperationTimeout,
                $"{step} did not finish within {timeout.TotalMinutes:0} min and was stopped. Last lines:{Environment.NewLine}{tail}",
                target: tool);
        }

        if (result.ExitCode != 0)
            throw new DindException(ErrorIds.ImageBuildFailed, DindErrorCategory.InvalidOperation,
                $"{step} failed ({tool} exited with {result.ExitCode}). Last lines:{Environment.NewLine}{tail}",
                target: tool, recommendedAction: "Check that the Debian mirror in /etc/apt/sources.list.d answers (apt-get update) and that the packages exist for " + ImageRecipes.Suite + ".");
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
