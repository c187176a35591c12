namespace Ipv6Dind.HelpBuilder;

// The parsed content of one PlatyPS page: what the MAML writer needs, nothing about markdown.
// Text is kept as a list of paragraphs, one MAML <maml:para> each.

internal sealed class CommandHelp
{
    public required string Name { get; init; }
    public required string SourceFile { get; init; }
    public List<string> Synopsis { get; } = [];
    public List<string> Description { get; } = [];
    public List<SyntaxItem> Syntax { get; } = [];
    public List<ParameterHelp> Parameters { get; } = [];
    public List<TypeHelp> Inputs { get; } = [];
    public List<TypeHelp> Outputs { get; } = [];
    public List<string> Notes { get; } = [];
    public List<ExampleHelp> Examples { get; } = [];
    public List<LinkHelp> Links { get; } = [];
    public bool SupportsCommonParameters { get; set; }

    public string Verb => Name.Split('-', 2)[0];
    public string Noun => Name.Contains('-') ? Name.Split('-', 2)[1] : "";
}

internal sealed class ParameterHelp
{
    public required string Name { get; init; }
    public List<string> Description { get; } = [];

    // One per ```yaml block; PlatyPS writes several when Required/Position differ between sets.
    public List<ParameterVariant> Variants { get; } = [];

    public bool IsSwitch => Variants.Count > 0 && Variants[0].IsSwitch;
}

internal sealed record ParameterVariant(
    string Type,
    IReadOnlyList<string>? Sets, // null = (All)
    IReadOnlyList<string> Aliases,
    IReadOnlyList<string> AcceptedValues,
    bool Required,
    int? Position, // null = Named
    string DefaultValue,
    string PipelineInput,
    bool Globbing)
{
    public bool IsSwitch =>
        Type.Equals("SwitchParameter", StringComparison.OrdinalIgnoreCase)
        || Type.Equals("System.Management.Automation.SwitchParameter", StringComparison.OrdinalIgnoreCase)
        || Type.Equals("switch", StringComparison.OrdinalIgnoreCase);
}

internal sealed record SyntaxItem(string? SetName, bool IsDefault, IReadOnlyList<(ParameterHelp Parameter, ParameterVariant Variant)> Parameters);

internal sealed record TypeHelp(string TypeName, IReadOnlyList<string> Description);

internal sealed record ExampleHelp(string Title, string Code, IReadOnlyList<string> Remarks);

internal sealed record LinkHelp(string Text, string Uri);

/// <summary>One problem in one page; printed in MSBuild's canonical error format so the build shows it as an error at that file and line.</summary>
internal sealed record HelpIssue(string File, int Line, string Section, string Message)
{
    public override string ToString() =>
        Line > 0
            ? $"{File}({Line}): error IPV6HELP: {Section}: {Message}"
            : $"{File}: error IPV6HELP: {Section}: {Message}";
}
