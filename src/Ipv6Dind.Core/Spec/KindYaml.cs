using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Spec;

/// <summary>
/// Reading the parts a kind config and an Ipv6Dind spec file share, under kind's own field names: name-to-value
/// maps, lists of sections, mounts, port mappings and RFC 6902 patch entries. Both readers are strict about
/// unknown fields; only the YAML 1.1 booleans (yes/no) differ: kind's decoder takes them, our spec files do not.
/// </summary>
internal static class KindYaml
{
    public static readonly string[] MountFields = { "hostPath", "containerPath", "readOnly", "selinuxRelabel", "propagation" };
    public static readonly string[] PortMappingFields = { "containerPort", "hostPort", "listenAddress", "protocol" };
    public static readonly string[] Json6902Fields = { "group", "version", "kind", "patch" };

    /// <summary>The entries of a mapping (empty for YAML null), in file order.</summary>
    public static IEnumerable<(string Key, YamlNode KeyNode, YamlNode Value)> Map(YamlNode node, string source, string path) =>
        YamlFile.Mapping(node, source, path) is { } map ? YamlFile.Entries(map, source, path) : Enumerable.Empty<(string, YamlNode, YamlNode)>();

    /// <summary>name: text pairs (any scalar as its text).</summary>
    public static Dictionary<string, string> TextMap(YamlNode node, string source, string path) =>
        Map(node, source, path).ToDictionary(e => e.Key, e => YamlFile.Text(e.Value, source, $"{path}.{e.Key}") ?? "", StringComparer.Ordinal);

    /// <summary>A list of sections, each with its path (path[i]); empty for YAML null. An empty entry is refused.</summary>
    public static IEnumerable<(YamlMappingNode Map, string Path)> Sections(YamlNode node, string source, string path)
    {
        if (YamlFile.IsNull(node)) yield break;
        if (node is not YamlSequenceNode seq)
            throw YamlFile.Invalid(source, node.Start, $"{path} is {YamlFile.Describe(node)}, but it takes a list.", target: path, field: path);
        for (var i = 0; i < seq.Children.Count; i++)
            yield return (YamlFile.Mapping(seq.Children[i], source, $"{path}[{i}]") ?? throw YamlFile.Invalid(source, seq.Children[i].Start,
                $"{path}[{i}] is empty; each entry is a section of fields.", target: path, field: path), $"{path}[{i}]");
    }

    /// <summary>Reads a list of sections field by field; an unknown field is SpecFieldUnknown naming <paramref name="valid"/>.</summary>
    private static List<T> Read<T>(YamlNode node, string source, string path, string[] valid, Func<YamlMappingNode, T> make, Func<T, string, YamlNode, string, bool> field)
    {
        var items = new List<T>();
        foreach (var (map, itemPath) in Sections(node, source, path))
        {
            var item = make(map);
            foreach (var (key, keyNode, value) in YamlFile.Entries(map, source, itemPath))
                if (!field(item, key, value, $"{itemPath}.{key}"))
                    throw YamlFile.Unknown(source, keyNode, itemPath, key, valid);
            items.Add(item);
        }
        return items;
    }

    public static List<DindNodeMount> Mounts(YamlNode node, string source, string path, bool yaml11) =>
        Read(node, source, path, MountFields, _ => new DindNodeMount(), (m, key, value, p) =>
        {
            switch (key)
            {
                case "hostPath": m.HostPath = YamlFile.Text(value, source, p) ?? ""; return true;
                case "containerPath": m.ContainerPath = YamlFile.Text(value, source, p) ?? ""; return true;
                case "readOnly": m.ReadOnly = YamlFile.Boolean(value, source, p, yaml11) ?? false; return true;
                case "selinuxRelabel": m.SelinuxRelabel = YamlFile.Boolean(value, source, p, yaml11) ?? false; return true;
                case "propagation": m.Propagation = YamlFile.Text(value, source, p) ?? ""; return true;
                default: return false;
            }
        });

    public static List<DindPortMapping> PortMappings(YamlNode node, string source, string path) =>
        Read(node, source, path, PortMappingFields, _ => new DindPortMapping(), (m, key, value, p) =>
        {
            switch (key)
            {
                case "containerPort": m.ContainerPort = YamlFile.Integer(value, source, p) ?? 0; return true;
                case "hostPort": m.HostPort = YamlFile.Integer(value, source, p) ?? 0; return true;
                case "listenAddress": m.ListenAddress = YamlFile.Text(value, source, p) ?? ""; return true;
                case "protocol": m.Protocol = YamlFile.Text(value, source, p) ?? ""; return true;
                default: return false;
            }
        });

    /// <summary>An RFC 6902 patch entry as read, with the node of its patch text (for the line of a complaint).</summary>
    public sealed class Json6902Entry
    {
        public KubeadmJson6902Patch Patch { get; } = new();
        /// <summary>The entry's mapping.</summary>
        public required YamlNode Node { get; init; }
        public YamlNode? PatchNode { get; set; }
    }

    /// <summary>
    /// RFC 6902 patch entries {group, version, kind, patch}. <paramref name="other"/> may take further fields (kind's
    /// ignored name and namespace) and returns whether it did; <paramref name="valid"/> is then the list to name.
    /// </summary>
    public static List<Json6902Entry> Json6902(YamlNode node, string source, string path,
        Func<string, YamlNode, string, bool>? other = null, string[]? valid = null) =>
        Read(node, source, path, valid ?? Json6902Fields, map => new Json6902Entry { Node = map }, (entry, key, value, p) =>
        {
            switch (key)
            {
                case "group": entry.Patch.Group = YamlFile.Text(value, source, p) ?? ""; return true;
                case "version": entry.Patch.Version = YamlFile.Text(value, source, p) ?? ""; return true;
                case "kind": entry.Patch.Kind = YamlFile.Text(value, source, p) ?? ""; return true;
                case "patch": entry.Patch.Patch = YamlFile.Text(value, source, p) ?? ""; entry.PatchNode = value; return true;
                default: return other?.Invoke(key, value, p) ?? false;
            }
        });
}
