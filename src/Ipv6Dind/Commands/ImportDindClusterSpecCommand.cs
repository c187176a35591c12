using System.Collections;
using System.Management.Automation;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Commands;

/// <summary>
/// Reads a cluster spec from our YAML (Export-DindClusterSpec), from a kind cluster config (IPv6 only), from a
/// Lazyjack config.yaml, or from kubeadm-dind-cluster's environment variables; completes and validates it like
/// New-DindClusterSpec.
/// Values the source has but Ipv6Dind cannot honour are errors; settings it ignores are warnings.
/// </summary>
[Cmdlet(VerbsData.Import, "DindClusterSpec", DefaultParameterSetName = PathSet)]
[OutputType(typeof(DindClusterSpec))]
public sealed class ImportDindClusterSpecCommand : DindCmdlet
{
    private const string PathSet = "Path";
    private const string KdcSet = "KdcEnvironment";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [Alias("FullName", "PSPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(ParameterSetName = PathSet)]
    public SpecFileFormat Format { get; set; } = SpecFileFormat.Auto;

    /// <summary>Read kubeadm-dind-cluster's variables (IP_MODE, DIND_SUBNET, …) instead of a file.</summary>
    [Parameter(Mandatory = true, ParameterSetName = KdcSet)]
    public SwitchParameter FromKdcEnvironment { get; set; }

    /// <summary>The variables to read; default: this process's environment.</summary>
    [Parameter(ParameterSetName = KdcSet)]
    public IDictionary? Environment { get; set; }

    /// <summary>Overrides the cluster name the source gives (or implies).</summary>
    [Parameter]
    [Alias("Name")]
    public string? ClusterName { get; set; }

    [Parameter]
    public SwitchParameter SkipHostCheck { get; set; }

    protected override void ProcessRecord()
    {
        SpecImportResult result;
        if (ParameterSetName == KdcSet)
        {
            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in Environment ?? System.Environment.GetEnvironmentVariables())
                if (entry.Key?.ToString() is { } key && entry.Value?.ToString() is { } value)
                    variables[key] = value;
            WriteVerbose($"Reading kubeadm-dind-cluster settings from {(Environment is null ? "the process environment" : "-Environment")} ({variables.Count} variables).");
            result = Invoke(() => KdcEnvironmentImporter.Import(variables, ClusterName));
        }
        else
        {
            var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Invoke(() => LabInput.Path(Path)));
            WriteVerbose($"Reading spec file {path} (format {Format}).");
            result = Invoke(() => SpecFiles.Read(path, Format, ClusterName));
        }
        foreach (var warning in result.Warnings)
            WriteWarning(warning);

        var environment = SkipHostCheck ? PlanEnvironment.Empty : HostEnvironment.Read(this);
        WriteObject(Invoke(() => SpecBuilder.Resolve(result.Spec, environment)));
    }
}
