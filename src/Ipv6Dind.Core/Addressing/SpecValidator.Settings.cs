using System.Net;
using System.Text.RegularExpressions;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Core.Addressing;

/// <summary>
/// The rules for the settings a kind config brings (feature gates, runtime config, kubeadm patches, per-node
/// settings): what must hold for them to be written into component flags and kubeadm documents at all. Whether a
/// patch's paths exist shows only when it is applied (New-KubeadmConfig, New-DindCluster).
/// </summary>
public static partial class SpecValidator
{
    /// <summary>Kubernetes feature gate names: letters and digits (e.g. InPlacePodVerticalScaling).</summary>
    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex FeatureGateName();

    /// <summary>runtime-config keys: API groups and versions (api/alpha, apps/v1beta2, api/all).</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/-]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex RuntimeConfigKey();

    /// <summary>A flag value inside a comma-separated list: no comma, no blank, no control character.</summary>
    [GeneratedRegex("^[^,\\s\\p{C}]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ListValue();

    private static readonly string[] Propagations = { "", "None", "HostToContainer", "Bidirectional" };
    private static readonly string[] Protocols = { "", "TCP", "UDP", "SCTP" };

    private static IEnumerable<DindException> SettingsProblems(DindClusterSpec spec)
    {
        DindException Problem(string id, string parameter, object? value, string message, string valid) =>
            new(id, id == ErrorIds.InvalidKubeadmPatch ? DindErrorCategory.InvalidData : DindErrorCategory.InvalidArgument,
                $"{parameter}: {message} {valid}", value, parameter, valid);

        foreach (var name in (spec.FeatureGates ?? new()).Keys.Where(n => !FeatureGateName().IsMatch(n)))
            yield return Problem(ErrorIds.InvalidComponentSetting, "FeatureGates", name, $"'{Printable(name)}' is not a feature gate name.",
                "Give the gate's name as Kubernetes spells it, letters and digits only (e.g. InPlacePodVerticalScaling).");
        foreach (var (key, value) in spec.RuntimeConfig ?? new())
        {
            if (!RuntimeConfigKey().IsMatch(key) || !ListValue().IsMatch(value ?? ""))
                yield return Problem(ErrorIds.InvalidComponentSetting, "RuntimeConfig", key,
                    $"'{Printable(key)}={Printable(value ?? "")}' cannot be part of the API server's --runtime-config.",
                    "Give an API group/version as the key and a value without commas or blanks (e.g. \"api/alpha\": \"false\").");
        }

        foreach (var problem in PatchProblems(spec.KubeadmConfigPatches, spec.KubeadmConfigPatchesJson6902, "", Problem))
            yield return problem;

        var seen = new HashSet<int>();
        foreach (var node in (spec.NodeSettings ?? new()).Where(n => n is not null))
        {
            var at = $"NodeSettings (node {node.Node})";
            if (node.Node < 1)
                yield return Problem(ErrorIds.InvalidNodeSettings, "NodeSettings", node.Node, $"node {node.Node} is not a node index.",
                    "Use 1 for the control plane and 2 and up for the workers.");
            else if (!seen.Add(node.Node))
                yield return Problem(ErrorIds.InvalidNodeSettings, "NodeSettings", node.Node, $"node {node.Node} has more than one entry.",
                    "Merge its settings into one entry.");
            foreach (var (key, value) in node.Labels ?? new())
            {
                if (key.Length == 0 || key.Contains('=') || !ListValue().IsMatch(key) || !ListValue().IsMatch(value ?? ""))
                    yield return Problem(ErrorIds.InvalidNodeSettings, $"{at}.Labels", key, $"'{Printable(key)}={Printable(value ?? "")}' cannot be a node label.",
                        "Give a label name and value without commas, '=' in the name, or blanks (e.g. tier: frontend).");
            }
            foreach (var mount in (node.ExtraMounts ?? new()).Where(m => m is not null))
            {
                if (string.IsNullOrWhiteSpace(mount.HostPath) || string.IsNullOrWhiteSpace(mount.ContainerPath))
                    yield return Problem(ErrorIds.InvalidNodeSettings, $"{at}.ExtraMounts", mount.ToString(), "a mount needs both hostPath and containerPath.",
                        "Give both, e.g. hostPath: /srv/data, containerPath: /data.");
                if (!Propagations.Contains(mount.Propagation ?? ""))
                    yield return Problem(ErrorIds.InvalidNodeSettings, $"{at}.ExtraMounts", mount.Propagation, $"'{Printable(mount.Propagation ?? "")}' is not a mount propagation.",
                        "Use None, HostToContainer or Bidirectional.");
            }
            foreach (var port in (node.ExtraPortMappings ?? new()).Where(p => p is not null))
            {
                if (port.ContainerPort is < 1 or > 65535 || port.HostPort is < -1 or > 65535)
                    yield return Problem(ErrorIds.InvalidNodeSettings, $"{at}.ExtraPortMappings", port.ToString(), $"{port.ContainerPort} (container) or {port.HostPort} (host) is not a port.",
                        "Use container ports 1-65535 and host ports 0-65535 (0 or -1: a port Docker picks).");
                if (!Protocols.Contains((port.Protocol ?? "").ToUpperInvariant()))
                    yield return Problem(ErrorIds.InvalidNodeSettings, $"{at}.ExtraPortMappings", port.Protocol, $"'{Printable(port.Protocol ?? "")}' is not a port protocol.",
                        "Use TCP, UDP or SCTP.");
                if (!string.IsNullOrEmpty(port.ListenAddress) && !IPAddress.TryParse(port.ListenAddress, out _))
                    yield return Problem(ErrorIds.InvalidNodeSettings, $"{at}.ExtraPortMappings", port.ListenAddress, $"'{Printable(port.ListenAddress)}' is not an IP address.",
                        "Give the host address to listen on, e.g. ::1 or 127.0.0.1, or none for every address.");
            }
            foreach (var problem in PatchProblems(node.KubeadmConfigPatches, node.KubeadmConfigPatchesJson6902, at + ".", Problem))
                yield return problem;
        }
    }

    private static IEnumerable<DindException> PatchProblems(List<string>? merge, List<KubeadmJson6902Patch>? json, string owner,
        Func<string, string, object?, string, string, DindException> problem)
    {
        const string mergeValid = "Write each patch as a YAML mapping with the kind it patches, e.g. 'kind: ClusterConfiguration' then the fields to set.";
        const string jsonValid = "Write the patch as a list of RFC 6902 operations, e.g. '- op: add', '  path: /apiServer/certSANs/-', '  value: my-hostname'.";
        var merges = merge ?? new();
        for (var i = 0; i < merges.Count; i++)
        {
            string? error = null;
            try { KubeadmPatches.ParseMerge(merges[i] ?? ""); }
            catch (FormatException ex) { error = ex.Message; }
            if (error is not null) yield return problem(ErrorIds.InvalidKubeadmPatch, $"{owner}KubeadmConfigPatches[{i}]", merges[i], error, mergeValid);
        }
        var jsons = json ?? new();
        for (var i = 0; i < jsons.Count; i++)
        {
            string? error = null;
            try { KubeadmPatches.ParseJson6902(jsons[i] ?? new KubeadmJson6902Patch()); }
            catch (FormatException ex) { error = ex.Message; }
            if (error is not null) yield return problem(ErrorIds.InvalidKubeadmPatch, $"{owner}KubeadmConfigPatchesJson6902[{i}]", jsons[i]?.Patch, error, jsonValid);
        }
    }
}
