using System.Management.Automation;
using Ipv6Dind.Core.Files;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Commands;

/// <summary>
/// Shared by the New-*Config cmdlets: without -OutputDirectory they emit <see cref="RenderedConfig"/> objects
/// (the text is in .Content); with it they write each file there (ShouldProcess per file, -Force to overwrite)
/// and emit the FileInfo of what was written.
/// </summary>
public abstract class ConfigCommandBase : DindCmdlet
{
    protected const string ObjectsSet = "Objects";
    protected const string FilesSet = "Files";

    [Parameter(Mandatory = true, ParameterSetName = FilesSet)]
    [ValidateNotNullOrEmpty]
    public string OutputDirectory { get; set; } = "";

    [Parameter(ParameterSetName = FilesSet)]
    public SwitchParameter Force { get; set; }

    protected void WriteConfigs(IEnumerable<RenderedConfig> configs)
    {
        foreach (var config in configs)
        {
            if (ParameterSetName != FilesSet)
            {
                WriteObject(config);
                continue;
            }
            var directory = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Invoke(() => LabInput.Path(OutputDirectory, nameof(OutputDirectory))));
            // Per-node files share a name (kubeadm.yaml): the node name keeps them apart on disk.
            var fileName = string.IsNullOrEmpty(config.NodeName) ? config.FileName : $"{config.NodeName}-{config.FileName}";
            var path = Path.Combine(directory, fileName);
            if (!ShouldProcess(path, $"Write {config.Kind} configuration"))
                continue;
            var written = Invoke(() => ConfigFileWriter.Write(path, config.Content, Force, ErrorIds.ConfigFileExists, ErrorIds.ConfigFileWriteFailed, nameof(OutputDirectory)));
            WriteVerbose($"Wrote {config.Kind} configuration to {written}.");
            WriteObject(new FileInfo(written));
        }
    }
}
