// The semantics follow kubernetes-sigs/kind pkg/internal/patch (kubeyaml.go: every merge patch, then every RFC 6902
// patch, on each document; resource.go: a patch applies to the documents of its kind, and of its apiVersion when it
// names one; mergepatch.go: a patch string may hold several documents; kubeadm_merge.go: on kubeadm v1beta4 documents
// extraArgs and kubeletExtraArgs merge by name, map-form patches included, and certSANs are added to, not replaced)
// and pkg/cluster/internal/create/actions/config/config.go (cluster patches before the node's own; the
// "metadata: {name: config}" kind's template carries for matching is removed afterwards). RFC 6902 as
// evanphx/json-patch applies it: add replaces an existing member, replace and remove need the target to exist.
using static Ipv6Dind.Core.Rendering.KubernetesYaml;

namespace Ipv6Dind.Core.Rendering;

/// <summary>
/// kind's kubeadmConfigPatches and kubeadmConfigPatchesJSON6902 applied to rendered kubeadm documents. Pure: the
/// documents are changed in place, nothing else is touched. Parse errors and patches that cannot apply throw
/// <see cref="FormatException"/> with a message that names the patch; callers add where it came from.
/// </summary>
internal static class KubeadmPatches
{
    /// <summary>The kinds of document a kubeadm configuration holds: patches of other kinds match nothing.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> RenderedKinds = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["InitConfiguration"] = new[] { KubeadmRenderer.V1Beta3, KubeadmRenderer.V1Beta4 },
        ["ClusterConfiguration"] = new[] { KubeadmRenderer.V1Beta3, KubeadmRenderer.V1Beta4 },
        ["JoinConfiguration"] = new[] { KubeadmRenderer.V1Beta3, KubeadmRenderer.V1Beta4 },
        ["KubeletConfiguration"] = new[] { KubeletConfigRenderer.ApiVersion },
        ["KubeProxyConfiguration"] = new[] { KubeProxyConfigRenderer.ApiVersion },
    };

    /// <summary>One document of a merge patch: what it matches and the mapping merged in.</summary>
    internal sealed record MergePatch(string Kind, string ApiVersion, Map Body);

    /// <summary>An RFC 6902 patch: what it matches and its operations.</summary>
    internal sealed record JsonPatch(string Kind, string ApiVersion, IReadOnlyList<Operation> Operations);

    /// <summary>One RFC 6902 operation; <see cref="Value"/> is set for add, replace and test (it may be <see cref="Null"/>).</summary>
    internal sealed record Operation(string Op, string Path, string? From, Node? Value);

    /// <summary>
    /// The documents of a merge patch string (split at "---" lines as kind splits them). Empty documents are left
    /// out; each other one must be a mapping, whose kind and apiVersion (when given) say what it patches.
    /// </summary>
    public static IReadOnlyList<MergePatch> ParseMerge(string text)
    {
        var patches = new List<MergePatch>();
        var documents = SplitDocuments(text ?? "");
        for (var i = 0; i < documents.Count; i++)
        {
            var which = documents.Count > 1 ? $"document {i + 1}: " : "";
            Node? node;
            try { node = ParseDocument(documents[i]); }
            catch (FormatException ex) { throw new FormatException($"{which}not valid YAML: {ex.Message}", ex); }
            if (node is null or Null) continue;
            if (node is not Map map)
                throw new FormatException($"{which}a merge patch is a YAML mapping with the kind it patches (e.g. 'kind: ClusterConfiguration'), not {Describe(node)}.");
            patches.Add(new MergePatch(Identity(map, "kind", which), Identity(map, "apiVersion", which), map));
        }
        return patches;
    }

    /// <summary>An RFC 6902 patch: a YAML or JSON list of {op, path, value, from}.</summary>
    public static JsonPatch ParseJson6902(KubeadmJson6902Patch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        Node? node;
        try { node = ParseDocument(patch.Patch ?? ""); }
        catch (FormatException ex) { throw new FormatException($"the patch is not valid YAML or JSON: {ex.Message}", ex); }
        if (node is not Seq seq)
            throw new FormatException($"the patch is {(node is null ? "empty" : Describe(node))}, but it is a list of operations (e.g. '- op: add', 'path: /apiServer/certSANs/-', 'value: my-hostname').");
        var operations = new List<Operation>();
        for (var i = 0; i < seq.Items.Count; i++)
        {
            var at = $"operation {i + 1}";
            if (seq.Items[i] is not Map op)
                throw new FormatException($"{at} is {Describe(seq.Items[i])}, not a mapping of op, path (and value or from).");
            var name = op.Get("op") is Text t ? t.Value : throw new FormatException($"{at} has no op; use add, remove, replace, move, copy or test.");
            if (name is not ("add" or "remove" or "replace" or "move" or "copy" or "test"))
                throw new FormatException($"{at}: '{name}' is not an RFC 6902 operation; use add, remove, replace, move, copy or test.");
            var path = op.Get("path") is Text p ? p.Value : throw new FormatException($"{at} ({name}) has no path (a JSON pointer such as /apiServer/certSANs/-).");
            Pointer(path, $"{at} ({name}): path");
            string? from = null;
            if (name is "move" or "copy")
            {
                from = op.Get("from") is Text f ? f.Value : throw new FormatException($"{at} ({name}) has no from (the JSON pointer it takes the value from).");
                Pointer(from, $"{at} ({name}): from");
            }
            var value = op.Get("value");
            if (name is "add" or "replace" or "test" && value is null)
                throw new FormatException($"{at} ({name} {path}) has no value.");
            operations.Add(new Operation(name, path, from, name is "add" or "replace" or "test" ? value : null));
        }
        return new JsonPatch(patch.Kind ?? "", patch.ApiVersion, operations);
    }

    /// <summary>
    /// Applies the merge patches, then the RFC 6902 patches, to every document they match, in order (kind's
    /// KubeYAML). A document matches a patch of its kind whose apiVersion is empty or its own; what a document is
    /// matched as is read before any patch applies. <paramref name="describeJson"/> names a JSON patch in errors.
    /// </summary>
    public static void Apply(IReadOnlyList<Map> documents, IReadOnlyList<MergePatch> merges, IReadOnlyList<JsonPatch> jsons, Func<int, string> describeJson)
    {
        foreach (var document in documents)
        {
            var kind = TextOf(document, "kind") ?? "";
            var apiVersion = TextOf(document, "apiVersion") ?? "";
            bool Matches(string patchKind, string patchApiVersion) =>
                patchKind == kind && (patchApiVersion.Length == 0 || patchApiVersion == apiVersion);

            foreach (var merge in merges.Where(m => Matches(m.Kind, m.ApiVersion)))
                Merge(document, merge.Body, apiVersion.EndsWith("v1beta4", StringComparison.Ordinal));
            for (var i = 0; i < jsons.Count; i++)
            {
                if (!Matches(jsons[i].Kind, jsons[i].ApiVersion)) continue;
                foreach (var (operation, n) in jsons[i].Operations.Select((o, n) => (o, n)))
                {
                    try { ApplyOperation(document, operation); }
                    catch (FormatException ex)
                    {
                        throw new FormatException($"{describeJson(i)}, operation {n + 1} ({operation.Op} {operation.Path}) on the {kind}: {ex.Message}", ex);
                    }
                }
            }
        }
    }

    /// <summary>
    /// kind's KubeYAML on text: the documents of <paramref name="yamlStream"/> with the merge patches, then the
    /// RFC 6902 patches, applied, written again (comments are not kept).
    /// </summary>
    public static string ApplyToYaml(string yamlStream, IEnumerable<string> mergePatches, IEnumerable<KubeadmJson6902Patch> jsonPatches)
    {
        var documents = SplitDocuments(yamlStream)
            .Select(d => ParseDocument(d))
            .Where(d => d is not null and not Null)
            .Select(d => d as Map ?? throw new FormatException($"a document to patch is {Describe(d!)}, not a mapping."))
            .ToList();
        var jsons = jsonPatches.ToList();
        Apply(documents, mergePatches.SelectMany(ParseMerge).ToList(), jsons.Select(ParseJson6902).ToList(), i => $"JSON 6902 patch {i + 1} ({jsons[i]})");
        return KubernetesYaml.Write(documents);
    }

    /// <summary>Drops "metadata: {name: config}", which kind's patches may carry from kind's template (kubeadm refuses it).</summary>
    public static void RemoveKindMetadata(IEnumerable<Map> documents)
    {
        foreach (var document in documents)
            if (document.Get("metadata") is Map { Entries.Count: 1 } metadata && TextOf(metadata, "name") == "config")
                document.Remove("metadata");
    }

    /// <summary>
    /// RFC 7386 merge (a null deletes, a mapping merges, anything else replaces), with kind's kubeadm rules:
    /// extraArgs and kubeletExtraArgs of a v1beta4 document merge by name, certSANs are added to.
    /// </summary>
    private static void Merge(Map target, Map patch, bool v1beta4)
    {
        foreach (var (key, value, _) in patch.Entries)
        {
            if (v1beta4 && key is "extraArgs" or "kubeletExtraArgs")
            {
                MergeArgs(target, key, value);
                continue;
            }
            if (key == "certSANs")
            {
                if (value is Seq sans)
                {
                    var merged = target.Get(key) as Seq ?? new Seq();
                    foreach (var san in sans.Items.Where(s => !merged.Items.Any(t => DeepEquals(t, s))))
                        merged.Add(DeepClone(san));
                    target.Set(key, merged);
                }
                continue;
            }
            switch (value)
            {
                case Null:
                    target.Remove(key);
                    break;
                case Map nested:
                    if (target.Get(key) is not Map existing)
                    {
                        existing = new Map();
                        target.Set(key, existing);
                    }
                    Merge(existing, nested, v1beta4);
                    break;
                default:
                    target.Set(key, DeepClone(value));
                    break;
            }
        }
    }

    /// <summary>
    /// v1beta4's argument lists ({name, value} entries): a patch entry replaces the value of the first argument of
    /// its name, a null value removes that argument, a new name is appended. The v1beta3 map form (name: value) is
    /// read as such a list, so kind's unversioned patches written for v1beta3 work on v1beta4 too.
    /// </summary>
    private static void MergeArgs(Map target, string key, Node patch)
    {
        var args = target.Get(key) switch
        {
            Seq seq => seq,
            Map map => new Seq(map.Entries.Select(e => (Node)new Map { { "name", e.Key }, { "value", e.Value } })),
            _ => new Seq(),
        };
        var entries = patch switch
        {
            Seq seq => seq.Items.OfType<Map>().Select(m => (Name: TextOf(m, "name"), Value: m.Get("value") ?? Null.Value)),
            Map map => map.Entries.Select(e => (Name: (string?)e.Key, e.Value)),
            _ => Enumerable.Empty<(string? Name, Node Value)>(),
        };
        foreach (var (name, value) in entries)
        {
            if (name is null) continue;
            var index = -1;
            for (var i = 0; i < args.Items.Count && index < 0; i++)
                if (args[i] is Map arg && TextOf(arg, "name") == name) index = i;
            if (index >= 0 && value is Null) args.RemoveAt(index);
            else if (index >= 0) ((Map)args[index]).Set("value", DeepClone(value));
            else if (value is not Null) args.Add(new Map { { "name", name }, { "value", DeepClone(value) } });
        }
        target.Set(key, args);
    }

    private static void ApplyOperation(Map document, Operation op)
    {
        var path = Pointer(op.Path, "path");
        switch (op.Op)
        {
            case "add": Add(document, path, DeepClone(op.Value!)); break;
            case "remove": Remove(document, path); break;
            case "replace":
                if (path.Count == 0) ReplaceDocument(document, op.Value!);
                else Put(Resolve(document, path.Take(path.Count - 1)), path[^1], DeepClone(op.Value!), insert: false);
                break;
            case "move":
                var from = Pointer(op.From!, "from");
                if (op.From == op.Path) break;
                if (op.Path.StartsWith(op.From + "/", StringComparison.Ordinal))
                    throw new FormatException($"cannot move {op.From} into its own child {op.Path}.");
                var moved = Resolve(document, from);
                Remove(document, from);
                Add(document, path, moved);
                break;
            case "copy": Add(document, path, DeepClone(Resolve(document, Pointer(op.From!, "from")))); break;
            case "test":
                var actual = Resolve(document, path);
                if (!DeepEquals(actual, op.Value!))
                    throw new FormatException($"the test failed: the value is {Show(actual)}, not {Show(op.Value!)}.");
                break;
        }
    }

    private static void Add(Map document, IReadOnlyList<string> path, Node value)
    {
        if (path.Count == 0) ReplaceDocument(document, value);
        else Put(Resolve(document, path.Take(path.Count - 1)), path[^1], value, insert: true);
    }

    private static void Remove(Map document, IReadOnlyList<string> path)
    {
        if (path.Count == 0) throw new FormatException("the whole document cannot be removed.");
        var parent = Resolve(document, path.Take(path.Count - 1));
        var last = path[^1];
        switch (parent)
        {
            case Map map:
                if (!map.Remove(last)) throw new FormatException($"there is no '{last}' to remove.");
                break;
            case Seq seq:
                seq.RemoveAt(Index(last, seq.Items.Count, end: false));
                break;
            default:
                throw new FormatException($"'{last}' is below {Describe(parent)}, which has no members.");
        }
    }

    /// <summary>Sets a member: in a mapping, adds or (insert false: only) replaces; in a list, inserts (or "-" appends) or replaces.</summary>
    private static void Put(Node parent, string last, Node value, bool insert)
    {
        switch (parent)
        {
            case Map map:
                if (!insert && map.Get(last) is null) throw new FormatException($"there is no '{last}' to replace.");
                map.Set(last, value);
                break;
            case Seq seq when insert && last == "-":
                seq.Add(value);
                break;
            case Seq seq when insert:
                seq.Insert(Index(last, seq.Items.Count, end: true), value);
                break;
            case Seq seq:
                seq[Index(last, seq.Items.Count, end: false)] = value;
                break;
            default:
                throw new FormatException($"'{last}' is below {Describe(parent)}, which has no members.");
        }
    }

    private static void ReplaceDocument(Map document, Node value)
    {
        if (value is not Map map) throw new FormatException($"a document is a mapping, not {Describe(value)}.");
        foreach (var key in document.Entries.Select(e => e.Key).ToList()) document.Remove(key);
        foreach (var (key, v, _) in map.Entries) document.Set(key, DeepClone(v));
    }

    private static Node Resolve(Node root, IEnumerable<string> tokens)
    {
        var node = root;
        var walked = "";
        foreach (var token in tokens)
        {
            node = node switch
            {
                Map map => map.Get(token) ?? throw new FormatException($"there is no '{token}' at {(walked.Length == 0 ? "the top" : walked)}."),
                Seq seq => seq[Index(token, seq.Items.Count, end: false)],
                _ => throw new FormatException($"{(walked.Length == 0 ? "the top" : walked)} is {Describe(node)}, which has no member '{token}'."),
            };
            walked += "/" + token.Replace("~", "~0").Replace("/", "~1");
        }
        return node;
    }

    /// <summary>An array index of RFC 6901 (no sign, no leading zero) into a list of <paramref name="count"/> entries; <paramref name="end"/>: count itself too (an insert at the end).</summary>
    private static int Index(string token, int count, bool end)
    {
        if (token.Length == 0 || token.Length > 9 || !token.All(char.IsAsciiDigit) || (token.Length > 1 && token[0] == '0'))
            throw new FormatException($"'{token}' is not a list index (0, 1, ...{(end ? "; '-' appends" : "")}).");
        var index = int.Parse(token, System.Globalization.CultureInfo.InvariantCulture);
        if (index > count || (index == count && !end))
            throw new FormatException($"index {index} is past the end of the list, which has {count} entr{(count == 1 ? "y" : "ies")}.");
        return index;
    }

    /// <summary>RFC 6901: "" is the document, otherwise "/"-separated tokens with ~1 for "/" and ~0 for "~".</summary>
    private static IReadOnlyList<string> Pointer(string pointer, string what)
    {
        if (pointer.Length == 0) return Array.Empty<string>();
        if (pointer[0] != '/') throw new FormatException($"{what} '{pointer}' is not a JSON pointer: it starts with '/' (e.g. /apiServer/certSANs/-).");
        return pointer[1..].Split('/').Select(t => t.Replace("~1", "/").Replace("~0", "~")).ToList();
    }

    private static string Identity(Map map, string key, string which) => map.Get(key) switch
    {
        null or Null => "",
        Text t => t.Value,
        var other => throw new FormatException($"{which}{key} is {Describe(other)}, not a name."),
    };

    private static string Describe(Node node) => node switch
    {
        Map => "a mapping",
        Seq => "a list",
        Text t => $"the text '{t.Value}'",
        Null => "null",
        _ => $"the value {Show(node)}",
    };

    private static string Show(Node node) => KubernetesYaml.Write(node).TrimEnd('\n').Replace("\n", " ");
}
