namespace Ipv6Dind;

/// <summary>
/// What Export-DindLog wrote: one summary instead of a row per file. No property is named like a member of
/// System.Array (Length, Count, Address...): pwsh would take the array's own member for <c>$exports.Length</c>.
/// </summary>
public sealed class DindLogExport
{
    public string ClusterName { get; init; } = "";
    /// <summary>The folder the files are in (full path).</summary>
    public string Path { get; init; } = "";
    public int FileCount { get; init; }
    /// <summary>Bytes written, all files together.</summary>
    public long TotalBytes { get; init; }
    /// <summary>The containers whose files are there (folder names), in the order Docker listed them.</summary>
    public string[] Containers { get; init; } = Array.Empty<string>();
    /// <summary>Every file written, in the order written.</summary>
    public FileInfo[] Files { get; init; } = Array.Empty<FileInfo>();
    /// <summary>Size for people: "412.3 KiB".</summary>
    public string TotalSize => Bytes(TotalBytes);
    public override string ToString() => Path;

    private static string Bytes(long bytes)
    {
        string[] units = { "B", "KiB", "MiB", "GiB" };
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1) { value /= 1024; unit++; }
        return unit == 0
            ? $"{bytes} B"
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
