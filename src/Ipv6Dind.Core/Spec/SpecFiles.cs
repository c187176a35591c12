using System.Text.RegularExpressions;

namespace Ipv6Dind.Core.Spec;

/// <summary>Reading spec files from disk: format detection, then the matching reader.</summary>
public static partial class SpecFiles
{
    public static SpecImportResult Read(string path, SpecFileFormat format, string? clusterName)
    {
        if (!File.Exists(path))
            throw new DindException(ErrorIds.SpecFileNotFound, DindErrorCategory.ObjectNotFound,
                $"Path: '{path}' does not exist.", path, "Path", "Give the path of a spec file (Export-DindClusterSpec writes one) or a Lazyjack config.yaml.");
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DindException(ErrorIds.SpecFileInvalid, DindErrorCategory.ReadError, $"Path: cannot read '{path}': {ex.Message}", path, "Path",
                "Check that the file is readable.", ex);
        }
        if (format == SpecFileFormat.Auto) format = Detect(text, path);
        if (format == SpecFileFormat.Lazyjack) return LazyjackImporter.Import(text, path, clusterName);

        var spec = SpecYaml.Deserialize(text, path);
        if (!string.IsNullOrEmpty(clusterName)) spec.ClusterName = clusterName;
        return new SpecImportResult(spec, Array.Empty<string>());
    }

    /// <summary>Our files start with apiVersion ipv6dind.io/…; Lazyjack's have a topology section.</summary>
    public static SpecFileFormat Detect(string text, string sourceName)
    {
        if (OurApiVersion().IsMatch(text)) return SpecFileFormat.Ipv6Dind;
        if (LazyjackTopology().IsMatch(text)) return SpecFileFormat.Lazyjack;
        throw new DindException(ErrorIds.SpecFileInvalid, DindErrorCategory.InvalidData,
            $"Path: cannot tell the format of '{sourceName}': it has neither 'apiVersion: ipv6dind.io/…' nor a Lazyjack 'topology:' section.",
            sourceName, "Path", "Give -Format Ipv6Dind or -Format Lazyjack, or check that this is a spec file.");
    }

    [GeneratedRegex(@"^apiVersion:\s*[""']?ipv6dind\.io/", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex OurApiVersion();

    [GeneratedRegex(@"^topology:\s*$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex LazyjackTopology();
}
