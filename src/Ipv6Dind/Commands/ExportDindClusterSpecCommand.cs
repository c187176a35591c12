using System.Management.Automation;
using Ipv6Dind.Core.Files;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Commands;

/// <summary>
/// Writes a spec as YAML (one spec per file), atomically; Import-DindClusterSpec reads it back to the same spec.
/// Like Export-Csv it replaces an existing file unless -NoClobber is given.
/// </summary>
[Cmdlet(VerbsData.Export, "DindClusterSpec", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportDindClusterSpecCommand : DindCmdlet
{
    private int _written;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public DindClusterSpec Spec { get; set; } = null!;

    [Parameter]
    public SwitchParameter NoClobber { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Invoke(() => LabInput.Path(Path)));
        if (++_written > 1)
        {
            WriteDindError(new DindException(ErrorIds.SpecFileOneClusterOnly, DindErrorCategory.InvalidOperation,
                $"Path: a spec file holds one cluster; '{Spec.ClusterName}' was not written to {path}.", Spec.ClusterName, "Path",
                "Export each spec to its own file, e.g. ForEach-Object { $_ | Export-DindClusterSpec \"$($_.ClusterName).yaml\" }."));
            return;
        }
        var yaml = Invoke(() => SpecYaml.Serialize(Spec));
        if (!ShouldProcess(path, $"Write the spec of cluster '{Spec.ClusterName}'"))
            return;
        var written = Invoke(() => ConfigFileWriter.Write(path, yaml, overwrite: !NoClobber, ErrorIds.SpecFileExists, ErrorIds.SpecFileWriteFailed, nameof(Path),
            "Leave out -NoClobber to replace it, or choose another path."));
        WriteVerbose($"Wrote the spec of cluster '{Spec.ClusterName}' to {written}.");
        if (PassThru) WriteObject(new FileInfo(written));
    }
}
