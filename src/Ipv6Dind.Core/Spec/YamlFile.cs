using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Spec;

/// <summary>
/// Reads one hand-written YAML document as a node tree that keeps positions, so that every complaint can say
/// "file:line". Shared by our own spec format (strict) and the Lazyjack importer (lenient about unknown keys,
/// strict about types). Values are read by the schema of the caller, never by YAML's implicit typing.
/// </summary>
internal static class YamlFile
{
    /// <summary>The root node of the only document in <paramref name="text"/>; throws SpecFileInvalid for a syntax error, an empty file or a second document.</summary>
    public static YamlNode LoadSingleDocument(string text, string source, string what)
    {
        var parser = new TrackingParser(new Parser(new StringReader(text)));
        var stream = new YamlStream();
        try
        {
            stream.Load(parser);
        }
        catch (YamlException ex)
        {
            throw Invalid(source, ex.Start, $"the {what} is not valid YAML: {ex.Message}", "Fix the YAML syntax at that line.", category: DindErrorCategory.ParserError);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet's scanner throws these (not YamlException) on some truncated input, e.g. an unclosed '['.
            throw Invalid(source, parser.LastMark, $"the {what} is not valid YAML (the text ends or breaks off after this line).",
                "Close every bracket and quote that this line opens.", category: DindErrorCategory.ParserError);
        }

        if (stream.Documents.Count > 1)
            throw Invalid(source, parser.DocumentStarts.Count > 1 ? parser.DocumentStarts[1] : stream.Documents[1].RootNode.Start,
                $"a second YAML document starts here; a {what} holds exactly one.", "Remove the '---' separator and the second document, or split them into two files.");
        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
            throw Invalid(source, Mark.Empty, // an empty document has no better place than the top of the file
                $"the {what} is empty.", what == "spec file" ? "Export a spec with Export-DindClusterSpec to see the format." : null);
        return stream.Documents[0].RootNode;
    }

    /// <summary>The top-level mapping of the only document; SpecFileInvalid when the document is a list or a value.</summary>
    /// <param name="what">What the file is, for messages ("spec file", "kind config").</param>
    /// <param name="objectName">What its mapping describes ("a DindCluster object").</param>
    /// <param name="valid">How such a file starts.</param>
    public static YamlMappingNode LoadTopMapping(string text, string source, string what, string objectName, string valid)
    {
        var root = LoadSingleDocument(text, source, what);
        return root as YamlMappingNode ?? throw Invalid(source, root.Start, $"the {what} holds {Describe(root)}, not {objectName}.", valid);
    }

    /// <summary>Line of a node (1-based); 1 for positionless marks.</summary>
    public static long Line(Mark mark) => Math.Max(1, mark.Line);

    public static DindException Invalid(string source, Mark at, string message, string? valid = null, object? target = null,
        string? field = null, DindErrorCategory category = DindErrorCategory.InvalidData) =>
        new(ErrorIds.SpecFileInvalid, category, $"{source}:{Line(at)}: {message}{(valid is null ? "" : " " + valid)}",
            target ?? $"{source}:{Line(at)}", field, valid);

    /// <summary>An unknown key: names it, its line and the valid keys (and the nearest one, for typos).</summary>
    public static DindException Unknown(string source, YamlNode keyNode, string path, string key, IReadOnlyList<string> valid)
    {
        var where = path.Length == 0 ? "the top level" : path;
        var suggestion = Suggest(key, valid);
        var fullKey = path.Length == 0 ? key : $"{path}.{key}";
        var validText = $"Valid fields of {where}: {string.Join(", ", valid)}.";
        return new DindException(ErrorIds.SpecFieldUnknown, DindErrorCategory.InvalidData,
            $"{source}:{Line(keyNode.Start)}: unknown field '{fullKey}'{(suggestion is null ? "" : $" (did you mean '{suggestion}'?)")}. {validText}",
            fullKey, fullKey, validText);
    }

    /// <summary>YAML null: an empty plain value, '~' or 'null'. Treated as "not given".</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && s.Value is null or "" or "~" or "null" or "Null" or "NULL";

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an alias",
    };

    /// <summary>The entries of a mapping with scalar keys, in file order.</summary>
    public static IEnumerable<(string Key, YamlNode KeyNode, YamlNode Value)> Entries(YamlMappingNode map, string source, string path)
    {
        foreach (var entry in map.Children)
        {
            if (entry.Key is not YamlScalarNode { Value: not null } key)
                throw Invalid(source, entry.Key.Start, $"{(path.Length == 0 ? "a key" : $"a key under {path}")} is {Describe(entry.Key)}; keys are plain names.");
            yield return (key.Value, entry.Key, entry.Value);
        }
    }

    /// <summary>A nested mapping; null when the value is YAML null (an empty section).</summary>
    public static YamlMappingNode? Mapping(YamlNode node, string source, string path)
    {
        if (IsNull(node)) return null;
        return node as YamlMappingNode ?? throw Invalid(source, node.Start,
            $"{path} is {Describe(node)}, but it is a section: indent its fields below it (e.g. '{path}:' then '  name: value').", target: path, field: path);
    }

    /// <summary>A text value; null when not given. Any scalar is accepted as text (a version written as 1.31 is the text "1.31").</summary>
    public static string? Text(YamlNode node, string source, string path)
    {
        if (IsNull(node)) return null;
        if (node is YamlScalarNode s) return s.Value ?? "";
        throw Invalid(source, node.Start, $"{path} is {Describe(node)}; it takes a single value.", target: path, field: path);
    }

    /// <summary>A whole number; null when not given. A quoted number is text, as in YAML, and refused.</summary>
    public static int? Integer(YamlNode node, string source, string path)
    {
        if (IsNull(node)) return null;
        if (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s &&
            int.TryParse(s.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            return value;
        var quoted = node is YamlScalarNode { Style: ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted } q && int.TryParse(q.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
        throw Invalid(source, node.Start,
            quoted ? $"{path} is the quoted text {Describe(node)}, not a number." : $"{path} is {Describe(node)}, not a whole number.",
            quoted ? $"Write it without quotes, e.g. '{path.Split('.')[^1]}: {((YamlScalarNode)node).Value}'." : $"Give a whole number, e.g. '{path.Split('.')[^1]}: 3'.",
            target: node is YamlScalarNode t ? t.Value : path, field: path);
    }

    /// <summary>
    /// A boolean; null when not given. YAML 1.2 spellings (true/false) always; the YAML 1.1 ones (yes/no/on/off/y/n)
    /// only for files of tools that read YAML 1.1 (Lazyjack's go-yaml v2 does).
    /// </summary>
    public static bool? Boolean(YamlNode node, string source, string path, bool yaml11 = false)
    {
        if (IsNull(node)) return null;
        if (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s)
        {
            switch (s.Value)
            {
                case "true" or "True" or "TRUE": return true;
                case "false" or "False" or "FALSE": return false;
                case "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "y" or "Y" when yaml11: return true;
                case "no" or "No" or "NO" or "off" or "Off" or "OFF" or "n" or "N" when yaml11: return false;
            }
        }
        throw Invalid(source, node.Start, $"{path} is {Describe(node)}, not true or false.", "Write true or false, without quotes.",
            target: node is YamlScalarNode t ? t.Value : path, field: path);
    }

    /// <summary>A list of text values; null when not given.</summary>
    public static string[]? TextList(YamlNode node, string source, string path)
    {
        if (IsNull(node)) return null;
        if (node is not YamlSequenceNode seq)
            throw Invalid(source, node.Start, $"{path} is {Describe(node)}, but it takes a list.",
                $"Write a list, e.g. '{path.Split('.')[^1]}: [198.51.100.53]'.", target: node is YamlScalarNode t ? t.Value : path, field: path);
        var items = new List<string>(seq.Children.Count);
        foreach (var item in seq.Children)
        {
            if (item is not YamlScalarNode s || IsNull(item))
                throw Invalid(source, item.Start, $"an entry of {path} is {(IsNull(item) ? "empty" : Describe(item))}; each entry is one value.", target: path, field: path);
            items.Add(s.Value ?? "");
        }
        return items.ToArray();
    }

    /// <summary>The valid key nearest to a misspelt one (edit distance at most 2, or a case-only difference).</summary>
    public static string? Suggest(string key, IEnumerable<string> valid)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in valid)
        {
            if (string.Equals(candidate, key, StringComparison.OrdinalIgnoreCase)) return candidate;
            var d = Distance(key.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (candidate, d);
        }
        return bestDistance <= 2 ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    /// <summary>Remembers where parsing got to, for the exceptions that carry no position.</summary>
    private sealed class TrackingParser : IParser
    {
        private readonly IParser _inner;

        public TrackingParser(IParser inner) => _inner = inner;

        public Mark LastMark { get; private set; } = Mark.Empty;

        /// <summary>Where each document starts: its '---' when it has one.</summary>
        public List<Mark> DocumentStarts { get; } = new();

        public ParsingEvent? Current => _inner.Current;

        public bool MoveNext()
        {
            var moved = _inner.MoveNext();
            if (_inner.Current is not null) LastMark = _inner.Current.Start;
            if (_inner.Current is DocumentStart start) DocumentStarts.Add(start.Start);
            return moved;
        }
    }
}
