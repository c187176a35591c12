using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Ipv6Dind.Core.Tests;

/// <summary>
/// The repository explains itself: code, tests, scripts and docs cite only files a clone has. A scan of every text
/// file for the names of documents that live outside the repository (the founders' design and lab notes, their
/// source documents, the work tracker's issue numbers) and for repository paths that do not exist. Upstream
/// references ("kubeadm-dind-cluster issue 50", RFC sections, URLs) are fine: anyone can follow them.
/// </summary>
public sealed partial class RepositoryCitationTests
{
    private static readonly string[] Extensions = { ".cs", ".ps1", ".psm1", ".psd1", ".md", ".sh", ".py", ".yaml", ".yml", ".txt", ".toml", ".json", ".xml", ".csproj" };

    // Documents outside the repository; "(issue 13", "issue #4" without an upstream project's name in front.
    [GeneratedRegex(@"LAB-NOTES|DESIGN\.md|\.\./shared\b|shared/seeds|\bseed \d+|(?<![A-Za-z-]\s)\(issue #?\d+|^\s*(?://|#)\s*issue #?\d+", RegexOptions.CultureInvariant | RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex OutsideDocument();

    // A path into the repository's own folders, as comments and docs write them: docs/x.md, tests/run, src/A/B.cs.
    [GeneratedRegex(@"(?<![\w./-])((?:docs|src|tests|examples|bench)/[\w./-]*\.(?:md|cs|ps1|psm1|sh|py|yaml|csproj|txt))\b", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryPath();

    private static string Root([CallerFilePath] string self = "")
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(self)!); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Ipv6Dind.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    private static IEnumerable<(string Relative, string Text)> TextFiles()
    {
        var root = Root();
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.StartsWith(".git/", StringComparison.Ordinal) || relative.StartsWith("out/", StringComparison.Ordinal)
                || relative.Contains("/obj/") || relative.Contains("/bin/") || relative.Contains("TestResults/")
                || relative.Contains("__pycache__") || relative.EndsWith("RepositoryCitationTests.cs", StringComparison.Ordinal)) continue;
            if (!Extensions.Contains(Path.GetExtension(file)) && !relative.EndsWith("/run", StringComparison.Ordinal)) continue;
            yield return (relative, File.ReadAllText(file));
        }
    }

    [Fact]
    public void NothingCitesADocumentOutsideTheRepository()
    {
        var found = TextFiles()
            .SelectMany(f => OutsideDocument().Matches(f.Text).Select(m => $"{f.Relative}:{f.Text[..m.Index].Count(c => c == '\n') + 1}: {m.Value.Trim()}"))
            .ToList();
        Assert.True(found.Count == 0, "cites what a clone does not have:\n" + string.Join("\n", found));
    }

    [Fact]
    public void EveryRepositoryPathThatTheTextNamesExists()
    {
        var root = Root();
        var named = TextFiles()
            .Where(f => !f.Relative.StartsWith("CHANGELOG", StringComparison.Ordinal))   // history names what was removed
            .SelectMany(f => RepositoryPath().Matches(f.Text).Select(m => (f.Relative, Path: m.Groups[1].Value.TrimEnd('.'))))
            .ToList();
        Assert.True(named.Count > 100, $"the scan found only {named.Count} repository paths: is the pattern still right?");
        var missing = named
            .Where(x => !x.Path.Contains('*') && !File.Exists(Path.Combine(root, x.Path)) && !Directory.Exists(Path.Combine(root, x.Path)))
            .Select(x => $"{x.Relative}: {x.Path}")
            .Distinct()
            .ToList();
        Assert.True(missing.Count == 0, "names repository files that do not exist:\n" + string.Join("\n", missing));
    }
}
