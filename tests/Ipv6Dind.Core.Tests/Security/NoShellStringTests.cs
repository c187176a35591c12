using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Ipv6Dind.Core.Tests.Security;

/// <summary>
/// No production code path builds a shell string: processes and execs take argument lists. A scan of every C# file
/// under src/ for what a shell string would need: a shell program as an argv literal (sh, bash, dash, "-c"),
/// ProcessStartInfo.Arguments (one string, split by .NET), UseShellExecute, the two-string Process.Start, and
/// user values spliced into Dockerfile RUN lines (those are shell). One line is allowed, with its reason.
/// </summary>
public sealed partial class NoShellStringTests
{
    /// <summary>
    /// file → exact (trimmed) line. DockerDaemonRestarter: dockerd started outside systemd must outlive this process
    /// with its output in a log file; .NET cannot hand a child an open file descriptor, so a fixed script
    /// (exec "$@" &gt;&gt;"$0" 2&gt;&amp;1 &lt;/dev/null) redirects and execs. Nothing is interpolated into it: the log path is
    /// $0 and the daemon's argv is "$@", passed as separate arguments of setsid.
    /// </summary>
    private static readonly (string File, string Line)[] Allowed =
    {
        ("src/Ipv6Dind.Core/Host/DockerDaemonRestarter.cs",
            "var start = await _run.RunAsync(\"setsid\", new[] { \"-f\", \"/bin/sh\", \"-c\", DetachScript, options.LogFile }.Concat(argv).ToList(), null, TimeSpan.FromSeconds(20), ct).ConfigureAwait(false);"),
    };

    // A shell program as a string literal: "sh", "/bin/sh", "bash", "/usr/bin/dash", "zsh", "ksh", "ash", "busybox".
    [GeneratedRegex(@"""(?:/usr)?(?:/bin/)?(?:ba|da|z|k|a|c|tc|fi)?sh""|""(?:/usr)?(?:/bin/)?busybox""", RegexOptions.CultureInvariant)]
    private static partial Regex ShellLiteral();

    [GeneratedRegex(@"""-c""", RegexOptions.CultureInvariant)]
    private static partial Regex DashC();

    [GeneratedRegex(@"UseShellExecute\s*=\s*true|\.Arguments\s*=|\bArguments\s*=\s*[$@""]|new\s+(?:System\.Diagnostics\.)?ProcessStartInfo\s*\([^()]*,|Process\.Start\s*\(\s*""[^""]*""\s*,", RegexOptions.CultureInvariant)]
    private static partial Regex ShellProcess();

    // An interpolated string that continues or starts a Dockerfile RUN line: a value in it would be shell text.
    [GeneratedRegex(@"\$@?""\s*(?:RUN\s|&&|\|\|)", RegexOptions.CultureInvariant)]
    private static partial Regex InterpolatedRunLine();

    private static string Root([CallerFilePath] string self = "")
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(self)!); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Ipv6Dind.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    private static IEnumerable<(string File, int Number, string Line)> SourceLines()
    {
        var root = Root();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.Contains("/obj/") || relative.Contains("/bin/")) continue;
            var number = 0;
            foreach (var line in File.ReadLines(file))
            {
                number++;
                var trimmed = line.Trim();
                if (trimmed.StartsWith("//", StringComparison.Ordinal) || trimmed.StartsWith("///", StringComparison.Ordinal) || trimmed.StartsWith('*')) continue;
                yield return (relative, number, trimmed);
            }
        }
    }

    [Fact]
    public void NoProductionCodeBuildsAShellString()
    {
        var lines = SourceLines().ToList();
        Assert.True(lines.Count > 5000, $"only {lines.Count} lines scanned: is src/ where the test thinks?");
        var findings = lines
            .Where(l => ShellLiteral().IsMatch(l.Line) || (DashC().IsMatch(l.Line) && ShellLiteral().IsMatch(l.Line)) || ShellProcess().IsMatch(l.Line) || InterpolatedRunLine().IsMatch(l.Line))
            .Where(l => !Allowed.Contains((l.File, l.Line)))
            .Select(l => $"{l.File}:{l.Number}: {l.Line}")
            .ToList();
        Assert.True(findings.Count == 0, "shell strings or shell-style process starts:\n" + string.Join("\n", findings));
    }

    [Fact]
    public void TheAllowedShellLineIsStillThereAndTheOnlyOne()
    {
        // If the restarter stops needing its shell, the allow-list entry must go too (a stale entry would allow a new one).
        var lines = SourceLines().ToList();
        foreach (var (file, line) in Allowed)
            Assert.Single(lines, l => l.File == file && l.Line == line);
        Assert.Single(lines, l => ShellLiteral().IsMatch(l.Line));
    }

    [Fact]
    public void EveryProcessStartInfoTakesAnArgumentList()
    {
        var root = Root();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
        {
            var text = File.ReadAllText(file);
            var starts = Regex.Matches(text, @"new\s+(?:System\.Diagnostics\.)?ProcessStartInfo\b").Count;
            if (starts == 0) continue;
            // Each file that starts processes fills ArgumentList (or starts a program without arguments, umount's case aside).
            Assert.True(text.Contains("ArgumentList", StringComparison.Ordinal), $"{Path.GetRelativePath(root, file)} starts processes without ArgumentList");
            Assert.DoesNotContain("UseShellExecute = true", text);
        }
    }

    [Fact]
    public void TheScanCatchesWhatItLooksFor()
    {
        // The patterns themselves, on lines a regression would add.
        Assert.Matches(ShellLiteral(), "await Exec(node, \"sh\", \"-c\", $\"ip route add {x}\");");
        Assert.Matches(ShellLiteral(), "RunAsync(\"/bin/bash\", new[] { \"-c\", script })");
        Assert.Matches(ShellProcess(), "var psi = new ProcessStartInfo(\"ip\", $\"route add {prefix}\");");
        Assert.Matches(ShellProcess(), "psi.Arguments = \"-6 route\";");
        Assert.Matches(ShellProcess(), "new ProcessStartInfo(\"x\") { UseShellExecute = true }");
        Assert.Matches(InterpolatedRunLine(), "$\" && echo {kubernetesVersion} > /kind/version\\n\" +");
        Assert.DoesNotMatch(ShellLiteral(), "Command = new[] { \"named\", \"-g\", \"-u\", \"bind\", \"-c\", Dns64Config },");
        Assert.DoesNotMatch(ShellProcess(), "foreach (var a in arguments) psi.ArgumentList.Add(a);");
    }
}
