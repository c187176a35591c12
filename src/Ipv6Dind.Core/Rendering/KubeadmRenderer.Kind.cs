using System.Text.RegularExpressions;
using Ipv6Dind.Core.Addressing;
using static Ipv6Dind.Core.Rendering.KubernetesYaml;

namespace Ipv6Dind.Core.Rendering;

/// <summary>kind's cluster settings in the kubeadm configuration: its patches, feature gates, runtime config and node labels, where kind puts them.</summary>
public static partial class KubeadmRenderer
{
    /// <summary>
    /// The cluster's patches, then the node's own (kind's order), then kind's matching metadata dropped. A patch
    /// that does not parse or cannot apply is InvalidKubeadmPatch naming the spec field and entry.
    /// </summary>
    private static void Patch(IReadOnlyList<Map> documents, KubeadmOptions o, DindNodeSettings? node)
    {
        Apply(documents, o.KubeadmConfigPatches, o.KubeadmConfigPatchesJson6902, "");
        if (node is not null)
            Apply(documents, node.KubeadmConfigPatches, node.KubeadmConfigPatchesJson6902, $"NodeSettings (node {node.Node}) ");
        KubeadmPatches.RemoveKindMetadata(documents);
    }

    private static void Apply(IReadOnlyList<Map> documents, IReadOnlyList<string> merge, IReadOnlyList<KubeadmJson6902Patch> json, string owner)
    {
        if (merge.Count == 0 && json.Count == 0) return;
        var field = $"{owner}{nameof(KubeadmOptions.KubeadmConfigPatches)}";
        var jsonField = $"{owner}{nameof(KubeadmOptions.KubeadmConfigPatchesJson6902)}";
        var merges = new List<KubeadmPatches.MergePatch>();
        var jsons = new List<KubeadmPatches.JsonPatch>();
        var at = "";
        try
        {
            for (var i = 0; i < merge.Count; i++)
            {
                at = $"{field}[{i}]: ";
                merges.AddRange(KubeadmPatches.ParseMerge(merge[i]));
            }
            for (var i = 0; i < json.Count; i++)
            {
                at = $"{jsonField}[{i}] ({json[i]}): ";
                jsons.Add(KubeadmPatches.ParseJson6902(json[i]));
            }
            at = "";
            KubeadmPatches.Apply(documents, merges, jsons, i => $"{jsonField}[{i}] ({json[i]})");
        }
        catch (FormatException ex)
        {
            throw new DindException(ErrorIds.InvalidKubeadmPatch, DindErrorCategory.InvalidData, at + ex.Message,
                owner.Length == 0 ? "cluster" : owner.Trim(), at.Length > 0 ? at.Split('[')[0] : jsonField,
                "Fix or remove the patch: a merge patch is a YAML mapping with the kind it patches; an RFC 6902 patch is a list of operations whose paths exist in the rendered configuration (New-KubeadmConfig shows it).", ex);
        }
    }

    /// <summary>feature-gates=A=true,B=false, sorted by name as kind writes it; nothing without gates.</summary>
    private static IEnumerable<(string, string)> FeatureGatesArg(KubeadmOptions o) =>
        o.FeatureGates.Count == 0
            ? Enumerable.Empty<(string, string)>()
            : new[] { ("feature-gates", string.Join(",", o.FeatureGates.OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={(g.Value ? "true" : "false")}"))) };

    /// <summary>runtime-config=k=v,..., sorted by key as kind writes it; nothing without settings (kind writes it empty).</summary>
    private static IEnumerable<(string, string)> RuntimeConfigArg(KubeadmOptions o) =>
        o.RuntimeConfig.Count == 0
            ? Enumerable.Empty<(string, string)>()
            : new[] { ("runtime-config", string.Join(",", o.RuntimeConfig.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key}={r.Value}"))) };

    private static Map GatesMap(KubeadmOptions o)
    {
        var map = new Map();
        foreach (var (name, enabled) in o.FeatureGates.OrderBy(g => g.Key, StringComparer.Ordinal)) map.Add(name, enabled);
        return map;
    }

    /// <summary>node-labels=k=v,..., sorted by key; nothing without labels.</summary>
    private static IEnumerable<(string, string)> NodeLabelsArg(DindNodeSettings? settings) =>
        settings?.Labels is not { Count: > 0 } labels
            ? Enumerable.Empty<(string, string)>()
            : new[] { ("node-labels", string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))) };
}
