// Over 400 lines on purpose: one parser of one page layout (PlatyPS schema 2.0.0), section by section, and the checks
// of each section beside its reading; a split would separate a section's reading from its checks.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Ipv6Dind.HelpBuilder;

/// <summary>
/// Reads one cmdlet page in the layout New-MarkdownHelp (PlatyPS 0.14, schema 2.0.0) writes and
/// checks it. Every problem is collected (not just the first), so one build run lists them all.
/// </summary>
internal static partial class MarkdownHelpParser
{
    private const string AllSets = "(All)";

    private static readonly string[] KnownSections =
        ["SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS"];

    private static readonly string[] KnownYamlKeys =
    [
        "Type", "Parameter Sets", "Aliases", "Accepted values", "Required", "Position", "Default value",
        "Accept pipeline input", "Accept wildcard characters", "Applicable",
    ];

    // What New-MarkdownHelp leaves for the author to replace: {{ Fill in the Synopsis }},
    // {{ Fill Prefix Description }}, {{ Add example code here }}… Docker-style {{.Name}} templates do not match.
    [GeneratedRegex(@"\{\{\s*(Fill|Add)\b[^}]*\}\}", RegexOptions.IgnoreCase)]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex ParameterName();

    // -Name tokens in a SYNTAX code block; the lookbehind skips the hyphen inside Verb-Noun.
    [GeneratedRegex(@"(?<![\w-])-([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex SyntaxToken();

    [GeneratedRegex(@"^(True|False)(\s*\(\s*\w+(\s*,\s*\w+)*\s*\))?$", RegexOptions.IgnoreCase)]
    private static partial Regex PipelineInput();

    private sealed class Section(string name, SourceLine heading)
    {
        public string Name { get; } = name;
        public SourceLine Heading { get; } = heading;
        public List<SourceLine> Body { get; } = [];
        public List<(SourceLine Heading, string Title, List<SourceLine> Body)> Subsections { get; } = [];
    }

    /// <summary>Parses a page; returns null when there are issues (added to <paramref name="issues"/>).</summary>
    /// <param name="displayPath">How the file is named in messages.</param>
    /// <param name="expectedHelpFile">The MAML file name this build writes, checked against 'external help file'; null skips the check.</param>
    public static CommandHelp? Parse(string text, string displayPath, string? expectedHelpFile, List<HelpIssue> issues)
    {
        int before = issues.Count;
        void Issue(int line, string section, string message) => issues.Add(new HelpIssue(displayPath, line, section, message));

        var all = SplitLines(text);
        foreach (var l in all)
        {
            var m = Placeholder().Match(l.Text);
            if (m.Success) Issue(l.Number, SectionAt(all, l.Number), $"PlatyPS placeholder '{m.Value}' was not replaced");
        }

        int bodyStart = ParseFrontMatter(all, expectedHelpFile, Issue);
        if (bodyStart < 0) return null;

        var expectedName = Path.GetFileNameWithoutExtension(displayPath);
        string? title = null;
        var sections = new List<Section>();
        Section? current = null;
        (SourceLine Heading, string Title, List<SourceLine> Body)? sub = null;
        (char Char, int Length)? fence = null;

        for (int i = bodyStart; i < all.Count; i++)
        {
            var line = all[i];
            if (fence is { } f)
            {
                if (MarkdownText.IsFenceClose(line.Text, f.Char, f.Length)) fence = null;
                AddLine(line);
                continue;
            }
            if (MarkdownText.MatchFenceOpen(line.Text) is { } open)
            {
                fence = (open.FenceChar, open.Length);
                AddLine(line);
                continue;
            }

            var heading = MarkdownText.MatchHeading(line.Text);
            if (heading is { Level: 1 } h1)
            {
                if (title != null) Issue(line.Number, "title", $"a second '# {h1.Text}' heading; a page documents one cmdlet");
                else if (sections.Count > 0) Issue(line.Number, "title", "the '# <cmdlet name>' heading must come before the '##' sections");
                else
                {
                    title = h1.Text;
                    if (!string.Equals(title, expectedName, StringComparison.Ordinal))
                        Issue(line.Number, "title", $"title '# {title}' differs from the file name '{Path.GetFileName(displayPath)}'");
                }
                continue;
            }
            if (heading is { Level: 2 } h2)
            {
                var name = h2.Text.ToUpperInvariant();
                if (!KnownSections.Contains(name))
                    Issue(line.Number, name, $"unknown section '## {h2.Text}' (schema 2.0.0 has {string.Join(", ", KnownSections)})");
                else if (sections.Any(s => s.Name == name))
                    Issue(line.Number, name, $"section '## {h2.Text}' appears twice");
                current = new Section(name, line);
                sections.Add(current);
                sub = null;
                continue;
            }
            if (heading is { Level: 3 } h3 && current != null)
            {
                sub = (line, h3.Text, new List<SourceLine>());
                current.Subsections.Add(sub.Value);
                continue;
            }
            if (current == null)
            {
                if (line.Text.Trim().Length > 0)
                    Issue(line.Number, title == null ? "title" : "body", title == null
                        ? "text before the '# <cmdlet name>' heading"
                        : "text between the title and the first '##' section");
                continue;
            }
            AddLine(line);
        }

        void AddLine(SourceLine line)
        {
            if (sub != null) sub.Value.Body.Add(line);
            else current?.Body.Add(line);
        }

        if (title == null)
        {
            Issue(0, "title", $"no '# {expectedName}' heading");
            return null;
        }

        var command = new CommandHelp { Name = title, SourceFile = displayPath };
        Section? Get(string name) => sections.FirstOrDefault(s => s.Name == name);

        // SYNOPSIS, DESCRIPTION: required prose. Subheadings inside read as paragraphs.
        foreach (var (name, target) in new[] { ("SYNOPSIS", command.Synopsis), ("DESCRIPTION", command.Description) })
        {
            var s = Get(name);
            if (s == null) { Issue(0, name, $"missing '## {name}' section"); continue; }
            target.AddRange(MarkdownText.ToParagraphs(Flatten(s)));
            if (target.Count == 0) Issue(s.Heading.Number, name, $"{name} is empty");
        }

        var syntaxSets = ParseSyntax(Get("SYNTAX"), Issue);
        ParseParameters(Get("PARAMETERS"), command, Issue);
        BuildSyntax(command, syntaxSets, Issue);

        var examples = Get("EXAMPLES");
        if (examples != null) ParseExamples(examples, command, Issue);
        if (command.Examples.Count == 0)
            Issue(examples?.Heading.Number ?? 0, "EXAMPLES", examples == null ? "missing '## EXAMPLES' section" : "no example ('### Example 1: …' with a code block)");

        ParseTypes(Get("INPUTS"), command.Inputs, Issue);
        ParseTypes(Get("OUTPUTS"), command.Outputs, Issue);

        if (Get("NOTES") is { } notes) command.Notes.AddRange(MarkdownText.ToParagraphs(Flatten(notes)));
        if (Get("RELATED LINKS") is { } links) ParseLinks(links, command);

        return issues.Count == before ? command : null;
    }

    /// <summary>Only the documented parameter names (for drift checks); null when the page does not parse.</summary>
    public static IReadOnlyList<string>? DocumentedParameters(string path, List<HelpIssue> issues) =>
        Parse(File.ReadAllText(path), path, null, issues)?.Parameters.Select(p => p.Name).ToList();

    private static List<SourceLine> SplitLines(string text)
    {
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var raw = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
        return raw.Select((t, i) => new SourceLine(i + 1, t.Replace("\t", "    "))).ToList();
    }

    /// <summary>Section label for a line, for placeholder messages: the nearest '##' heading above it.</summary>
    private static string SectionAt(List<SourceLine> lines, int number)
    {
        string label = "front matter";
        (char, int)? fence = null;
        foreach (var l in lines)
        {
            if (l.Number > number) break;
            if (fence is { } f) { if (MarkdownText.IsFenceClose(l.Text, f.Item1, f.Item2)) fence = null; continue; }
            if (MarkdownText.MatchFenceOpen(l.Text) is { } o) { fence = (o.FenceChar, o.Length); continue; }
            if (MarkdownText.MatchHeading(l.Text) is { } h)
            {
                if (h.Level == 1) label = "title";
                else if (h.Level == 2) label = h.Text.ToUpperInvariant();
                else if (h.Level == 3 && label.Split(' ')[0] is "PARAMETERS" or "EXAMPLES" or "INPUTS" or "OUTPUTS" or "SYNTAX")
                    label = $"{label.Split(' ')[0]} '{h.Text}'";
            }
        }
        return label;
    }

    private static int ParseFrontMatter(List<SourceLine> all, string? expectedHelpFile, Action<int, string, string> issue)
    {
        const string S = "front matter";
        int first = all.FindIndex(l => l.Text.Trim().Length > 0);
        if (first < 0 || all[first].Text.Trim() != "---")
        {
            issue(first < 0 ? 0 : all[first].Number, S, "the page must start with a '---' front matter block (external help file, Module Name, online version, schema)");
            return -1;
        }
        int end = all.FindIndex(first + 1, l => l.Text.Trim() == "---");
        if (end < 0)
        {
            issue(all[first].Number, S, "front matter is not closed by a '---' line");
            return -1;
        }

        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        bool ok = true;
        for (int i = first + 1; i < end; i++)
        {
            var t = all[i].Text;
            if (t.Trim().Length == 0) continue;
            int colon = t.IndexOf(':');
            if (colon <= 0 || char.IsWhiteSpace(t[0]))
            {
                issue(all[i].Number, S, $"malformed front matter line '{t.Trim()}' (expected 'key: value')");
                ok = false;
                continue;
            }
            var key = t[..colon].Trim();
            if (!values.TryAdd(key, t[(colon + 1)..].Trim()))
            {
                issue(all[i].Number, S, $"key '{key}' appears twice");
                ok = false;
            }
        }

        if (!values.TryGetValue("schema", out var schema))
        {
            issue(all[first].Number, S, "no 'schema: 2.0.0' key");
            ok = false;
        }
        else if (schema != "2.0.0")
        {
            issue(all[first].Number, S, $"schema '{schema}' is not supported (this tool reads PlatyPS schema 2.0.0)");
            ok = false;
        }

        if (!values.TryGetValue("external help file", out var helpFile) || helpFile.Length == 0)
        {
            issue(all[first].Number, S, "no 'external help file' key");
            ok = false;
        }
        else if (expectedHelpFile != null && !string.Equals(helpFile, expectedHelpFile, StringComparison.OrdinalIgnoreCase))
        {
            issue(all[first].Number, S, $"'external help file: {helpFile}' but this build writes {expectedHelpFile}");
            ok = false;
        }

        return ok ? end + 1 : -1;
    }

    /// <summary>A section's text including its '###' parts (as headings that read as paragraphs).</summary>
    private static List<SourceLine> Flatten(Section s)
    {
        var lines = new List<SourceLine>(s.Body);
        foreach (var (heading, _, body) in s.Subsections)
        {
            lines.Add(new SourceLine(heading.Number, ""));
            lines.Add(heading);
            lines.Add(new SourceLine(heading.Number, ""));
            lines.AddRange(body);
        }
        return lines;
    }

    private static bool HasText(IEnumerable<SourceLine> lines) => lines.Any(l => l.Text.Trim().Length > 0);

    private sealed record SyntaxSet(string? Name, bool IsDefault, int Line, IReadOnlyList<string> Tokens);

    private static List<SyntaxSet> ParseSyntax(Section? s, Action<int, string, string> issue)
    {
        var sets = new List<SyntaxSet>();
        if (s == null) return sets;

        // A page for a cmdlet with one parameter set has no '###' heading, just the code block.
        var unnamed = MarkdownText.ParseBlocks(s.Body).FirstOrDefault(b => b.Kind == BlockKind.Code);
        if (unnamed != null) sets.Add(new SyntaxSet(null, true, unnamed.Line, Tokens(unnamed.Text)));

        foreach (var (heading, title, body) in s.Subsections)
        {
            var name = title;
            bool isDefault = false;
            if (name.EndsWith("(Default)", StringComparison.OrdinalIgnoreCase))
            {
                name = name[..^"(Default)".Length].Trim();
                isDefault = true;
            }
            var code = MarkdownText.ParseBlocks(body).FirstOrDefault(b => b.Kind == BlockKind.Code);
            if (code == null) issue(heading.Number, $"SYNTAX '{title}'", "parameter set has no code block");
            if (sets.Any(x => string.Equals(x.Name, name, StringComparison.OrdinalIgnoreCase)))
                issue(heading.Number, $"SYNTAX '{title}'", $"parameter set '{name}' appears twice");
            sets.Add(new SyntaxSet(name, isDefault, heading.Number, code == null ? [] : Tokens(code.Text)));
        }
        if (sets.Count > 1 && sets.Any(x => x.Name == null))
            issue(s.Heading.Number, "SYNTAX", "mixes an unnamed code block with '### <parameter set>' headings");
        return sets;

        static List<string> Tokens(string code) =>
            SyntaxToken().Matches(code).Select(m => m.Groups[1].Value).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    private static void ParseParameters(Section? s, CommandHelp command, Action<int, string, string> issue)
    {
        if (s == null) return;
        if (HasText(s.Body)) issue(s.Heading.Number, "PARAMETERS", "text before the first '### -<Name>' heading");

        foreach (var (heading, title, body) in s.Subsections)
        {
            if (title.Equals("CommonParameters", StringComparison.OrdinalIgnoreCase))
            {
                command.SupportsCommonParameters = true;
                continue;
            }
            if (title.Equals("WorkflowParameters", StringComparison.OrdinalIgnoreCase)) continue;

            var name = title.StartsWith('-') ? title[1..].Trim() : title;
            var label = $"PARAMETERS -{name}";
            if (!ParameterName().IsMatch(name))
            {
                issue(heading.Number, "PARAMETERS", $"'### {title}' is not a parameter heading ('### -Name')");
                continue;
            }
            if (command.Parameters.Any(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                issue(heading.Number, label, "parameter is documented twice");
                continue;
            }

            var parameter = new ParameterHelp { Name = name };
            var blocks = MarkdownText.ParseBlocks(body);
            int firstYaml = blocks.FindIndex(IsYaml);
            if (firstYaml < 0)
            {
                issue(heading.Number, label, "no ```yaml block (Type, Parameter Sets, Aliases, Required, Position, Default value, Accept pipeline input, Accept wildcard characters)");
                continue;
            }
            parameter.Description.AddRange(MarkdownText.ToParagraphs(blocks.Take(firstYaml)));

            foreach (var b in blocks.Skip(firstYaml))
            {
                if (!IsYaml(b))
                {
                    issue(b.Line, label, "text after the ```yaml block; the description goes between the heading and the yaml");
                    continue;
                }
                if (ParseYaml(b, label, issue) is { } v) parameter.Variants.Add(v);
            }
            if (parameter.Variants.Count > 0) command.Parameters.Add(parameter);
        }

        static bool IsYaml(TextBlock b) =>
            b.Kind == BlockKind.Code && (b.Info.Equals("yaml", StringComparison.OrdinalIgnoreCase) || b.Info.Equals("yml", StringComparison.OrdinalIgnoreCase));
    }

    private static ParameterVariant? ParseYaml(TextBlock block, string label, Action<int, string, string> issue)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        bool ok = true;
        var lines = block.Text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var t = lines[i].Trim();
            int lineNo = block.Line + 1 + i;
            if (t.Length == 0) continue;
            int colon = t.IndexOf(':');
            var key = colon > 0 ? t[..colon].Trim() : "";
            if (colon <= 0 || !KnownYamlKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                issue(lineNo, label, colon <= 0 ? $"yaml line '{t}' is not 'key: value'" : $"unknown yaml key '{key}'");
                ok = false;
                continue;
            }
            if (!values.TryAdd(key, t[(colon + 1)..].Trim()))
            {
                issue(lineNo, label, $"yaml key '{key}' appears twice");
                ok = false;
            }
        }

        string Get(string key, string fallback) => values.TryGetValue(key, out var v) && v.Length > 0 ? v : fallback;
        bool Bool(string key)
        {
            var v = Get(key, "False");
            if (v.Equals("True", StringComparison.OrdinalIgnoreCase)) return true;
            if (!v.Equals("False", StringComparison.OrdinalIgnoreCase))
            {
                issue(block.Line, label, $"'{key}: {v}' must be True or False");
                ok = false;
            }
            return false;
        }
        static List<string> List(string v) => v.Split(',').Select(x => x.Trim()).Where(x => x.Length > 0).ToList();

        var type = Get("Type", "");
        if (type.Length == 0)
        {
            issue(block.Line, label, "yaml has no 'Type:'");
            ok = false;
        }

        int? position = null;
        var pos = Get("Position", "Named");
        if (!pos.Equals("Named", StringComparison.OrdinalIgnoreCase))
        {
            if (int.TryParse(pos, NumberStyles.None, CultureInfo.InvariantCulture, out var p)) position = p;
            else
            {
                issue(block.Line, label, $"'Position: {pos}' must be Named or a number");
                ok = false;
            }
        }

        var pipeline = Get("Accept pipeline input", "False");
        if (!PipelineInput().IsMatch(pipeline))
        {
            issue(block.Line, label, $"'Accept pipeline input: {pipeline}' must be False or True (ByValue, ByPropertyName)");
            ok = false;
        }

        var setsText = Get("Parameter Sets", AllSets);
        IReadOnlyList<string>? sets = setsText.Equals(AllSets, StringComparison.OrdinalIgnoreCase) ? null : List(setsText);
        if (sets is { Count: 0 }) sets = null;

        var variant = new ParameterVariant(
            Type: type,
            Sets: sets,
            Aliases: List(Get("Aliases", "")),
            AcceptedValues: List(Get("Accepted values", "")),
            Required: Bool("Required"),
            Position: position,
            DefaultValue: Get("Default value", "None"),
            PipelineInput: pipeline,
            Globbing: Bool("Accept wildcard characters"));
        return ok ? variant : null;
    }

    /// <summary>
    /// MAML syntax items come from PARAMETERS (per set), as PlatyPS does; SYNTAX gives the set names,
    /// their order and the parameter order. The two are cross-checked so a stale SYNTAX block fails the build.
    /// </summary>
    private static void BuildSyntax(CommandHelp command, List<SyntaxSet> syntaxSets, Action<int, string, string> issue)
    {
        var named = syntaxSets.Where(s => s.Name != null).ToList();
        var declared = command.Parameters
            .SelectMany(p => p.Variants.SelectMany(v => v.Sets ?? []))
            .Distinct(StringComparer.OrdinalIgnoreCase).ToList();

        List<SyntaxSet> sets;
        if (named.Count > 0)
        {
            sets = named;
            foreach (var p in command.Parameters)
                foreach (var set in p.Variants.SelectMany(v => v.Sets ?? []))
                    if (!named.Any(n => n.Name!.Equals(set, StringComparison.OrdinalIgnoreCase)))
                        issue(0, $"PARAMETERS -{p.Name}", $"'Parameter Sets' names '{set}', which SYNTAX does not list (SYNTAX has {string.Join(", ", named.Select(n => n.Name))})");
        }
        else if (declared.Count > 0)
        {
            // No '###' set headings: the sets are whatever PARAMETERS names (PlatyPS's own rule).
            var tokens = declared.Count == 1 && syntaxSets.Count == 1 ? syntaxSets[0].Tokens : [];
            sets = declared.Select((d, i) => new SyntaxSet(d, i == 0, 0, tokens)).ToList();
        }
        else
        {
            sets = [syntaxSets.Count == 1 ? syntaxSets[0] : new SyntaxSet(null, true, 0, [])];
        }

        // Default set first, as Get-Help and the SYNTAX block show it.
        sets = sets.OrderBy(s => s.IsDefault ? 0 : 1).ToList();

        foreach (var set in sets)
        {
            var members = new List<(ParameterHelp, ParameterVariant)>();
            foreach (var p in command.Parameters)
            {
                var v = set.Name == null
                    ? p.Variants[0]
                    : p.Variants.FirstOrDefault(x => x.Sets?.Contains(set.Name, StringComparer.OrdinalIgnoreCase) == true)
                      ?? p.Variants.FirstOrDefault(x => x.Sets == null);
                if (v != null) members.Add((p, v));
            }

            if (set.Tokens.Count > 0)
            {
                var label = set.Name == null ? "SYNTAX" : $"SYNTAX '{set.Name}'";
                foreach (var t in set.Tokens)
                    if (!members.Any(m => m.Item1.Name.Equals(t, StringComparison.OrdinalIgnoreCase)) && !IsRiskParameter(t))
                        issue(set.Line, label, $"lists -{t}, but PARAMETERS does not document -{t}{(set.Name == null ? "" : $" for set '{set.Name}'")}");
                foreach (var (p, _) in members)
                    if (!set.Tokens.Contains(p.Name, StringComparer.OrdinalIgnoreCase))
                        issue(set.Line, label, $"does not list -{p.Name}, but PARAMETERS puts -{p.Name} in {(set.Name == null ? "it" : $"set '{set.Name}'")}");

                // WhatIf/Confirm named in SYNTAX but not documented: give them PlatyPS's standard text rather than drop them.
                foreach (var t in set.Tokens.Where(IsRiskParameter))
                    if (!members.Any(m => m.Item1.Name.Equals(t, StringComparison.OrdinalIgnoreCase)))
                        members.Add(RiskParameter(command, t));
            }

            // SYNTAX order first (that is the cmdlet's declaration order); then positional, then the rest.
            var ordered = members
                .Select((m, i) => (m, i))
                .OrderBy(x => IndexIn(set.Tokens, x.m.Item1.Name))
                .ThenBy(x => x.m.Item2.Position ?? int.MaxValue)
                .ThenBy(x => x.i)
                .Select(x => x.m)
                .ToList();
            command.Syntax.Add(new SyntaxItem(set.Name, set.IsDefault, ordered));
        }

        static int IndexIn(IReadOnlyList<string> tokens, string name)
        {
            for (int i = 0; i < tokens.Count; i++)
                if (tokens[i].Equals(name, StringComparison.OrdinalIgnoreCase)) return i;
            return int.MaxValue;
        }
    }

    private static bool IsRiskParameter(string name) =>
        name.Equals("WhatIf", StringComparison.OrdinalIgnoreCase) || name.Equals("Confirm", StringComparison.OrdinalIgnoreCase);

    private static (ParameterHelp, ParameterVariant) RiskParameter(CommandHelp command, string token)
    {
        bool whatIf = token.Equals("WhatIf", StringComparison.OrdinalIgnoreCase);
        var name = whatIf ? "WhatIf" : "Confirm";
        var p = command.Parameters.FirstOrDefault(x => x.Name == name);
        if (p == null)
        {
            p = new ParameterHelp { Name = name };
            p.Description.Add(whatIf
                ? "Shows what would happen if the cmdlet runs. The cmdlet is not run."
                : "Prompts you for confirmation before running the cmdlet.");
            p.Variants.Add(new ParameterVariant("SwitchParameter", null, [whatIf ? "wi" : "cf"], [], false, null, "False", "False", false));
            command.Parameters.Add(p);
        }
        return (p, p.Variants[0]);
    }

    private static void ParseExamples(Section s, CommandHelp command, Action<int, string, string> issue)
    {
        if (HasText(s.Body)) issue(s.Heading.Number, "EXAMPLES", "text before the first '### Example 1: …' heading");
        foreach (var (heading, title, body) in s.Subsections)
        {
            var blocks = MarkdownText.ParseBlocks(body);
            int first = blocks.FindIndex(b => b.Kind == BlockKind.Code);
            if (first < 0)
            {
                issue(heading.Number, $"EXAMPLES '{title}'", "example has no code block");
                continue;
            }
            // The first run of code blocks is the example's code; text before it (rare) leads the remarks,
            // because MAML's <maml:introduction> is printed on the code's first line, like a prompt.
            int last = first;
            while (last + 1 < blocks.Count && blocks[last + 1].Kind == BlockKind.Code) last++;
            var code = string.Join("\n\n", blocks.Skip(first).Take(last - first + 1).Select(b => b.Text.TrimEnd()));
            if (code.Trim().Length == 0) issue(heading.Number, $"EXAMPLES '{title}'", "example code block is empty");
            var remarks = MarkdownText.ToParagraphs(blocks.Take(first).Concat(blocks.Skip(last + 1)));
            command.Examples.Add(new ExampleHelp(title, code, remarks));
        }
    }

    private static void ParseTypes(Section? s, List<TypeHelp> target, Action<int, string, string> issue)
    {
        if (s == null) return;
        if (HasText(s.Body)) issue(s.Heading.Number, s.Name, $"text under '## {s.Name}' must follow a '### <type name>' heading");
        foreach (var (_, title, body) in s.Subsections)
            target.Add(new TypeHelp(MarkdownText.RenderInline(title), MarkdownText.ToParagraphs(body)));
    }

    private static void ParseLinks(Section s, CommandHelp command)
    {
        foreach (var line in s.Body.Concat(s.Subsections.SelectMany(x => x.Body.Prepend(x.Heading))))
        {
            var t = line.Text.Trim();
            if (t.Length == 0 || MarkdownText.MatchFenceOpen(t) != null) continue;
            if (MarkdownText.MatchHeading(t) is { } h) t = h.Text;
            var links = MarkdownText.FindLinks(t).ToList();
            if (links.Count == 0)
            {
                // A bare name (e.g. about_Ipv6Dind) is still a useful pointer.
                var text = MarkdownText.RenderInline(t.TrimStart('-', '*', '+', ' '));
                if (text.Length > 0) command.Links.Add(new LinkHelp(text, ""));
                continue;
            }
            foreach (var (text, uri) in links)
            {
                // Get-Help wants a real URI or none; relative links between pages only make sense on GitHub (PlatyPS drops them too).
                command.Links.Add(new LinkHelp(text.Length > 0 ? text : uri, MarkdownText.IsAbsoluteUri(uri) ? uri : ""));
            }
        }
    }
}
