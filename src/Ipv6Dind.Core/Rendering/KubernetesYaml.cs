using System.Collections;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Ipv6Dind.Core.Rendering;

/// <summary>
/// Ordered YAML trees for the Kubernetes renderers, written by YamlDotNet's emitter (the event layer
/// under its serializer). The emitter does all quoting and escaping; this class only decides the
/// order of keys, where comments go, and which scalars must be quoted. A serializer over dictionaries
/// could do neither comments between keys nor a fixed quoting rule, and both matter here: kubeadm's
/// string-typed args ("true", "80") must stay strings, and the conntrack reason belongs in the file.
/// </summary>
internal static partial class KubernetesYaml
{
    /// <summary>A YAML value: mapping, sequence or scalar. Strings, ints and bools convert implicitly.</summary>
    internal abstract class Node
    {
        public static implicit operator Node(string value) => new Text(value);
        public static implicit operator Node(int value) => new Number(value);
        public static implicit operator Node(bool value) => new Flag(value);
    }

    /// <summary>A block mapping that keeps insertion order; an entry may carry a comment written above it.</summary>
    internal sealed class Map : Node, IEnumerable
    {
        private readonly List<(string Key, Node Value, string? Comment)> _entries = new();

        public IReadOnlyList<(string Key, Node Value, string? Comment)> Entries => _entries;

        public void Add(string key, Node value) => _entries.Add((key, value, null));

        /// <summary>Adds an entry with a comment line (or lines, split on \n) above its key.</summary>
        public void Add(string key, Node value, string comment) => _entries.Add((key, value, comment));

        /// <summary>The value of <paramref name="key"/>, or null.</summary>
        public Node? Get(string key)
        {
            var i = IndexOf(key);
            return i < 0 ? null : _entries[i].Value;
        }

        /// <summary>Replaces the value of <paramref name="key"/> where it stands (its comment, about the old value, goes), or appends it.</summary>
        public void Set(string key, Node value)
        {
            var i = IndexOf(key);
            if (i < 0) _entries.Add((key, value, null));
            else _entries[i] = (key, value, null);
        }

        /// <summary>Removes <paramref name="key"/>; false when it is not there.</summary>
        public bool Remove(string key)
        {
            var i = IndexOf(key);
            if (i < 0) return false;
            _entries.RemoveAt(i);
            return true;
        }

        private int IndexOf(string key) => _entries.FindIndex(e => e.Key == key);

        IEnumerator IEnumerable.GetEnumerator() => _entries.GetEnumerator();
    }

    /// <summary>A block sequence (an empty one is written as []).</summary>
    internal sealed class Seq : Node, IEnumerable
    {
        private readonly List<Node> _items = new();

        public Seq() { }

        public Seq(IEnumerable<Node> items) => _items.AddRange(items);

        public IReadOnlyList<Node> Items => _items;

        public void Add(Node item) => _items.Add(item);

        public void Insert(int index, Node item) => _items.Insert(index, item);

        public void RemoveAt(int index) => _items.RemoveAt(index);

        public Node this[int index]
        {
            get => _items[index];
            set => _items[index] = value;
        }

        IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();
    }

    internal sealed class Text(string value) : Node
    {
        public string Value { get; } = value;
    }

    internal sealed class Number(long value) : Node
    {
        public long Value { get; } = value;
    }

    internal sealed class Flag(bool value) : Node
    {
        public bool Value { get; } = value;
    }

    /// <summary>YAML null (a merge patch's "delete this key"; a value a JSON patch may set).</summary>
    internal sealed class Null : Node
    {
        public static readonly Null Value = new();

        private Null() { }
    }

    /// <summary>A number that is not a whole one (1.5, 1e-3), written as it is.</summary>
    internal sealed class Real(double value) : Node
    {
        public double Value { get; } = value;
    }

    /// <summary>
    /// Writes one or more documents ("---" between them) with LF line ends and a final newline.
    /// <paramref name="header"/> becomes comment lines before the first document.
    /// </summary>
    public static string Write(IEnumerable<Node> documents, string? header = null)
    {
        var writer = new StringWriter { NewLine = "\n" };
        var emitter = new Emitter(writer);
        emitter.Emit(new StreamStart());
        if (header is not null) EmitComment(emitter, header);
        foreach (var document in documents)
        {
            emitter.Emit(new DocumentStart(null, null, isImplicit: true));
            EmitNode(emitter, document);
            emitter.Emit(new DocumentEnd(isImplicit: true));
        }
        emitter.Emit(new StreamEnd());
        var text = writer.ToString().Replace("\r\n", "\n");
        return text.EndsWith('\n') ? text : text + "\n";
    }

    public static string Write(Node document, string? header = null) => Write(new[] { document }, header);

    private static void EmitNode(IEmitter emitter, Node node)
    {
        switch (node)
        {
            case Map map:
                emitter.Emit(new MappingStart(null, null, isImplicit: true, MappingStyle.Block));
                foreach (var (key, value, comment) in map.Entries)
                {
                    if (comment is not null) EmitComment(emitter, comment);
                    EmitText(emitter, key);
                    EmitNode(emitter, value);
                }
                emitter.Emit(new MappingEnd());
                break;
            case Seq seq:
                // An empty block sequence cannot be written; "[]" is what kubeadm's docs use (e.g. taints: []).
                var style = seq.Items.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block;
                emitter.Emit(new SequenceStart(null, null, isImplicit: true, style));
                foreach (var item in seq.Items) EmitNode(emitter, item);
                emitter.Emit(new SequenceEnd());
                break;
            case Text text:
                EmitText(emitter, text.Value);
                break;
            case Number number:
                emitter.Emit(new Scalar(null, null, number.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), ScalarStyle.Plain, true, false));
                break;
            case Flag flag:
                emitter.Emit(new Scalar(null, null, flag.Value ? "true" : "false", ScalarStyle.Plain, true, false));
                break;
            case Null:
                emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                break;
            case Real real:
                emitter.Emit(new Scalar(null, null, Format(real.Value), ScalarStyle.Plain, true, false));
                break;
            default:
                throw new InvalidOperationException($"Unknown YAML node {node.GetType().Name}.");
        }
    }

    /// <summary>
    /// Strings are plain only when nothing could read them as anything but a string: a letter first,
    /// then letters, digits and . _ / - only, and not a YAML 1.1 boolean or null word (sigs.k8s.io/yaml,
    /// which kubeadm uses, resolves yes/no/on/off). Everything else (addresses, CIDRs, "true", "80",
    /// "0%", URLs) is double-quoted, so the text never depends on the emitter's own guesses.
    /// </summary>
    private static void EmitText(IEmitter emitter, string value)
    {
        var plain = SafePlain().IsMatch(value) && !Yaml11Words.Contains(value);
        emitter.Emit(plain
            ? new Scalar(null, null, value, ScalarStyle.Plain, true, false)
            : new Scalar(null, null, value, ScalarStyle.DoubleQuoted, false, true));
    }

    private static void EmitComment(IEmitter emitter, string comment)
    {
        foreach (var line in comment.Replace("\r\n", "\n").Split('\n'))
            emitter.Emit(new Comment(line, isInline: false));
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9._/-]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafePlain();

    private static readonly HashSet<string> Yaml11Words = new(StringComparer.Ordinal)
    {
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
        "null", "Null", "NULL",
    };
}
