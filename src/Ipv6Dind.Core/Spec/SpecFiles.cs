using System.Text.RegularExpressions;

namespace Ipv6Dind.Core.Spec;

/// <summary>Reading spec files from disk: format detection, then the matching reader.</summary>
public static partial class SpecFiles
{
    public static SpecImportResult Read(string path, SpecFileFormat format, string? clusterName)
    {
        if (!File.Exists(path))
            throw new DindException(ErrorIds.SpecFileNotFound, DindErrorCategory.ObjectNotFound,
                $"Path: '{path}' does not exist.", path, "Path", "Give the path of a spec file (Export-DindClusterSpec writes one), a kind config or a Lazyjack config.yaml.");
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DindException(ErrorIds.SpecFileInvalid, DindErrorCategory.ReadError, $"Path: cannot read '{path}': {ex.Message}", path, "Path",
                "Check that the file is readable.", ex);
        }
        if (format == SpecFileFormat.Auto) format = Detect(text, path);
        if (format == SpecFileFormat.Lazyjack) return LazyjackImporter.Import(text, path, clusterName);
        if (format == SpecFileFormat.Kind) return KindConfigImporter.Import(text, path, clusterName);

        var spec = SpecYaml.Deserialize(text, path);
        if (!string.IsNullOrEmpty(clusterName)) spec.ClusterName = clusterName;
        return new SpecImportResult(spec, Array.Empty<string>());
    }

    /// <summary>
    /// Our files start with apiVersion ipv6dind.io/…; kind's have 'kind: Cluster' with apiVersion kind.x-k8s.io/…
    /// (a version other than v1alpha4 is then named by the kind importer); Lazyjack's have a topology section.
    /// </summary>
    public static SpecFileFormat Detect(string text, string sourceName)
    {
        if (OurApiVersion().IsMatch(text)) return SpecFileFormat.Ipv6Dind;
        if (KindApiVersion().IsMatch(text) && KindCluster().IsMatch(text)) return SpecFileFormat.Kind;
        if (LazyjackTopology().IsMatch(text)) return SpecFileFormat.Lazyjack;
        throw new DindException(ErrorIds.SpecFileInvalid, DindErrorCategory.InvalidData,
            $"Path: cannot tell the format of '{sourceName}': it has neither 'apiVersion: ipv6dind.io/…', nor 'kind: Cluster' with 'apiVersion: kind.x-k8s.io/v1alpha4', nor a Lazyjack 'topology:' section.",
            sourceName, "Path", "Give -Format Ipv6Dind, -Format Kind or -Format Lazyjack, or check that this is a spec file.");
    }

    [GeneratedRegex(@"^apiVersion:\s*[""']?kind\.x-k8s\.io/", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex KindApiVersion();

    [GeneratedRegex(@"^kind:\s*[""']?Cluster[""']?\s*(#.*)?$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex KindCluster();

    [GeneratedRegex(@"^apiVersion:\s*[""']?ipv6dind\.io/", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex OurApiVersion();

    [GeneratedRegex(@"^topology:\s*$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex LazyjackTopology();
}
