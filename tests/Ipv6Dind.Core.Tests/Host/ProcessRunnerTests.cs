using System.ComponentModel;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Tests.Host;

/// <summary>The one process runner of the core (host commands, image build tools, unmount), with real programs.</summary>
public class ProcessRunnerTests
{
    private static Task<ExecResult> Run(string file, string[] args, ProcessRunOptions? options = null, CancellationToken ct = default) =>
        ProcessRunner.RunAsync(file, args, options ?? new ProcessRunOptions(), ct);

    [Fact]
    public async Task ArgumentsArriveAsGivenAndOutputIsKeptExactly()
    {
        // No shell: quotes, ';' and "$()" are plain characters of one argument each.
        var r = await Run("printf", new[] { "%s|%s\n", "a b; $(id)", "'q'" });
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("a b; $(id)|'q'\n", r.StandardOutput);
        Assert.Equal("", r.StandardError);
    }

    [Fact]
    public async Task StdinIsWrittenThenClosed()
    {
        var r = await Run("cat", Array.Empty<string>(), new ProcessRunOptions { Stdin = "line 1\nline 2" });
        Assert.Equal("line 1\nline 2", r.StandardOutput);
    }

    [Fact]
    public async Task WithoutStdinAProgramThatReadsItSeesEndOfFileInsteadOfWaiting()
    {
        // A prompt must fail, not hang on the terminal of the cron job or of the admin.
        var r = await Run("cat", Array.Empty<string>(), new ProcessRunOptions { Timeout = TimeSpan.FromMinutes(1) });
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.StandardOutput);
    }

    [Fact]
    public async Task ExitCodeAndStandardErrorComeBack()
    {
        var r = await Run("ls", new[] { "/nonexistent/ipv6dind-process-runner" });
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("nonexistent", r.StandardError);
    }

    [Fact]
    public async Task LinesReachTheCallbackAsTheyComeAndTheEnvironmentIsSet()
    {
        var lines = new List<string>();
        var r = await Run("env", Array.Empty<string>(), new ProcessRunOptions
        {
            Environment = new Dictionary<string, string> { ["IPV6DIND_RUNNER_TEST"] = "42" },
            OnLine = l => { lock (lines) lines.Add(l); },
            Capture = false,
        });
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("IPV6DIND_RUNNER_TEST=42", lines);
        Assert.Equal("", r.StandardOutput); // not captured
    }

    [Fact]
    public async Task TheTimeLimitKillsTheWholeProcessTree()
    {
        // A grandchild that would outlive its parent: a sleep of a length no other process has, started by a sh
        // that waits for it. Its command line is "sleep\0<seconds>\0".
        var seconds = Random.Shared.Next(100_000, 999_999).ToString();
        var grandchild = "sleep\0" + seconds + "\0";
        var e = await Assert.ThrowsAsync<ProcessTimeoutException>(() => Run("sh", new[] { "-c", "sleep \"$0\" & wait", seconds },
            new ProcessRunOptions { Timeout = TimeSpan.FromMilliseconds(500) }));
        Assert.Contains("did not finish within", e.Message);
        Assert.False(Directory.EnumerateDirectories("/proc").Any(d => ReadCmdline(d) == grandchild), "the sleep of the killed tree is still alive");
    }

    [Fact]
    public async Task CancellationKillsTheProgramAndIsReportedAsCancellation()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Run("sleep", new[] { "300" }, null, cts.Token));
    }

    [Fact]
    public async Task AMissingProgramIsAWin32ExceptionForTheCallerToName()
    {
        await Assert.ThrowsAsync<Win32Exception>(() => Run("/nonexistent/ipv6dind-no-such-tool", Array.Empty<string>()));
    }

    [Fact]
    public async Task HostCommandRunnerNamesAMissingProgramAndATimeout()
    {
        var missing = await Assert.ThrowsAsync<DindException>(() => HostCommandRunner.Instance.RunAsync("/nonexistent/ipv6dind-no-such-tool", Array.Empty<string>(), null, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal(ErrorIds.HostCommandFailed, missing.ErrorId);
        Assert.Equal(DindErrorCategory.NotInstalled, missing.Category);
        var slow = await Assert.ThrowsAsync<DindException>(() => HostCommandRunner.Instance.RunAsync("sleep", new[] { "300" }, null, TimeSpan.FromMilliseconds(300), CancellationToken.None));
        Assert.Equal(DindErrorCategory.OperationTimeout, slow.Category);
        Assert.Contains("'sleep 300' did not finish within", slow.Message);
    }

    private static string ReadCmdline(string procDir)
    {
        try { return File.ReadAllText(Path.Combine(procDir, "cmdline")); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
