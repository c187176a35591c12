using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Ipv6Dind.Core.Tests;

/// <summary>Where a maintainer finds things: one file per cmdlet, named after its class (Set-Nat64Prefix in
/// src/Ipv6Dind/Commands/SetNat64PrefixCommand.cs), and no PowerShell in the core.</summary>
public sealed partial class SourceLayoutTests
{
    // The verb as a Verbs* constant, or as a string where PowerShellStandard.Library has no constant for it ("Build").
    [GeneratedRegex(@"^\[Cmdlet\((?:Verbs\w+\.)?""?(\w+)""?,\s*""(\w+)""[^\n]*\n(?:\[[^\n]*\n)*public sealed class (\w+)", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex CmdletClass();

    private static string Root([CallerFilePath] string self = "")
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(self)!); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Ipv6Dind.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    private static IEnumerable<string> Sources(string folder) =>
        Directory.EnumerateFiles(Path.Combine(Root(), folder), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal));

    [Fact]
    public void EveryCmdletLivesInAFileOfItsOwnNamedVerbNounCommand()
    {
        var problems = new List<string>();
        var cmdlets = 0;
        foreach (var file in Sources("src/Ipv6Dind"))
        {
            var found = CmdletClass().Matches(File.ReadAllText(file)).ToList();
            cmdlets += found.Count;
            if (found.Count > 1) problems.Add($"{Path.GetFileName(file)} holds {found.Count} cmdlets");
            foreach (Match m in found)
            {
                var expected = m.Groups[1].Value + m.Groups[2].Value + "Command";
                if (m.Groups[3].Value != expected) problems.Add($"{m.Groups[1].Value}-{m.Groups[2].Value} is class {m.Groups[3].Value}, not {expected}");
                if (Path.GetFileNameWithoutExtension(file) != m.Groups[3].Value) problems.Add($"{m.Groups[3].Value} is in {Path.GetFileName(file)}");
            }
        }
        Assert.True(cmdlets >= 36, $"only {cmdlets} cmdlets found: is the pattern still right?");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void NoSourceFileIsOver400LinesWithoutSayingWhyAtItsTop()
    {
        // A long file is a sign of two things in one place; the few that are one thing say so in their first line.
        var problems = Sources("src")
            .Select(f => (File: Path.GetRelativePath(Root(), f), Lines: File.ReadAllLines(f)))
            .Where(f => f.Lines.Length > 400 && !f.Lines[0].StartsWith("// Over 400 lines on purpose: ", StringComparison.Ordinal))
            .Select(f => $"{f.File}: {f.Lines.Length} lines")
            .ToList();
        Assert.True(problems.Count == 0, "split these, or say why not in their first line ('// Over 400 lines on purpose: ...'):\n" + string.Join("\n", problems));
    }

    [Fact]
    public void TheCoreHasNoPowerShellDependency()
    {
        var uses = Sources("src/Ipv6Dind.Core").Where(f => File.ReadAllText(f).Contains("System.Management.Automation", StringComparison.Ordinal)).ToList();
        Assert.Empty(uses);
        var project = File.ReadAllText(Path.Combine(Root(), "src/Ipv6Dind.Core/Ipv6Dind.Core.csproj"));
        Assert.DoesNotMatch(@"Include=""(?:PowerShell|Microsoft\.PowerShell|System\.Management\.Automation)", project);
    }
}
