using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>Writes every container's log, rendered configs, routes and addresses of a lab into a folder (kind's export logs).</summary>
[Cmdlet(VerbsData.Export, "DindLog", SupportsShouldProcess = true)]
[OutputType(typeof(DindLogExport))]
public sealed class ExportDindLogCommand : LabCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    /// <summary>The folder to write into (created); default ./&lt;cluster&gt;-logs-&lt;UTC time&gt;.</summary>
    [Parameter(Position = 1)]
    public string? Path { get; set; }

    protected override void ProcessRecord()
    {
        // The default folder is named after the cluster: only a valid name (no '/', no '..') may make it.
        Invoke(() => LabInput.ClusterName(ClusterName));
        if (Path is not null) Invoke(() => LabInput.Path(Path));
        var target = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path ?? $"{ClusterName}-logs-{DateTime.UtcNow:yyyyMMddTHHmmssZ}");
        if (!ShouldProcess(target, $"Export the logs and configs of '{ClusterName}'")) return;
        RunLab(async lab => Emit(Summary(ClusterName, target, await lab.ExportLogsAsync(ClusterName, target).ConfigureAwait(false))));
    }

    /// <summary>One object for the whole export: a row per file (37 for a 3-node lab) told nothing at a glance.</summary>
    internal static DindLogExport Summary(string cluster, string folder, IReadOnlyList<string> written)
    {
        var files = written.Select(f => new FileInfo(f)).ToArray();
        // Files are <folder>/<container>/<file>; "cluster" (spec, plan) and "host" (rules) are not containers.
        var containers = written
            .Select(f => System.IO.Path.GetRelativePath(folder, f).Split(System.IO.Path.DirectorySeparatorChar)[0])
            .Where(d => d is not ("cluster" or "host" or "." or ".."))
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        return new DindLogExport
        {
            ClusterName = cluster,
            Path = folder,
            FileCount = files.Length,
            TotalBytes = files.Sum(f => f.Exists ? f.Length : 0),
            Containers = containers,
            Files = files,
        };
    }
}
