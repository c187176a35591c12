using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Xml.Linq;
using Ipv6Dind.HelpBuilder;

namespace Ipv6Dind.Tests;

/// <summary>Markdown (PlatyPS layout) to MAML: structure, text and validation, without the engine.</summary>
public sealed class HelpBuilderTests : IDisposable
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Cmd = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private readonly string _temp = HelpTestFiles.NewTempDir();

    public void Dispose() => HelpTestFiles.Delete(_temp);

    [Fact]
    public void Sample_pages_become_one_maml_command_each_and_about_pages_are_skipped()
    {
        var (doc, stdout) = BuildSamples();

        Assert.Equal(Msh + "helpItems", doc.Root!.Name);
        Assert.Equal("maml", (string?)doc.Root.Attribute("schema"));
        var names = doc.Root.Elements(Cmd + "command").Select(c => c.Element(Cmd + "details")!.Element(Cmd + "name")!.Value).ToList();
        Assert.Equal(["Get-HelpSample", "Split-HelpSample"], names); // about_HelpSample.md is not a cmdlet page
        Assert.Matches(@"^help: 2 cmdlet pages -> .*Ipv6Dind\.dll-Help\.xml\s*$", stdout);

        var split = Command(doc, "Split-HelpSample");
        // PlatyPS declares the four namespaces on each command element.
        Assert.Equal(Maml.NamespaceName, split.GetNamespaceOfPrefix("maml")?.NamespaceName);
        Assert.Equal(Cmd.NamespaceName, split.GetNamespaceOfPrefix("command")?.NamespaceName);
        Assert.Equal(Dev.NamespaceName, split.GetNamespaceOfPrefix("dev")?.NamespaceName);
        Assert.Equal("http://msdn.microsoft.com/mshelp", split.GetNamespaceOfPrefix("MSHelp")?.NamespaceName);

        var details = split.Element(Cmd + "details")!;
        Assert.Equal("Split", details.Element(Cmd + "verb")!.Value);
        Assert.Equal("HelpSample", details.Element(Cmd + "noun")!.Value);
        Assert.Equal(["Splits an IPv6 prefix into smaller subnets."], Paras(details.Element(Maml + "description")));

        // Soft-wrapped lines join, emphasis goes, inline code stays, list items are paragraphs, links keep text (+ absolute URL).
        Assert.Equal(
        [
            "The `Split-HelpSample` cmdlet splits a prefix such as `fd00:10::/48` into subnets of one length, in address order.",
            "It works in two ways:",
            "- by the length of each subnet (`-SubnetLength`);",
            "- by the number of subnets (`-Count`), rounded up to a power of two.",
            "See about_HelpSample and RFC 4291 (https://www.rfc-editor.org/rfc/rfc4291) for the address format.",
        ], Paras(split.Element(Maml + "description")));

        // Element order as PlatyPS writes it.
        Assert.Equal(
            ["details", "description", "syntax", "parameters", "inputTypes", "returnValues", "alertSet", "examples", "relatedLinks"],
            split.Elements().Select(e => e.Name.LocalName));
    }

    [Fact]
    public void Syntax_items_are_built_per_parameter_set_from_parameters_in_syntax_order()
    {
        var split = Command(BuildSamples().Doc, "Split-HelpSample");
        var items = split.Element(Cmd + "syntax")!.Elements(Cmd + "syntaxItem").ToList();
        Assert.Equal(2, items.Count);
        Assert.All(items, i => Assert.Equal("Split-HelpSample", i.Element(Maml + "name")!.Value));

        // Default set (ByLength) first; each set holds its own and the (All) parameters, in the SYNTAX block's order.
        Assert.Equal(["Prefix", "SubnetLength", "First", "Mode", "Force", "WhatIf", "Confirm"], ParamNames(items[0]));
        Assert.Equal(["Prefix", "Count", "First", "Mode", "Force", "WhatIf", "Confirm"], ParamNames(items[1]));

        // Switches carry no value in syntax (so Get-Help prints [-Force]); others do.
        var force = Param(items[0], "Force");
        Assert.Null(force.Element(Cmd + "parameterValue"));
        Assert.Equal("String", Param(items[0], "Prefix").Element(Cmd + "parameterValue")!.Value);

        // Accepted values become a value group in syntax: -Mode {Sequential | Sparse}.
        var group = Param(items[0], "Mode").Element(Cmd + "parameterValueGroup")!;
        Assert.Equal(["Sequential", "Sparse"], group.Elements(Cmd + "parameterValue").Select(v => v.Value));

        Assert.Equal("true", (string?)Param(items[1], "Count").Attribute("required"));
        Assert.Equal("named", (string?)Param(items[1], "Count").Attribute("position"));
    }

    [Fact]
    public void Parameter_attributes_follow_the_yaml_block()
    {
        var split = Command(BuildSamples().Doc, "Split-HelpSample");
        var parameters = split.Element(Cmd + "parameters")!;
        Assert.Equal(["Confirm", "Count", "First", "Force", "Mode", "Prefix", "SubnetLength", "WhatIf"], ParamNames(parameters));

        var prefix = Param(parameters, "Prefix");
        Assert.Equal("true", (string?)prefix.Attribute("required"));
        Assert.Equal("0", (string?)prefix.Attribute("position"));
        Assert.Equal("True (ByPropertyName, ByValue)", (string?)prefix.Attribute("pipelineInput"));
        Assert.Equal("false", (string?)prefix.Attribute("globbing"));
        Assert.Equal("Network", (string?)prefix.Attribute("aliases"));
        Assert.Equal(["The prefix to split, in CIDR notation."], Paras(prefix.Element(Maml + "description")));
        Assert.Equal("String", prefix.Element(Cmd + "parameterValue")!.Value);
        Assert.Equal("String", prefix.Element(Dev + "type")!.Element(Maml + "name")!.Value);
        Assert.Equal("None", prefix.Element(Dev + "defaultValue")!.Value);

        var first = Param(parameters, "First");
        Assert.Equal("false", (string?)first.Attribute("required"));
        Assert.Equal("named", (string?)first.Attribute("position"));
        Assert.Equal("False", (string?)first.Attribute("pipelineInput"));
        Assert.Equal("none", (string?)first.Attribute("aliases"));

        Assert.Equal("Sequential", Param(parameters, "Mode").Element(Dev + "defaultValue")!.Value);

        // In the parameters section a switch does carry its type (Get-Help prints "-Force [<SwitchParameter>]").
        var force = Param(parameters, "Force");
        Assert.Equal("SwitchParameter", force.Element(Cmd + "parameterValue")!.Value);
        Assert.Equal("False", force.Element(Dev + "defaultValue")!.Value);

        Assert.Equal("wi", (string?)Param(parameters, "WhatIf").Attribute("aliases"));
        Assert.Equal(["Shows what would happen if the cmdlet runs. The cmdlet is not run."], Paras(Param(parameters, "WhatIf").Element(Maml + "description")));
    }

    [Fact]
    public void Examples_types_notes_and_links_are_written()
    {
        var doc = BuildSamples().Doc;
        var split = Command(doc, "Split-HelpSample");

        var examples = split.Element(Cmd + "examples")!.Elements(Cmd + "example").ToList();
        Assert.Equal(2, examples.Count);
        Assert.Equal("--------------- Example 1: Split a /48 into /64s ---------------", examples[0].Element(Maml + "title")!.Value);
        Assert.Equal("PS> Split-HelpSample fd00:10::/48 -SubnetLength 64 -First 2", examples[0].Element(Dev + "code")!.Value);
        Assert.Equal(["The first two /64 subnets of the /48.", "Use `-First` to keep the output short."], Paras(examples[0].Element(Dev + "remarks")));
        // Consecutive code blocks (command, then output) form the code, as in PlatyPS.
        Assert.Equal("PS> Split-HelpSample -Prefix 2001:db8::/32 -Count 4\n\n2001:db8::/34", examples[1].Element(Dev + "code")!.Value);
        Assert.Equal(["Four /34 subnets."], Paras(examples[1].Element(Dev + "remarks")));

        var input = split.Element(Cmd + "inputTypes")!.Element(Cmd + "inputType")!;
        Assert.Equal("System.String", input.Element(Dev + "type")!.Element(Maml + "name")!.Value);
        Assert.Equal(["A prefix can be piped in, or an object with a Prefix property."], Paras(input.Element(Maml + "description")));
        var output = split.Element(Cmd + "returnValues")!.Element(Cmd + "returnValue")!;
        Assert.Equal("Ipv6Dind.Ipv6Subnet", output.Element(Dev + "type")!.Element(Maml + "name")!.Value);

        Assert.Equal(["Subnets are computed, not allocated: nothing is reserved anywhere."],
            Paras(split.Element(Maml + "alertSet")!.Element(Maml + "alert")));

        var links = split.Element(Cmd + "relatedLinks")!.Elements(Maml + "navigationLink")
            .Select(l => (l.Element(Maml + "linkText")!.Value, l.Element(Maml + "uri")!.Value)).ToList();
        Assert.Equal([("Split-HelpSample online", "https://example.invalid/Split-HelpSample"), ("Get-HelpSample", "")], links);

        // A page with one unnamed syntax block and no parameters: one empty syntax item, no notes element.
        var get = Command(doc, "Get-HelpSample");
        Assert.Single(get.Element(Cmd + "syntax")!.Elements(Cmd + "syntaxItem"));
        Assert.Empty(get.Element(Cmd + "parameters")!.Elements());
        Assert.Null(get.Element(Maml + "alertSet"));
        Assert.Equal("-------------------------- Example 1 --------------------------",
            get.Element(Cmd + "examples")!.Element(Cmd + "example")!.Element(Maml + "title")!.Value);
        Assert.Equal("None", get.Element(Cmd + "inputTypes")!.Element(Cmd + "inputType")!.Element(Dev + "type")!.Element(Maml + "name")!.Value);
    }

    [Fact]
    public void Crlf_and_lf_pages_give_the_same_maml()
    {
        var lfDocs = HelpTestFiles.CopySamples(Path.Combine(_temp, "lf"));
        var crlfDocs = HelpTestFiles.CopySamples(Path.Combine(_temp, "crlf"));
        foreach (var f in Directory.GetFiles(crlfDocs, "*.md"))
            File.WriteAllText(f, File.ReadAllText(f).Replace("\r\n", "\n").Replace("\n", "\r\n"));
        Assert.Contains("\r\n", File.ReadAllText(Path.Combine(crlfDocs, "Split-HelpSample.md")));

        var lfOut = Path.Combine(_temp, "lf-out", "Ipv6Dind.dll-Help.xml");
        var crlfOut = Path.Combine(_temp, "crlf-out", "Ipv6Dind.dll-Help.xml");
        Assert.Equal(0, Run(["--docs", lfDocs, "--out", lfOut], out _, out var e1));
        Assert.Equal(0, Run(["--docs", crlfDocs, "--out", crlfOut], out _, out var e2));
        Assert.Equal("", e1 + e2);
        Assert.Equal(File.ReadAllText(lfOut), File.ReadAllText(crlfOut));
        Assert.DoesNotContain("\r", File.ReadAllText(lfOut));
    }

    [Fact]
    public void Several_yaml_blocks_give_each_set_its_own_required_and_position()
    {
        // PlatyPS writes one yaml block per distinct metadata: here -Prefix is positional and mandatory only in ByLength.
        var page = HelpTestFiles.Sample("Split-HelpSample.md").Replace(
            "Type: String\nParameter Sets: (All)\nAliases: Network\n\nRequired: True\nPosition: 0\n",
            "Type: String\nParameter Sets: ByLength\nAliases: Network\n\nRequired: True\nPosition: 0\n" +
            "Default value: None\nAccept pipeline input: True (ByPropertyName, ByValue)\nAccept wildcard characters: False\n```\n\n" +
            "```yaml\nType: String\nParameter Sets: ByCount\nAliases: Network\n\nRequired: False\nPosition: Named\n");
        var doc = BuildPage("Split-HelpSample.md", page.Replace("[-Prefix] <String> -Count", "[-Prefix <String>] -Count"));
        var items = Command(doc, "Split-HelpSample").Element(Cmd + "syntax")!.Elements(Cmd + "syntaxItem").ToList();
        Assert.Equal("true", (string?)Param(items[0], "Prefix").Attribute("required"));
        Assert.Equal("0", (string?)Param(items[0], "Prefix").Attribute("position"));
        Assert.Equal("false", (string?)Param(items[1], "Prefix").Attribute("required"));
        Assert.Equal("named", (string?)Param(items[1], "Prefix").Attribute("position"));
        // The parameters section shows the first block, once.
        var prefix = Command(doc, "Split-HelpSample").Element(Cmd + "parameters")!.Elements(Cmd + "parameter")
            .Where(p => p.Element(Maml + "name")!.Value == "Prefix").ToList();
        Assert.Equal("true", (string?)Assert.Single(prefix).Attribute("required"));
    }

    [Fact]
    public void WhatIf_and_Confirm_named_in_syntax_but_not_documented_get_the_standard_text()
    {
        var page = HelpTestFiles.Sample("Split-HelpSample.md");
        page = RemoveParameter(RemoveParameter(page, "WhatIf"), "Confirm");
        Assert.DoesNotContain("### -WhatIf", page);
        var split = Command(BuildPage("Split-HelpSample.md", page), "Split-HelpSample");
        var items = split.Element(Cmd + "syntax")!.Elements(Cmd + "syntaxItem").ToList();
        Assert.All(items, i => Assert.Equal(["WhatIf", "Confirm"], ParamNames(i).TakeLast(2)));
        var confirm = Param(split.Element(Cmd + "parameters")!, "Confirm");
        Assert.Equal(["Prompts you for confirmation before running the cmdlet."], Paras(confirm.Element(Maml + "description")));
        Assert.Equal("cf", (string?)confirm.Attribute("aliases"));
    }

    [Fact]
    public void Markdown_text_is_kept_readable()
    {
        var lines = new[]
        {
            "First **bold** and *italic* and _italic_ words, about_Ipv6Dind_Lab stays,",
            "a `co**de**` span and a \\<literal\\> with an escaped \\* star.",
            "",
            "* one",
            "  continued",
            "  - nested",
            "1. numbered",
            "",
            "Hard break here  ",
            "next line.",
            "",
            "```",
            "Get-Thing | Where-Object Name",
            "```",
            "",
            "| Name | Value |",
            "|------|-------|",
            "| a    | 1     |",
            "",
            "#### Sub heading",
            "<!-- hidden --> [site](https://example.invalid) and <https://example.invalid/x>",
        }.Select((t, i) => new SourceLine(i + 1, t)).ToList();

        Assert.Equal(
        [
            "First bold and italic and italic words, about_Ipv6Dind_Lab stays, a `co**de**` span and a <literal> with an escaped * star.",
            "- one continued",
            "  - nested",
            "1. numbered",
            "Hard break here\nnext line.",
            "    Get-Thing | Where-Object Name",
            "| Name | Value |\n| a    | 1     |",
            "Sub heading",
            "site (https://example.invalid) and https://example.invalid/x",
        ], MarkdownText.ToParagraphs(lines));
    }

    [Fact]
    public void Check_mode_validates_without_writing()
    {
        var docs = HelpTestFiles.CopySamples(Path.Combine(_temp, "docs"));
        var outFile = Path.Combine(_temp, "out", "Ipv6Dind.dll-Help.xml");
        Assert.Equal(0, Run(["--docs", docs, "--out", outFile, "--check"], out var stdout, out var stderr));
        Assert.Equal("", stderr);
        Assert.Contains("help: 2 cmdlet pages checked", stdout);
        Assert.False(File.Exists(outFile));
        Assert.False(Directory.Exists(Path.GetDirectoryName(outFile)));

        Assert.Equal(0, Run(["--docs", docs, "--check"], out _, out _));
    }

    [Fact]
    public void Output_is_written_atomically_and_left_alone_when_unchanged()
    {
        var docs = HelpTestFiles.CopySamples(Path.Combine(_temp, "docs"));
        var outFile = Path.Combine(_temp, "deep", "en-US", "Ipv6Dind.dll-Help.xml");
        Assert.Equal(0, Run(["--docs", docs, "--out", outFile], out _, out _));
        var old = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(outFile, old);

        Assert.Equal(0, Run(["--docs", docs, "--out", outFile], out _, out _));
        Assert.Equal(old, File.GetLastWriteTimeUtc(outFile));
        Assert.Equal(["Ipv6Dind.dll-Help.xml"], Directory.GetFiles(Path.GetDirectoryName(outFile)!).Select(Path.GetFileName));

        File.WriteAllText(outFile, "stale");
        Assert.Equal(0, Run(["--docs", docs, "--out", outFile], out _, out _));
        Assert.StartsWith("<?xml", File.ReadAllText(outFile));
        Assert.Equal(["Ipv6Dind.dll-Help.xml"], Directory.GetFiles(Path.GetDirectoryName(outFile)!).Select(Path.GetFileName));
    }

    public static TheoryData<string, string[]> InvalidPages => new()
    {
        { "synopsis-empty", ["SYNOPSIS", "SYNOPSIS is empty"] },
        { "synopsis-missing", ["SYNOPSIS", "missing '## SYNOPSIS' section"] },
        { "description-empty", ["DESCRIPTION", "DESCRIPTION is empty"] },
        { "description-missing", ["DESCRIPTION", "missing '## DESCRIPTION' section"] },
        { "examples-missing", ["EXAMPLES", "missing '## EXAMPLES' section"] },
        { "examples-none", ["EXAMPLES", "no example"] },
        { "example-without-code", ["EXAMPLES 'Example 2: Four subnets'", "no code block"] },
        { "placeholder", ["PARAMETERS '-Count'", "placeholder '{{ Fill Count Description }}'"] },
        { "placeholder-example", ["EXAMPLES 'Example 1: Split a /48 into /64s'", "placeholder '{{ Add example code here }}'"] },
        { "parameter-without-yaml", ["PARAMETERS -First", "no ```yaml block"] },
        { "title-differs", ["title", "'# Split-HelpSamples' differs from the file name 'Split-HelpSample.md'"] },
        { "front-matter-missing", ["front matter", "must start with a '---' front matter block"] },
        { "front-matter-unclosed", ["front matter", "not closed"] },
        { "front-matter-bad-line", ["front matter", "malformed front matter line 'this is not yaml'"] },
        { "front-matter-schema", ["front matter", "schema '1.0.0' is not supported"] },
        { "front-matter-help-file", ["front matter", "'external help file: Other.dll-Help.xml' but this build writes Ipv6Dind.dll-Help.xml"] },
        { "syntax-stale", ["SYNTAX 'ByCount'", "does not list -Force"] },
        { "syntax-unknown-parameter", ["SYNTAX 'ByLength'", "lists -Bogus, but PARAMETERS does not document -Bogus"] },
        { "unknown-set", ["PARAMETERS -Count", "'Parameter Sets' names 'ByCnt', which SYNTAX does not list"] },
        { "bad-required", ["PARAMETERS -Count", "'Required: Yes' must be True or False"] },
        { "unknown-section", ["EXTRAS", "unknown section '## EXTRAS'"] },
    };

    [Theory]
    [MemberData(nameof(InvalidPages))]
    public void Invalid_page_fails_with_exit_1_naming_file_and_section(string problem, string[] expected)
    {
        var original = HelpTestFiles.Sample("Split-HelpSample.md");
        var page = Mutate(original, problem);
        Assert.NotEqual(original, page);

        var docs = Path.Combine(_temp, "docs");
        Directory.CreateDirectory(docs);
        File.WriteAllText(Path.Combine(docs, "Split-HelpSample.md"), page);
        File.WriteAllText(Path.Combine(docs, "Get-HelpSample.md"), HelpTestFiles.Sample("Get-HelpSample.md"));
        var outFile = Path.Combine(_temp, "out", "Ipv6Dind.dll-Help.xml");

        Assert.Equal(1, Run(["--docs", docs, "--out", outFile], out var stdout, out var stderr));
        Assert.Equal("", stdout);
        var line = stderr.Split('\n').FirstOrDefault(l => l.Contains("Split-HelpSample.md") && l.Contains(expected[1], StringComparison.Ordinal));
        Assert.True(line != null, $"no line naming the file and '{expected[1]}' in:\n{stderr}");
        Assert.Contains($": {expected[0]}: ", line);
        Assert.Contains("error IPV6HELP", line); // MSBuild's canonical format: the build lists it as an error at that file
        Assert.DoesNotContain("Get-HelpSample.md", stderr);
        Assert.False(File.Exists(outFile));
    }

    [Fact]
    public void Command_line_errors()
    {
        Assert.Equal(2, Run([], out _, out var e1));
        Assert.Contains("usage:", e1);
        Assert.Equal(2, Run(["--docs", _temp], out _, out _)); // --out required without --check
        Assert.Equal(2, Run(["--docs", _temp, "--out", "x", "--bogus"], out _, out var e2));
        Assert.Contains("'--bogus'", e2);

        // No docs folder (git keeps no empty folder): a warning and an empty help file, so a fresh clone builds.
        var noDocsOut = Path.Combine(_temp, "n", "Ipv6Dind.dll-Help.xml");
        Assert.Equal(0, Run(["--docs", Path.Combine(_temp, "none"), "--out", noDocsOut], out _, out var e3));
        Assert.Contains("warning IPV6HELP: docs folder not found", e3);
        Assert.Empty(XDocument.Load(noDocsOut).Root!.Elements());

        // An empty docs folder is fine: no cmdlets yet, an empty but valid MAML file.
        var empty = Path.Combine(_temp, "empty");
        Directory.CreateDirectory(empty);
        var outFile = Path.Combine(_temp, "o", "Ipv6Dind.dll-Help.xml");
        Assert.Equal(0, Run(["--docs", empty, "--out", outFile], out var stdout, out _));
        Assert.Contains("help: 0 cmdlet pages -> ", stdout);
        Assert.Empty(XDocument.Load(outFile).Root!.Elements());
    }

    [Fact]
    public void The_built_tool_exits_1_on_a_bad_page_and_0_on_good_ones()
    {
        // The same binary the module build runs: exit codes and streams through a real process.
        var tool = Path.Combine(AppContext.BaseDirectory, "Ipv6Dind.HelpBuilder.dll");
        Assert.True(File.Exists(tool), tool);
        var docs = HelpTestFiles.CopySamples(Path.Combine(_temp, "docs"));
        var outFile = Path.Combine(_temp, "out", "Ipv6Dind.dll-Help.xml");

        var (code, stdout, _) = RunProcess(tool, "--docs", docs, "--out", outFile);
        Assert.Equal(0, code);
        Assert.Equal($"help: 2 cmdlet pages -> {outFile}", stdout.Trim());

        File.WriteAllText(Path.Combine(docs, "Get-HelpSample.md"),
            HelpTestFiles.Sample("Get-HelpSample.md").Replace("Gets the sample greeting.", "{{ Fill in the Synopsis }}"));
        (code, _, var stderr) = RunProcess(tool, "--docs", docs, "--out", outFile);
        Assert.Equal(1, code);
        Assert.Contains("Get-HelpSample.md(11): error IPV6HELP: SYNOPSIS: PlatyPS placeholder '{{ Fill in the Synopsis }}' was not replaced", stderr);
    }

    private static string Mutate(string page, string problem) => problem switch
    {
        "synopsis-empty" => page.Replace("Splits an IPv6 prefix into smaller subnets.\n", ""),
        "synopsis-missing" => page.Replace("## SYNOPSIS\nSplits an IPv6 prefix into smaller subnets.\n", ""),
        "description-empty" => Between(page, "## DESCRIPTION\n", "## EXAMPLES", ""),
        "description-missing" => Between(page, "## DESCRIPTION\n", "## EXAMPLES", "").Replace("## DESCRIPTION\n", ""),
        "examples-missing" => Between(page, "## EXAMPLES\n", "## PARAMETERS", "").Replace("## EXAMPLES\n", ""),
        "examples-none" => Between(page, "## EXAMPLES\n", "## PARAMETERS", "\n"),
        "example-without-code" => page.Replace("```powershell\nPS> Split-HelpSample -Prefix 2001:db8::/32 -Count 4\n```\n\n```output\n2001:db8::/34\n```\n", ""),
        "placeholder" => page.Replace("How many subnets to make.", "{{ Fill Count Description }}"),
        "placeholder-example" => page.Replace("PS> Split-HelpSample fd00:10::/48 -SubnetLength 64 -First 2", "PS C:\\> {{ Add example code here }}"),
        "parameter-without-yaml" => Between(page, "Returns only the first N subnets.\n", "### -Force", "\n"),
        "title-differs" => page.Replace("# Split-HelpSample\n", "# Split-HelpSamples\n"),
        "front-matter-missing" => page[page.IndexOf("# Split-HelpSample", StringComparison.Ordinal)..],
        "front-matter-unclosed" => page.Replace("schema: 2.0.0\n---\n", "schema: 2.0.0\n"),
        "front-matter-bad-line" => page.Replace("online version:\n", "online version:\nthis is not yaml\n"),
        "front-matter-schema" => page.Replace("schema: 2.0.0", "schema: 1.0.0"),
        "front-matter-help-file" => page.Replace("external help file: Ipv6Dind.dll-Help.xml", "external help file: Other.dll-Help.xml"),
        "syntax-stale" => page.Replace("-Count <Int32> [-First <Int32>] [-Mode <String>] [-Force] [-WhatIf]", "-Count <Int32> [-First <Int32>] [-Mode <String>] [-WhatIf]"),
        "syntax-unknown-parameter" => page.Replace("[-SubnetLength] <Int32> [-First", "[-SubnetLength] <Int32> [-Bogus] [-First"),
        "unknown-set" => page.Replace("Parameter Sets: ByCount", "Parameter Sets: ByCnt"),
        "bad-required" => page.Replace("Parameter Sets: ByCount\nAliases:\n\nRequired: True", "Parameter Sets: ByCount\nAliases:\n\nRequired: Yes"),
        "unknown-section" => page.Replace("## NOTES", "## EXTRAS\nMore.\n\n## NOTES"),
        _ => throw new ArgumentOutOfRangeException(nameof(problem)),
    };

    private static string Between(string s, string start, string end, string replacement)
    {
        int a = s.IndexOf(start, StringComparison.Ordinal) + start.Length;
        int b = s.IndexOf(end, a, StringComparison.Ordinal);
        return s[..a] + replacement + s[b..];
    }

    private static string RemoveParameter(string page, string name)
    {
        int a = page.IndexOf($"### -{name}\n", StringComparison.Ordinal);
        int b = page.IndexOf("\n### ", a + 1, StringComparison.Ordinal) + 1;
        return page[..a] + page[b..];
    }

    private (XDocument Doc, string Stdout) BuildSamples()
    {
        var outFile = Path.Combine(_temp, "samples-out", "Ipv6Dind.dll-Help.xml");
        Assert.Equal(0, Run(["--docs", HelpTestFiles.SamplesDir, "--out", outFile], out var stdout, out var stderr));
        Assert.Equal("", stderr);
        return (XDocument.Load(outFile), stdout);
    }

    private XDocument BuildPage(string fileName, string page)
    {
        var docs = Path.Combine(_temp, "page-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(docs);
        File.WriteAllText(Path.Combine(docs, fileName), page);
        var outFile = Path.Combine(docs, "out", "Ipv6Dind.dll-Help.xml");
        Assert.True(Run(["--docs", docs, "--out", outFile], out _, out var stderr) == 0, stderr);
        return XDocument.Load(outFile);
    }

    private static int Run(string[] args, out string stdout, out string stderr)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = HelpBuilderCli.Run(args, o, e);
        stdout = o.ToString();
        stderr = e.ToString();
        return code;
    }

    private static (int Code, string Stdout, string Stderr) RunProcess(string dll, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "help builder did not exit");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static XElement Command(XDocument doc, string name) =>
        doc.Root!.Elements(Cmd + "command").Single(c => c.Element(Cmd + "details")!.Element(Cmd + "name")!.Value == name);

    private static List<string> Paras(XElement? e) => e!.Elements(Maml + "para").Select(p => p.Value).ToList();

    private static List<string> ParamNames(XElement e) => e.Elements(Cmd + "parameter").Select(p => p.Element(Maml + "name")!.Value).ToList();

    private static XElement Param(XElement e, string name) =>
        e.Elements(Cmd + "parameter").Single(p => p.Element(Maml + "name")!.Value == name);
}

/// <summary>
/// Get-Help in the hosted engine reads the generated MAML. Two cmdlets compiled into this test assembly match the
/// sample pages, so the MAML shape is proven whatever the module exports today; their help file is given by full
/// path, which PowerShell loads directly (CommandHelpProvider.GetHelpFile).
/// </summary>
public sealed class HelpBuilderEngineTests : IDisposable
{
    private readonly string _temp = HelpTestFiles.NewTempDir();
    private readonly PowerShell _ps;

    public HelpBuilderEngineTests()
    {
        var maml = Path.Combine(_temp, "Ipv6Dind.dll-Help.xml");
        using (var o = new StringWriter())
        using (var e = new StringWriter())
            Assert.True(HelpBuilderCli.Run(["--docs", HelpTestFiles.SamplesDir, "--out", maml], o, e) == 0, e.ToString());

        var iss = InitialSessionState.CreateDefault2();
        iss.Commands.Add(new SessionStateCmdletEntry("Split-HelpSample", typeof(SplitHelpSampleCommand), maml));
        iss.Commands.Add(new SessionStateCmdletEntry("Get-HelpSample", typeof(GetHelpSampleCommand), maml));
        _ps = PowerShell.Create(iss);
    }

    public void Dispose()
    {
        _ps.Dispose();
        HelpTestFiles.Delete(_temp);
    }

    [Fact]
    public void Get_Help_full_shows_the_page_content()
    {
        HelpEngine.Invoke(_ps, "$h = Get-Help Split-HelpSample -Full");
        string One(string expr) => Assert.Single(HelpEngine.Strings(_ps, expr));

        Assert.Equal("Splits an IPv6 prefix into smaller subnets.", One("$h.Synopsis"));
        // The engine ends every paragraph but the last with a newline (that is how Get-Help spaces them).
        var description = HelpEngine.Strings(_ps, "$h.description.Text");
        Assert.Equal(5, description.Count);
        Assert.Equal("- by the length of each subnet (`-SubnetLength`);\n", description[2]);
        Assert.EndsWith("for the address format.", description[4]);

        Assert.Equal("2", One("@($h.syntax.syntaxItem).Count"));
        Assert.Equal(["Prefix", "SubnetLength", "First", "Mode", "Force", "WhatIf", "Confirm"],
            HelpEngine.Strings(_ps, "@($h.syntax.syntaxItem)[0].parameter | ForEach-Object name"));
        Assert.Equal(["Sequential", "Sparse"],
            HelpEngine.Strings(_ps, "(@($h.syntax.syntaxItem)[0].parameter | Where-Object name -eq Mode).parameterValueGroup.parameterValue"));

        HelpEngine.Invoke(_ps, "$p = $h.parameters.parameter | Where-Object name -eq Prefix");
        Assert.Equal("true", One("$p.required"));
        Assert.Equal("0", One("$p.position"));
        Assert.Equal("True (ByPropertyName, ByValue)", One("$p.pipelineInput"));
        Assert.Equal("Network", One("$p.aliases"));
        Assert.Equal("The prefix to split, in CIDR notation.", One("$p.description.Text"));
        Assert.Equal("String", One("$p.type.name"));
        Assert.Equal("SwitchParameter", One("($h.parameters.parameter | Where-Object name -eq Force).type.name"));

        Assert.Equal("2", One("@($h.examples.example).Count"));
        Assert.Equal("--------------- Example 1: Split a /48 into /64s ---------------", One("$h.examples.example[0].title"));
        Assert.Equal("PS> Split-HelpSample fd00:10::/48 -SubnetLength 64 -First 2", One("$h.examples.example[0].code"));
        Assert.Equal(["The first two /64 subnets of the /48.\n", "Use `-First` to keep the output short."],
            HelpEngine.Strings(_ps, "$h.examples.example[0].remarks.Text"));

        Assert.Equal("System.String", One("$h.inputTypes.inputType.type.name"));
        Assert.Equal("Ipv6Dind.Ipv6Subnet", One("$h.returnValues.returnValue.type.name"));
        Assert.Equal("Subnets are computed, not allocated: nothing is reserved anywhere.", One("$h.alertSet.alert.Text"));
        Assert.Equal(["Split-HelpSample online", "Get-HelpSample"], HelpEngine.Strings(_ps, "$h.relatedLinks.navigationLink.linkText"));
        Assert.Equal("https://example.invalid/Split-HelpSample", One("$h.relatedLinks.navigationLink[0].uri"));

        // Help found through the MAML file, not made up from the cmdlet's metadata.
        Assert.True(HelpEngine.HasMamlHelp(_ps, "Split-HelpSample", out var why), why);
        Assert.True(HelpEngine.HasMamlHelp(_ps, "Get-HelpSample", out why), why);
    }

    [Fact]
    public void A_cmdlet_without_maml_is_told_apart()
    {
        // Guards the module test below: without a help file Get-Help makes help up from the syntax.
        var iss = InitialSessionState.CreateDefault2();
        iss.Commands.Add(new SessionStateCmdletEntry("Get-HelpSample", typeof(GetHelpSampleCommand), null));
        using var ps = PowerShell.Create(iss);
        Assert.False(HelpEngine.HasMamlHelp(ps, "Get-HelpSample", out var why));
        Assert.Contains("generated syntax", why);
    }

    [Fact]
    public void Help_is_found_in_the_module_folder_when_the_dll_is_in_bin()
    {
        // The module's layout: Name.psd1 and en-US/<dll>-Help.xml at the top, the dll under bin/.
        // PowerShell looks in the module base (CommandHelpProvider.GetHelpFile), so help must be found there.
        var moduleDir = Path.Combine(_temp, "HelpSampleModule");
        var bin = Path.Combine(moduleDir, "bin");
        Directory.CreateDirectory(bin);
        Directory.CreateDirectory(Path.Combine(moduleDir, "en-US"));
        // Same file as already loaded (a copy would be a second assembly of the same identity); reached through a symlink into bin/.
        var testDll = typeof(SplitHelpSampleCommand).Assembly.Location;
        File.CreateSymbolicLink(Path.Combine(bin, Path.GetFileName(testDll)), testDll);
        File.Copy(Path.Combine(_temp, "Ipv6Dind.dll-Help.xml"), Path.Combine(moduleDir, "en-US", Path.GetFileName(testDll) + "-Help.xml"));
        File.WriteAllText(Path.Combine(moduleDir, "HelpSampleModule.psd1"), $$"""
            @{
                RootModule = 'bin/{{Path.GetFileName(testDll)}}'
                ModuleVersion = '1.0.0'
                GUID = '0b9c4f7e-5a55-4d3c-9d2c-6f3f0f1f2a11'
                CmdletsToExport = @('Split-HelpSample', 'Get-HelpSample')
                FunctionsToExport = @()
                AliasesToExport = @()
                VariablesToExport = @()
            }
            """);

        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(Path.Combine(moduleDir, "HelpSampleModule.psd1"));
        iss.ThrowOnRunspaceOpenError = true;
        using var ps = PowerShell.Create(iss);
        Assert.Equal(["Get-HelpSample", "Split-HelpSample"],
            HelpEngine.Strings(ps, "Get-Command -Module HelpSampleModule -CommandType Cmdlet | ForEach-Object Name").Order());
        Assert.True(HelpEngine.HasMamlHelp(ps, "Split-HelpSample", out var why), why);
        Assert.Equal("Splits an IPv6 prefix into smaller subnets.", Assert.Single(HelpEngine.Strings(ps, "(Get-Help Split-HelpSample).Synopsis")));
    }

    [Fact]
    public void Drift_check_compares_page_parameters_with_the_cmdlet()
    {
        Assert.Empty(HelpEngine.DriftProblems(_ps, "Split-HelpSample", Path.Combine(HelpTestFiles.SamplesDir, "Split-HelpSample.md")));
        Assert.Empty(HelpEngine.DriftProblems(_ps, "Get-HelpSample", Path.Combine(HelpTestFiles.SamplesDir, "Get-HelpSample.md")));

        // A page that documents none of the cmdlet's parameters is reported, naming them.
        var problems = HelpEngine.DriftProblems(_ps, "Split-HelpSample", Path.Combine(HelpTestFiles.SamplesDir, "Get-HelpSample.md"));
        Assert.Contains(problems, p => p.Contains("-Prefix") && p.Contains("-SubnetLength") && p.Contains("not documented"));
    }
}

/// <summary>
/// The real module: every exported cmdlet has help Get-Help can read, and docs/*.md match the cmdlets.
/// Fails (by design) while a cmdlet has no page in docs/ or its page lists other parameters.
/// </summary>
public sealed class HelpBuilderModuleTests : IClassFixture<HelpBuilderModuleTests.ModuleEngine>
{
    private readonly ModuleEngine _m;

    public HelpBuilderModuleTests(ModuleEngine m) => _m = m;

    public sealed class ModuleEngine : IDisposable
    {
        public string RepoRoot { get; } = HelpTestFiles.RepoRoot();
        public PowerShell? Ps { get; }
        public string? Error { get; }
        public IReadOnlyList<string> Cmdlets { get; } = [];

        public ModuleEngine()
        {
            var psd1 = Path.Combine(RepoRoot, "out", "Ipv6Dind", "Ipv6Dind.psd1");
            if (!File.Exists(psd1))
            {
                Error = $"module not assembled: {psd1} is missing (build src/Ipv6Dind)";
                return;
            }
            try
            {
                var iss = InitialSessionState.CreateDefault2();
                iss.ImportPSModule(psd1);
                iss.ThrowOnRunspaceOpenError = true;
                Ps = PowerShell.Create(iss);
                var loaded = HelpEngine.Strings(Ps, "(Get-Module Ipv6Dind).ImplementingAssembly.Location");
                var expected = Path.Combine(RepoRoot, "out", "Ipv6Dind", "bin", "Ipv6Dind.dll");
                if (loaded.Count != 1)
                    Error = $"{psd1} did not import";
                else if (!string.Equals(Path.GetFullPath(loaded[0]), expected, StringComparison.Ordinal))
                    // Otherwise the module exports nothing and every check here would pass without checking anything.
                    Error = $"the module's root assembly resolved to {loaded[0]}, not {expected} (assembly names compare case-insensitively: another assembly of that name is loaded or on this process's load path)";
                else
                    Cmdlets = HelpEngine.Strings(Ps, "Get-Command -Module Ipv6Dind -CommandType Cmdlet | ForEach-Object Name");
            }
            catch (Exception ex)
            {
                Error = $"importing {psd1} failed: {ex.Message}";
            }
        }

        public void Dispose() => Ps?.Dispose();
    }

    [Fact]
    public void Every_exported_cmdlet_has_full_help()
    {
        Assert.True(_m.Error == null, _m.Error);
        var problems = new List<string>();
        foreach (var name in _m.Cmdlets)
        {
            if (!HelpEngine.HasMamlHelp(_m.Ps!, name, out var why)) problems.Add($"{name}: {why}");
        }
        Assert.True(problems.Count == 0, "Get-Help problems (en-US/Ipv6Dind.dll-Help.xml is built from docs/<cmdlet>.md):\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Docs_pages_document_exactly_the_cmdlet_parameters()
    {
        Assert.True(_m.Error == null, _m.Error);
        var problems = new List<string>();
        foreach (var name in _m.Cmdlets)
        {
            var page = Path.Combine(_m.RepoRoot, "docs", name + ".md");
            if (!File.Exists(page)) problems.Add($"{name}: no page docs/{name}.md");
            else problems.AddRange(HelpEngine.DriftProblems(_m.Ps!, name, page));
        }
        Assert.True(problems.Count == 0, "help drift:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Every_docs_page_names_an_exported_cmdlet()
    {
        Assert.True(_m.Error == null, _m.Error);
        var docs = Path.Combine(_m.RepoRoot, "docs");
        var pages = Directory.Exists(docs) ? Directory.GetFiles(docs, "*.md") : [];
        var orphans = pages
            .Where(HelpBuilderCli.IsCmdletPage)
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => !_m.Cmdlets.Contains(n!, StringComparer.Ordinal))
            .ToList();
        Assert.True(orphans.Count == 0, $"docs pages for no exported cmdlet: {string.Join(", ", orphans.Select(o => $"docs/{o}.md"))} (exported: {string.Join(", ", _m.Cmdlets)})");
    }
}

internal static class HelpEngine
{
    // Parameters every cmdlet gets from the engine; they are documented by "### CommonParameters", not one by one.
    // WhatIf/Confirm: a page may list them or not (PlatyPS lists them).
    private static readonly HashSet<string> Common = new(StringComparer.OrdinalIgnoreCase)
    {
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable",
        "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable", "WhatIf", "Confirm",
    };

    public static Collection<PSObject> Invoke(PowerShell ps, string script)
    {
        ps.Commands.Clear();
        ps.Streams.Error.Clear();
        ps.AddScript(script);
        var result = ps.Invoke();
        if (ps.Streams.Error.Count > 0)
            throw new InvalidOperationException($"{script}: {string.Join("; ", ps.Streams.Error.Select(e => e.ToString()))}");
        return result;
    }

    public static List<string> Strings(PowerShell ps, string script) =>
        Invoke(ps, script).Where(o => o != null).Select(o => o.BaseObject?.ToString() ?? "").ToList();

    /// <summary>Get-Help -Full came from MAML: a real synopsis (not the syntax PowerShell makes up), a description, an example.</summary>
    public static bool HasMamlHelp(PowerShell ps, string name, out string why)
    {
        var help = Invoke(ps, $"Get-Help -Name '{name}' -Full");
        if (help.Count != 1) { why = $"Get-Help returned {help.Count} objects"; return false; }
        var h = help[0];
        var synopsis = (h.Properties["Synopsis"]?.Value?.ToString() ?? "").Trim();
        var problems = new List<string>();
        if (synopsis.Length == 0) problems.Add("empty synopsis");
        else if (synopsis.Equals(name, StringComparison.OrdinalIgnoreCase) || synopsis.StartsWith(name + " ", StringComparison.OrdinalIgnoreCase)
                 || synopsis.Contains("[<CommonParameters>]", StringComparison.Ordinal))
            problems.Add($"synopsis is the generated syntax ('{synopsis.Split('\n')[0].Trim()}'), so no MAML was found for it");

        ps.Runspace.SessionStateProxy.SetVariable("__help", h);
        if (Strings(ps, "$__help.description | ForEach-Object Text").All(string.IsNullOrWhiteSpace)) problems.Add("empty description");
        if (Strings(ps, "@($__help.examples.example).Where({ $_ }).Count").SingleOrDefault() is not { } n || n == "0") problems.Add("no example");
        why = string.Join(", ", problems);
        return problems.Count == 0;
    }

    /// <summary>Names documented in the page versus the cmdlet's own parameters (common ones and WhatIf/Confirm aside).</summary>
    public static List<string> DriftProblems(PowerShell ps, string name, string page)
    {
        var issues = new List<HelpIssue>();
        var documented = MarkdownHelpParser.DocumentedParameters(page, issues);
        if (documented == null) return issues.Select(i => $"{name}: {i}").ToList();

        var actual = Strings(ps, $"(Get-Command -Name '{name}').Parameters.Keys").Where(k => !Common.Contains(k)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var docs = documented.Where(k => !Common.Contains(k)).ToHashSet(StringComparer.OrdinalIgnoreCase);

        var problems = new List<string>();
        var missing = actual.Except(docs, StringComparer.OrdinalIgnoreCase).Order().ToList();
        var extra = docs.Except(actual, StringComparer.OrdinalIgnoreCase).Order().ToList();
        if (missing.Count > 0) problems.Add($"{name}: parameters not documented in {Path.GetFileName(page)}: {string.Join(", ", missing.Select(m => "-" + m))}");
        if (extra.Count > 0) problems.Add($"{name}: {Path.GetFileName(page)} documents parameters the cmdlet does not have: {string.Join(", ", extra.Select(m => "-" + m))}");
        return problems;
    }
}

internal static class HelpTestFiles
{
    public static string SamplesDir => Path.Combine(AppContext.BaseDirectory, "TestData", "help");

    /// <summary>A sample page with LF line ends (whatever git checked out), so tests can edit it by text.</summary>
    public static string Sample(string name) => File.ReadAllText(Path.Combine(SamplesDir, name)).Replace("\r\n", "\n");

    public static string CopySamples(string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(SamplesDir, "*.md")) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    public static string NewTempDir()
    {
        // A folder of its own directly in the temp directory: Delete leaves no empty parent behind.
        return Directory.CreateTempSubdirectory("ipv6dind-helpbuilder-").FullName;
    }

    public static void Delete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>The folder holding Ipv6Dind.sln (or .slnx), walking up from the test binaries.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Ipv6Dind.sln")) || File.Exists(Path.Combine(dir.FullName, "Ipv6Dind.slnx")))
                return dir.FullName;
        }
        // Until the solution file exists: the folder with the shared build props and the module project.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")) && Directory.Exists(Path.Combine(dir.FullName, "src", "Ipv6Dind")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no Ipv6Dind.sln above {AppContext.BaseDirectory}");
    }
}

// Stand-ins matching TestData/help/*.md, so the engine test does not depend on what the module exports today.

[Cmdlet(VerbsCommon.Split, "HelpSample", DefaultParameterSetName = "ByLength", SupportsShouldProcess = true)]
public sealed class SplitHelpSampleCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Network")]
    public string Prefix { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "ByLength")]
    public int SubnetLength { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "ByCount")]
    public int Count { get; set; }

    [Parameter]
    public int First { get; set; }

    [Parameter]
    [ValidateSet("Sequential", "Sparse")]
    public string Mode { get; set; } = "Sequential";

    [Parameter]
    public SwitchParameter Force { get; set; }
}

[Cmdlet(VerbsCommon.Get, "HelpSample")]
public sealed class GetHelpSampleCommand : PSCmdlet
{
    protected override void ProcessRecord() => WriteObject("hello");
}
