using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Spec;

/// <summary>
/// Ipv6Dind's own spec file, shaped like a kind config so that it reads as a Kubernetes-style object:
/// <code>
/// apiVersion: ipv6dind.io/v1alpha1
/// kind: DindCluster
/// metadata:
///   name: lab
/// spec:
///   nodes: 3
///   ...
/// </code>
/// Written through YamlDotNet's emitter in a fixed field order with every field present, so that an export is
/// deterministic and diffs cleanly. Read strictly: an unknown field, a wrong type, a second document or a foreign
/// apiVersion is an error naming the file and line, never something silently dropped.
/// </summary>
public static partial class SpecYaml
{
    public const string ApiVersion = "ipv6dind.io/v1alpha1";
    public const string Kind = "DindCluster";

    private static readonly string[] TopFields = { "apiVersion", "kind", "metadata", "spec" };
    private static readonly string[] MetadataFields = { "name" };
    private static readonly string[] SpecFields =
    {
        "nodes", "subnet", "managementPrefix", "podPrefix", "podNodePrefixLength", "servicePrefix",
        "nat64Prefix", "nat64Pool", "dns64", "mtu", "cni", "calicoBlockSize", "calicoManifest", "kubernetesVersion", "nodeImage",
        "featureGates", "runtimeConfig", "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902", "containerdConfigPatches", "nodeSettings",
    };
    private static readonly string[] Dns64Fields = { "upstream", "allowAaaa" };
    private static readonly string[] NodeSettingsFields = { "node", "labels", "extraMounts", "extraPortMappings", "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902" };

    /// <summary>The spec as YAML text: every field, fixed order, LF line ends, trailing newline.</summary>
    public static string Serialize(DindClusterSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        // LF on every platform; a wide line so that no value is ever folded.
        var emitter = new Emitter(writer, new EmitterSettings().WithNewLine("\n").WithBestWidth(1000));

        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        emitter.Emit(new MappingStart());
        Text(emitter, "apiVersion", ApiVersion);
        Text(emitter, "kind", Kind);

        Key(emitter, "metadata");
        emitter.Emit(new MappingStart());
        Text(emitter, "name", spec.ClusterName);
        emitter.Emit(new MappingEnd());

        Key(emitter, "spec");
        emitter.Emit(new MappingStart());
        Number(emitter, "nodes", spec.Nodes);
        Text(emitter, "subnet", spec.Subnet);
        Text(emitter, "managementPrefix", spec.ManagementPrefix);
        Text(emitter, "podPrefix", spec.PodPrefix);
        Number(emitter, "podNodePrefixLength", spec.PodNodePrefixLength);
        Text(emitter, "servicePrefix", spec.ServicePrefix);
        Text(emitter, "nat64Prefix", spec.Nat64Prefix);
        Text(emitter, "nat64Pool", spec.Nat64Pool);
        Key(emitter, "dns64");
        emitter.Emit(new MappingStart());
        Key(emitter, "upstream");
        // Flow style: resolver lists are short and read best on one line ("upstream: [198.51.100.53]").
        emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, isImplicit: true, SequenceStyle.Flow));
        foreach (var upstream in spec.Dns64Upstream ?? Array.Empty<string>())
            Value(emitter, upstream);
        emitter.Emit(new SequenceEnd());
        Key(emitter, "allowAaaa");
        Plain(emitter, spec.AllowAaaa ? "true" : "false");
        emitter.Emit(new MappingEnd());
        // Unset (0) stays unwritten, so a spec file without it reads and writes back as it was.
        if (spec.Mtu != 0) Number(emitter, "mtu", spec.Mtu);
        Text(emitter, "cni", spec.Cni);
        Number(emitter, "calicoBlockSize", spec.CalicoBlockSize);
        // Only Calico labs have one: other specs read as before.
        if (!string.IsNullOrEmpty(spec.CalicoManifest)) Text(emitter, "calicoManifest", spec.CalicoManifest);
        Text(emitter, "kubernetesVersion", spec.KubernetesVersion);
        Text(emitter, "nodeImage", spec.NodeImage);
        // The Kubernetes settings of a kind config: each written only when set, so that other specs read as before.
        if (spec.FeatureGates is { Count: > 0 } gates)
            TextMap(emitter, "featureGates", gates.ToDictionary(g => g.Key, g => g.Value ? "true" : "false"), plainValues: true);
        if (spec.RuntimeConfig is { Count: > 0 } runtimeConfig) TextMap(emitter, "runtimeConfig", runtimeConfig);
        Patches(emitter, spec.KubeadmConfigPatches, spec.KubeadmConfigPatchesJson6902);
        if (spec.ContainerdConfigPatches is { Count: > 0 } containerd) BlockList(emitter, "containerdConfigPatches", containerd);
        Sections(emitter, "nodeSettings", (spec.NodeSettings ?? new()).Where(n => n is not null && !n.IsEmpty()).OrderBy(n => n.Node).ToList(),
            node => NodeSettings(emitter, node));
        emitter.Emit(new MappingEnd());

        emitter.Emit(new MappingEnd());
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return writer.ToString();
    }

    /// <summary>
    /// Reads a spec file. Fields that are absent stay unset (empty text, 0) so that SpecDefaults.Complete fills them;
    /// the node count, which has no computed default, stays at the model's 1.
    /// </summary>
    /// <param name="yaml">The file's text.</param>
    /// <param name="sourceName">What to call the text in messages: usually the path.</param>
    public static DindClusterSpec Deserialize(string yaml, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var source = string.IsNullOrWhiteSpace(sourceName) ? "<spec>" : sourceName;
        var top = YamlFile.LoadTopMapping(yaml, source, "spec file", "a DindCluster object", $"A spec file starts with 'apiVersion: {ApiVersion}' and 'kind: {Kind}'.");

        // Identity first, so that a foreign file (a kind config, a kubeadm config) is named as such rather than
        // reported field by field.
        var entries = YamlFile.Entries(top, source, "").ToList();
        CheckIdentity(entries, top, source, "apiVersion", ApiVersion);
        CheckIdentity(entries, top, source, "kind", Kind);

        var spec = Blank();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, keyNode, value) in entries)
        {
            switch (key)
            {
                case "apiVersion" or "kind":
                    break;
                case "metadata":
                    var metadata = YamlFile.Mapping(value, source, key);
                    if (metadata is null) break;
                    foreach (var (mKey, mKeyNode, mValue) in YamlFile.Entries(metadata, source, key))
                    {
                        if (mKey != "name") throw YamlFile.Unknown(source, mKeyNode, key, mKey, MetadataFields);
                        spec.ClusterName = YamlFile.Text(mValue, source, "metadata.name") ?? "";
                    }
                    break;
                case "spec":
                    var body = YamlFile.Mapping(value, source, key);
                    if (body is not null) ReadSpec(body, spec, source);
                    break;
                default:
                    throw YamlFile.Unknown(source, keyNode, "", key, TopFields);
            }
        }
        return spec;
    }

    /// <summary>A spec with every optional field unset (the state SpecDefaults.Complete fills in).</summary>
    internal static DindClusterSpec Blank() => new()
    {
        PodNodePrefixLength = 0,
        CalicoBlockSize = 0,
        Cni = "",
    };

    private static void CheckIdentity(List<(string Key, YamlNode KeyNode, YamlNode Value)> entries, YamlMappingNode top, string source, string field, string expected)
    {
        var entry = entries.FirstOrDefault(e => e.Key == field);
        if (entry.Value is null)
            throw YamlFile.Invalid(source, top.Start, $"{field} is missing, so this is not an Ipv6Dind spec file.",
                $"Ipv6Dind spec files start with 'apiVersion: {ApiVersion}' and 'kind: {Kind}'.", field: field);
        var actual = YamlFile.Text(entry.Value, source, field);
        if (actual != expected)
            throw YamlFile.Invalid(source, entry.Value.Start, $"{field} is '{actual}', not '{expected}'.",
                $"Ipv6Dind reads 'apiVersion: {ApiVersion}' with 'kind: {Kind}'; a kind config, a Lazyjack config.yaml or a kubeadm-dind-cluster environment comes in through Import-DindClusterSpec's importers.",
                target: actual, field: field);
    }

    private static void ReadSpec(YamlMappingNode body, DindClusterSpec spec, string source)
    {
        foreach (var (key, keyNode, value) in YamlFile.Entries(body, source, "spec"))
        {
            var path = "spec." + key;
            switch (key)
            {
                case "nodes": spec.Nodes = YamlFile.Integer(value, source, path) ?? spec.Nodes; break;
                case "subnet": spec.Subnet = YamlFile.Text(value, source, path) ?? ""; break;
                case "managementPrefix": spec.ManagementPrefix = YamlFile.Text(value, source, path) ?? ""; break;
                case "podPrefix": spec.PodPrefix = YamlFile.Text(value, source, path) ?? ""; break;
                case "podNodePrefixLength": spec.PodNodePrefixLength = YamlFile.Integer(value, source, path) ?? 0; break;
                case "servicePrefix": spec.ServicePrefix = YamlFile.Text(value, source, path) ?? ""; break;
                case "nat64Prefix": spec.Nat64Prefix = YamlFile.Text(value, source, path) ?? ""; break;
                case "nat64Pool": spec.Nat64Pool = YamlFile.Text(value, source, path) ?? ""; break;
                case "mtu": spec.Mtu = YamlFile.Integer(value, source, path) ?? 0; break;
                case "cni": spec.Cni = YamlFile.Text(value, source, path) ?? ""; break;
                case "calicoBlockSize": spec.CalicoBlockSize = YamlFile.Integer(value, source, path) ?? 0; break;
                case "calicoManifest": spec.CalicoManifest = YamlFile.Text(value, source, path) ?? ""; break;
                case "kubernetesVersion": spec.KubernetesVersion = YamlFile.Text(value, source, path) ?? ""; break;
                case "nodeImage": spec.NodeImage = YamlFile.Text(value, source, path) ?? ""; break;
                case "featureGates":
                    spec.FeatureGates = KindYaml.Map(value, source, path)
                        .ToDictionary(g => g.Key, g => YamlFile.Boolean(g.Value, source, $"{path}.{g.Key}") ?? false, StringComparer.Ordinal);
                    break;
                case "runtimeConfig": spec.RuntimeConfig = KindYaml.TextMap(value, source, path); break;
                case "kubeadmConfigPatches": spec.KubeadmConfigPatches = (YamlFile.TextList(value, source, path) ?? Array.Empty<string>()).ToList(); break;
                case "kubeadmConfigPatchesJSON6902": spec.KubeadmConfigPatchesJson6902 = Json6902List(value, source, path); break;
                case "containerdConfigPatches": spec.ContainerdConfigPatches = (YamlFile.TextList(value, source, path) ?? Array.Empty<string>()).ToList(); break;
                case "nodeSettings": spec.NodeSettings = NodeSettingsList(value, source, path); break;
                case "dns64":
                    var dns64 = YamlFile.Mapping(value, source, path);
                    if (dns64 is null) break;
                    foreach (var (dKey, dKeyNode, dValue) in YamlFile.Entries(dns64, source, path))
                    {
                        switch (dKey)
                        {
                            case "upstream": spec.Dns64Upstream = YamlFile.TextList(dValue, source, path + ".upstream") ?? Array.Empty<string>(); break;
                            case "allowAaaa": spec.AllowAaaa = YamlFile.Boolean(dValue, source, path + ".allowAaaa") ?? false; break;
                            default: throw YamlFile.Unknown(source, dKeyNode, path, dKey, Dns64Fields);
                        }
                    }
                    break;
                default:
                    throw YamlFile.Unknown(source, keyNode, "spec", key, SpecFields);
            }
        }
    }

    private static List<DindNodeSettings> NodeSettingsList(YamlNode node, string source, string path)
    {
        var list = new List<DindNodeSettings>();
        foreach (var (map, itemPath) in KindYaml.Sections(node, source, path))
        {
            var settings = new DindNodeSettings();
            foreach (var (key, keyNode, value) in YamlFile.Entries(map, source, itemPath))
            {
                var fieldPath = $"{itemPath}.{key}";
                switch (key)
                {
                    case "node": settings.Node = YamlFile.Integer(value, source, fieldPath) ?? 0; break;
                    case "labels": settings.Labels = KindYaml.TextMap(value, source, fieldPath); break;
                    case "extraMounts": settings.ExtraMounts = KindYaml.Mounts(value, source, fieldPath, yaml11: false); break;
                    case "extraPortMappings": settings.ExtraPortMappings = KindYaml.PortMappings(value, source, fieldPath); break;
                    case "kubeadmConfigPatches": settings.KubeadmConfigPatches = (YamlFile.TextList(value, source, fieldPath) ?? Array.Empty<string>()).ToList(); break;
                    case "kubeadmConfigPatchesJSON6902": settings.KubeadmConfigPatchesJson6902 = Json6902List(value, source, fieldPath); break;
                    default: throw YamlFile.Unknown(source, keyNode, itemPath, key, NodeSettingsFields);
                }
            }
            list.Add(settings);
        }
        return list;
    }

    private static List<KubeadmJson6902Patch> Json6902List(YamlNode node, string source, string path) =>
        KindYaml.Json6902(node, source, path).Select(e => e.Patch).ToList();

    /// <summary>One node's entry (inside its mapping): the index, then only what is set.</summary>
    private static void NodeSettings(IEmitter emitter, DindNodeSettings node)
    {
        Number(emitter, "node", node.Node);
        if (node.Labels is { Count: > 0 } labels) TextMap(emitter, "labels", labels);
        Sections(emitter, "extraMounts", node.ExtraMounts, m =>
        {
            Text(emitter, "hostPath", m.HostPath);
            Text(emitter, "containerPath", m.ContainerPath);
            if (m.ReadOnly) { Key(emitter, "readOnly"); Plain(emitter, "true"); }
            if (m.SelinuxRelabel) { Key(emitter, "selinuxRelabel"); Plain(emitter, "true"); }
            if (!string.IsNullOrEmpty(m.Propagation)) Text(emitter, "propagation", m.Propagation);
        });
        Sections(emitter, "extraPortMappings", node.ExtraPortMappings, p =>
        {
            Number(emitter, "containerPort", p.ContainerPort);
            if (p.HostPort != 0) Number(emitter, "hostPort", p.HostPort);
            if (!string.IsNullOrEmpty(p.ListenAddress)) Text(emitter, "listenAddress", p.ListenAddress);
            if (!string.IsNullOrEmpty(p.Protocol)) Text(emitter, "protocol", p.Protocol);
        });
        Patches(emitter, node.KubeadmConfigPatches, node.KubeadmConfigPatchesJson6902);
    }

    /// <summary>Merge patches and RFC 6902 patches, under kind's own field names, each only when there is one.</summary>
    private static void Patches(IEmitter emitter, List<string>? merge, List<KubeadmJson6902Patch>? json6902)
    {
        if (merge is { Count: > 0 }) BlockList(emitter, "kubeadmConfigPatches", merge);
        Sections(emitter, "kubeadmConfigPatchesJSON6902", json6902, patch =>
        {
            Text(emitter, "group", patch.Group);
            Text(emitter, "version", patch.Version);
            Text(emitter, "kind", patch.Kind);
            Key(emitter, "patch");
            Block(emitter, patch.Patch);
        });
    }

    /// <summary>A list of sections under <paramref name="key"/>, each written by <paramref name="write"/>; nothing for an empty list.</summary>
    private static void Sections<T>(IEmitter emitter, string key, IReadOnlyCollection<T>? items, Action<T> write)
    {
        if (items is not { Count: > 0 }) return;
        Key(emitter, key);
        emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, isImplicit: true, SequenceStyle.Block));
        foreach (var item in items)
        {
            emitter.Emit(new MappingStart());
            write(item);
            emitter.Emit(new MappingEnd());
        }
        emitter.Emit(new SequenceEnd());
    }

    /// <summary>name: value pairs in ordinal name order; values quoted as <see cref="Value"/> does, or plain (booleans).</summary>
    private static void TextMap(IEmitter emitter, string key, IReadOnlyDictionary<string, string> map, bool plainValues = false)
    {
        Key(emitter, key);
        emitter.Emit(new MappingStart());
        foreach (var (name, value) in map.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            Value(emitter, name);
            if (plainValues) Plain(emitter, value);
            else Value(emitter, value);
        }
        emitter.Emit(new MappingEnd());
    }

    /// <summary>A list of multi-line texts (YAML or TOML documents), each a literal block so that it reads as written.</summary>
    private static void BlockList(IEmitter emitter, string key, IEnumerable<string> texts)
    {
        Key(emitter, key);
        emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, isImplicit: true, SequenceStyle.Block));
        foreach (var text in texts) Block(emitter, text);
        emitter.Emit(new SequenceEnd());
    }

    /// <summary>A literal block ("|"); the emitter falls back to double quotes for text a block cannot carry exactly.</summary>
    private static void Block(IEmitter emitter, string? text)
    {
        text ??= "";
        if (!text.Contains('\n')) { Value(emitter, text); return; }
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, text, ScalarStyle.Literal, isPlainImplicit: false, isQuotedImplicit: true));
    }

    private static void Key(IEmitter emitter, string key) => Plain(emitter, key);

    private static void Plain(IEmitter emitter, string value) =>
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, value, ScalarStyle.Plain, isPlainImplicit: true, isQuotedImplicit: false));

    private static void Number(IEmitter emitter, string key, int value)
    {
        Key(emitter, key);
        Plain(emitter, value.ToString(CultureInfo.InvariantCulture));
    }

    private static void Text(IEmitter emitter, string key, string? value)
    {
        Key(emitter, key);
        Value(emitter, value);
    }

    /// <summary>
    /// Text plain where YAML reads it back as text; quoted when empty or when a YAML reader would take it for a
    /// null, boolean or number (a name "true", a version "1.31"), so that other tools see a string too.
    /// The emitter itself quotes anything plain style cannot carry (leading spaces, ': ', '#', ...).
    /// </summary>
    private static void Value(IEmitter emitter, string? value)
    {
        value ??= "";
        var quote = value.Length == 0 || NonStringScalar().IsMatch(value);
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, value, quote ? ScalarStyle.DoubleQuoted : ScalarStyle.Plain,
            isPlainImplicit: !quote, isQuotedImplicit: quote));
    }

    // YAML 1.1 and 1.2 core-schema spellings of null, booleans and numbers.
    [GeneratedRegex(@"^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N|[-+]?(\.[0-9]+|[0-9][0-9_]*)(\.[0-9_]*)?([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?)$", RegexOptions.CultureInvariant)]
    private static partial Regex NonStringScalar();
}
