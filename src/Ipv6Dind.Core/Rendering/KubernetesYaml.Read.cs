using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Rendering;

/// <summary>
/// Reading YAML into the renderers' trees, for the kubeadm patches: values are typed as sigs.k8s.io/yaml types them
/// on its way to JSON (kind's patches go through it), that is by YAML 1.1's implicit rules for plain scalars: yes/no
/// and on/off are booleans, 0777 is octal, ~ is null; anything quoted or tagged !!str is text.
/// </summary>
internal static partial class KubernetesYaml
{
    /// <summary>How deep and how large a tree read from YAML may be: far beyond any kubeadm patch, short of a stack overflow or an alias bomb.</summary>
    internal const int MaxDepth = 64, MaxNodes = 100_000;

    /// <summary>A tree from a parsed YAML node (aliases resolved, every mapping key taken as text).</summary>
    public static Node FromYaml(YamlNode node)
    {
        var count = 0;
        return FromYaml(node, 0, ref count);
    }

    private static Node FromYaml(YamlNode node, int depth, ref int count)
    {
        if (depth > MaxDepth) throw new FormatException($"line {node.Start.Line}: nested more than {MaxDepth} levels deep.");
        if (++count > MaxNodes) throw new FormatException($"it holds more than {MaxNodes} values (aliases included).");
        switch (node)
        {
            case YamlMappingNode map:
                var result = new Map();
                foreach (var (key, value) in map.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                        throw new FormatException($"line {key.Start.Line}: a key is {(key is YamlSequenceNode ? "a list" : "a mapping")}; keys are names.");
                    result.Set(name, FromYaml(value, depth + 1, ref count));
                }
                return result;
            case YamlSequenceNode seq:
                var items = new Seq();
                foreach (var item in seq.Children) items.Add(FromYaml(item, depth + 1, ref count));
                return items;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new FormatException($"line {node.Start.Line}: an unresolved alias.");
        }
    }

    private static Node Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        var tag = scalar.Tag.IsEmpty ? "" : scalar.Tag.Value;
        if (tag is "tag:yaml.org,2002:str" or "!!str" || scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
            return new Text(text);
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL": return Null.Value;
            case "y" or "Y" or "yes" or "Yes" or "YES" or "true" or "True" or "TRUE" or "on" or "On" or "ON": return new Flag(true);
            case "n" or "N" or "no" or "No" or "NO" or "false" or "False" or "FALSE" or "off" or "Off" or "OFF": return new Flag(false);
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF": return new Real(double.PositiveInfinity);
            case "-.inf" or "-.Inf" or "-.INF": return new Real(double.NegativeInfinity);
            case ".nan" or ".NaN" or ".NAN": return new Real(double.NaN);
        }
        if (Integer(text.Replace("_", "")) is { } whole) return new Number(whole);
        if (YamlFloat().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real)) return new Real(real);
        return new Text(text);
    }

    /// <summary>Go's strconv.ParseInt with base 0, as go-yaml reads plain integers: 12, -12, 0x1f, 0o17, 017, 0b101.</summary>
    private static long? Integer(string text)
    {
        var negative = text.StartsWith('-');
        var digits = text.StartsWith('-') || text.StartsWith('+') ? text[1..] : text;
        if (digits.Length == 0) return null;
        int radix;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) (radix, digits) = (16, digits[2..]);
        else if (digits.StartsWith("0b", StringComparison.OrdinalIgnoreCase)) (radix, digits) = (2, digits[2..]);
        else if (digits.StartsWith("0o", StringComparison.OrdinalIgnoreCase)) (radix, digits) = (8, digits[2..]);
        else if (digits.Length > 1 && digits[0] == '0') (radix, digits) = (8, digits[1..]);
        else radix = 10;
        if (digits.Length == 0) return null;
        try
        {
            long value = 0;
            foreach (var c in digits)
            {
                var d = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : c is >= 'A' and <= 'F' ? c - 'A' + 10 : 99;
                if (d >= radix) return null;
                value = checked(value * radix + d);
            }
            return negative ? -value : value;
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex YamlFloat();

    private static string Format(double value) =>
        double.IsPositiveInfinity(value) ? ".inf" : double.IsNegativeInfinity(value) ? "-.inf" : double.IsNaN(value) ? ".nan"
        : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A copy that shares no mapping or sequence with <paramref name="node"/> (scalars are immutable).</summary>
    public static Node DeepClone(Node node)
    {
        switch (node)
        {
            case Map map:
                var copy = new Map();
                foreach (var (key, value, comment) in map.Entries)
                {
                    if (comment is null) copy.Add(key, DeepClone(value));
                    else copy.Add(key, DeepClone(value), comment);
                }
                return copy;
            case Seq seq:
                return new Seq(seq.Items.Select(DeepClone));
            default:
                return node;
        }
    }

    /// <summary>JSON equality: mappings regardless of key order, numbers by value, no type coercion otherwise.</summary>
    public static bool DeepEquals(Node a, Node b) => (a, b) switch
    {
        (Map x, Map y) => x.Entries.Count == y.Entries.Count && x.Entries.All(e => y.Get(e.Key) is { } other && DeepEquals(e.Value, other)),
        (Seq x, Seq y) => x.Items.Count == y.Items.Count && x.Items.Zip(y.Items).All(p => DeepEquals(p.First, p.Second)),
        (Text x, Text y) => x.Value == y.Value,
        (Flag x, Flag y) => x.Value == y.Value,
        (Null, Null) => true,
        (Number or Real, Number or Real) => AsDouble(a).Equals(AsDouble(b)) && (a is not Number m || b is not Number n || m.Value == n.Value),
        _ => false,
    };

    private static double AsDouble(Node n) => n is Number number ? number.Value : ((Real)n).Value;

    /// <summary>The text of a mapping's scalar entry (apiVersion, kind), or null.</summary>
    public static string? TextOf(Map map, string key) => map.Get(key) is Text t ? t.Value : null;

    /// <summary>Parses one YAML document; null for an empty one. Throws FormatException for bad YAML or more than one document.</summary>
    public static Node? ParseDocument(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (Exception ex) when (ex is YamlException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException(ex is YamlException y ? $"line {y.Start.Line}: {y.Message}" : "the text breaks off (an unclosed bracket or quote).", ex);
        }
        if (stream.Documents.Count > 1) throw new FormatException("it holds more than one YAML document.");
        return stream.Documents.Count == 0 ? null : FromYaml(stream.Documents[0].RootNode);
    }

    /// <summary>
    /// Splits a YAML stream into its documents the way kind does (k8s.io/apimachinery's document splitter): at every
    /// line that starts with "---", whatever follows on that line.
    /// </summary>
    public static IReadOnlyList<string> SplitDocuments(string stream)
    {
        var documents = new List<string>();
        var text = stream.Replace("\r\n", "\n");
        var start = 0;
        while (true)
        {
            var separator = text.IndexOf("\n---", start, StringComparison.Ordinal);
            if (separator < 0)
            {
                if (start < text.Length) documents.Add(text[start..]);
                return documents;
            }
            documents.Add(text[start..separator]);
            var lineEnd = text.IndexOf('\n', separator + 4);
            if (lineEnd < 0) return documents;
            start = lineEnd + 1;
        }
    }
}
