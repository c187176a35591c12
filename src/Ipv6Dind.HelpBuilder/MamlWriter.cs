using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Ipv6Dind.HelpBuilder;

/// <summary>
/// Writes MAML in the shape PlatyPS 0.14's New-ExternalHelp produces (its MamlRenderer), which is what
/// PowerShell's help system reads for binary cmdlets from &lt;Assembly&gt;.dll-Help.xml.
/// </summary>
internal static class MamlWriter
{
    public static readonly XNamespace Msh = "http://msh";
    public static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    public static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    public static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
    public static readonly XNamespace MSHelp = "http://msdn.microsoft.com/mshelp";

    public static XDocument Build(IEnumerable<CommandHelp> commands) =>
        new(new XDeclaration("1.0", "utf-8", null),
            new XElement(Msh + "helpItems",
                new XAttribute("schema", "maml"),
                commands.Select(CommandElement)));

    /// <summary>UTF-8 (no BOM), LF line ends, two-space indent: the same bytes on every machine.</summary>
    public static byte[] Serialize(XDocument doc)
    {
        var settings = new XmlWriterSettings
        {
            Encoding = new UTF8Encoding(false),
            Indent = true,
            IndentChars = "  ",
            NewLineChars = "\n",
            NewLineHandling = NewLineHandling.Replace,
        };
        using var ms = new MemoryStream();
        using (var w = XmlWriter.Create(ms, settings)) doc.Save(w);
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    private static XElement CommandElement(CommandHelp c) =>
        new(Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XAttribute(XNamespace.Xmlns + "MSHelp", MSHelp),
            new XElement(Command + "details",
                new XElement(Command + "name", c.Name),
                new XElement(Command + "verb", c.Verb),
                new XElement(Command + "noun", c.Noun),
                new XElement(Maml + "description", Paras(c.Synopsis))),
            new XElement(Maml + "description", Paras(c.Description)),
            new XElement(Command + "syntax", c.Syntax.Select(s => SyntaxItem(c, s))),
            new XElement(Command + "parameters", c.Parameters.Select(p => Parameter(p, p.Variants[0], inSyntax: false))),
            new XElement(Command + "inputTypes", c.Inputs.Select(t => TypeElement("inputType", t))),
            new XElement(Command + "returnValues", c.Outputs.Select(t => TypeElement("returnValue", t))),
            c.Notes.Count == 0 ? null : new XElement(Maml + "alertSet", new XElement(Maml + "alert", Paras(c.Notes))),
            new XElement(Command + "examples", c.Examples.Select(Example)),
            new XElement(Command + "relatedLinks", c.Links.Select(l =>
                new XElement(Maml + "navigationLink",
                    new XElement(Maml + "linkText", Clean(l.Text)),
                    new XElement(Maml + "uri", l.Uri)))));

    private static XElement SyntaxItem(CommandHelp c, SyntaxItem s) =>
        new(Command + "syntaxItem",
            new XElement(Maml + "name", c.Name),
            s.Parameters.Select(x => Parameter(x.Parameter, x.Variant, inSyntax: true)));

    private static XElement Parameter(ParameterHelp p, ParameterVariant v, bool inSyntax)
    {
        var type = v.IsSwitch ? "SwitchParameter" : v.Type;
        return new XElement(Command + "parameter",
            new XAttribute("required", v.Required ? "true" : "false"),
            new XAttribute("variableLength", "true"),
            new XAttribute("globbing", v.Globbing ? "true" : "false"),
            new XAttribute("pipelineInput", v.PipelineInput),
            new XAttribute("position", v.Position?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "named"),
            new XAttribute("aliases", v.Aliases.Count > 0 ? string.Join(", ", v.Aliases) : "none"),
            new XElement(Maml + "name", p.Name),
            // The syntax diagram never shows a parameter's description, so it is written once, under parameters.
            inSyntax ? null : new XElement(Maml + "description", Paras(p.Description)),
            inSyntax && v.AcceptedValues.Count > 0
                ? new XElement(Command + "parameterValueGroup", v.AcceptedValues.Select(a =>
                    new XElement(Command + "parameterValue", new XAttribute("required", "false"), new XAttribute("variableLength", "false"), a)))
                : null,
            // PlatyPS's rule: a switch shows as [-Name] in syntax, so no value element there.
            inSyntax && v.IsSwitch
                ? null
                : new XElement(Command + "parameterValue",
                    new XAttribute("required", v.IsSwitch ? "false" : "true"),
                    new XAttribute("variableLength", "false"),
                    type),
            new XElement(Dev + "type", new XElement(Maml + "name", type), new XElement(Maml + "uri")),
            new XElement(Dev + "defaultValue",
                v.IsSwitch && v.DefaultValue.Equals("None", StringComparison.OrdinalIgnoreCase) ? "False" : v.DefaultValue));
    }

    private static XElement TypeElement(string element, TypeHelp t) =>
        new(Command + element,
            new XElement(Dev + "type", new XElement(Maml + "name", t.TypeName)),
            new XElement(Maml + "description", Paras(t.Description)));

    private static XElement Example(ExampleHelp e) =>
        new(Command + "example",
            new XElement(Maml + "title", PadTitle(e.Title)),
            new XElement(Dev + "code", Clean(e.Code)),
            new XElement(Dev + "remarks", Paras(e.Remarks)));

    private static IEnumerable<XElement> Paras(IEnumerable<string> paragraphs) =>
        paragraphs.Select(p => new XElement(Maml + "para", Clean(p)));

    /// <summary>
    /// Get-Help prints the title as is; PlatyPS pads it with dashes to 64 characters so examples stand apart:
    /// "-------------------------- Example 1: Split --------------------------".
    /// </summary>
    internal static string PadTitle(string title)
    {
        title = MarkdownText.RenderInline(title).Trim();
        if (title.Length == 0 || title.Length >= 62) return title;
        int pad = (64 - title.Length - 2) / 2;
        var dashes = new string('-', pad);
        return $"{dashes} {title} {dashes}";
    }

    // XML 1.0 cannot carry most control characters; a stray one in a page must not break the build's XML.
    private static string Clean(string s) =>
        s.Any(ch => !XmlConvert.IsXmlChar(ch) && !char.IsSurrogate(ch))
            ? new string(s.Where(ch => XmlConvert.IsXmlChar(ch) || char.IsSurrogate(ch)).ToArray())
            : s;
}
