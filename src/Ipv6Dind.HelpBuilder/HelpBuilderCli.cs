namespace Ipv6Dind.HelpBuilder;

/// <summary>
/// Ipv6Dind.HelpBuilder --docs &lt;dir&gt; --out &lt;file&gt; [--check]
/// Exit codes: 0 success, 1 a page is wrong, 2 bad command line.
/// </summary>
internal static class HelpBuilderCli
{
    public const int Ok = 0;
    public const int Invalid = 1;
    public const int Usage = 2;

    private const string UsageText =
        "usage: Ipv6Dind.HelpBuilder --docs <dir> --out <file> [--check]\n" +
        "  Converts PlatyPS markdown pages (docs/<Verb>-<Noun>.md, schema 2.0.0; about_*.md and other documents skipped) to MAML for Get-Help.\n" +
        "  --check  only validate the pages; --out is then optional and nothing is written.";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string? docs = null, output = null;
        bool check = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--docs" when i + 1 < args.Length: docs = args[++i]; break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                case "--check": check = true; break;
                case "-h" or "--help" or "-?":
                    stdout.WriteLine(UsageText);
                    return Ok;
                default:
                    stderr.WriteLine($"help: unexpected argument '{args[i]}'");
                    stderr.WriteLine(UsageText);
                    return Usage;
            }
        }
        if (docs == null || (output == null && !check))
        {
            stderr.WriteLine("help: --docs and --out are required (--out is optional with --check)");
            stderr.WriteLine(UsageText);
            return Usage;
        }

        var docsDir = Path.GetFullPath(docs);
        var outFile = output == null ? null : Path.GetFullPath(output);
        List<CommandHelp> commands = [];
        List<HelpIssue> issues = [];
        if (Directory.Exists(docsDir))
        {
            (commands, issues) = ParseFolder(docsDir, outFile == null ? null : Path.GetFileName(outFile));
        }
        else
        {
            // git keeps no empty folders, so a fresh clone may have no docs/ yet; the hosted-engine tests
            // still catch every cmdlet without help, so this is a warning, not a failed build.
            stderr.WriteLine($"{docsDir}: warning IPV6HELP: docs folder not found; no cmdlet pages");
        }
        if (issues.Count > 0)
        {
            foreach (var issue in issues) stderr.WriteLine(issue);
            stderr.WriteLine($"help: {issues.Count} problem(s) in {docsDir}; {(outFile == null ? "check failed" : $"{outFile} not written")}");
            return Invalid;
        }

        if (check)
        {
            stdout.WriteLine($"help: {commands.Count} cmdlet pages checked in {docsDir}");
            return Ok;
        }

        var bytes = MamlWriter.Serialize(MamlWriter.Build(commands));
        WriteAtomically(outFile!, bytes);
        stdout.WriteLine($"help: {commands.Count} cmdlet pages -> {outFile}");
        return Ok;
    }

    /// <summary>All cmdlet pages of a folder, in file-name order (so the output is the same on every run).</summary>
    internal static (List<CommandHelp> Commands, List<HelpIssue> Issues) ParseFolder(string docsDir, string? expectedHelpFile)
    {
        var issues = new List<HelpIssue>();
        var commands = new List<CommandHelp>();
        var files = Directory.GetFiles(docsDir, "*.md", SearchOption.TopDirectoryOnly)
            .Where(IsCmdletPage)
            .OrderBy(f => f, StringComparer.Ordinal);
        foreach (var file in files)
        {
            var command = MarkdownHelpParser.Parse(File.ReadAllText(file), file, expectedHelpFile, issues);
            if (command == null) continue;
            if (commands.FirstOrDefault(c => c.Name.Equals(command.Name, StringComparison.OrdinalIgnoreCase)) is { } other)
            {
                issues.Add(new HelpIssue(file, 0, "title", $"cmdlet '{command.Name}' is also documented by {other.SourceFile}"));
                continue;
            }
            commands.Add(command);
        }
        return (commands, issues);
    }

    // about_ topics are hand-written en-US/about_*.help.txt; their markdown is not cmdlet help.
    internal static bool IsAboutTopic(string path) =>
        Path.GetFileName(path).StartsWith("about_", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether a docs page is a cmdlet's: named Verb-Noun.md. about_ topics and the project's own documents
    /// (architecture.md) are not help pages.
    /// </summary>
    internal static bool IsCmdletPage(string path) =>
        !IsAboutTopic(path) && System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(path), "^[A-Z][A-Za-z]+-[A-Z][A-Za-z0-9]+\\.md$");

    /// <summary>
    /// Temp file + rename, so a build running concurrently (or Get-Help reading it) never sees half a file.
    /// An unchanged file is left alone to keep its timestamp for incremental copies.
    /// </summary>
    private static void WriteAtomically(string path, byte[] bytes)
    {
        var dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes)) return;

        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
