using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>
/// kind's load docker-image: saves images from the host's Docker (docker save) and imports them into the containerd
/// of every node of a Kubernetes lab (ctr -n k8s.io images import), so pods can use them without a registry.
/// </summary>
[Cmdlet(VerbsCommon.Copy, "DindImage", SupportsShouldProcess = true)]
[OutputType(typeof(DindNode))]
public sealed class CopyDindImageCommand : ClusterLockCmdlet
{
    /// <summary>Image references present in the host's Docker (docker images).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] Image { get; set; } = Array.Empty<string>();

    /// <summary>Only these nodes (default: every node).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public string[]? NodeName { get; set; }

    [Parameter]
    [ValidateRange(1, 64)]
    public int Parallelism { get; set; } = 4;

    /// <summary>Emit the nodes that were loaded.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    // Piped nodes are gathered first: the images are saved once per cluster, not once per node.
    private readonly Dictionary<string, HashSet<string>?> _targets = new(StringComparer.Ordinal);

    protected override void ProcessRecord()
    {
        foreach (var image in Image) Invoke(() => LabInput.Image(image));
        Invoke(() => LabInput.NodeNames(LabInput.ClusterName(ClusterName), NodeName));
        if (NodeName is not { Length: > 0 })
            _targets[ClusterName] = null;
        else if (!_targets.TryGetValue(ClusterName, out var nodes))
            _targets[ClusterName] = new HashSet<string>(NodeName, StringComparer.Ordinal);
        else
            nodes?.UnionWith(NodeName);
    }

    protected override void EndProcessing()
    {
        foreach (var (cluster, nodes) in _targets)
        {
            var where = nodes is null ? "every node" : string.Join(", ", nodes.OrderBy(n => n, StringComparer.Ordinal));
            if (!ShouldProcess($"{cluster} ({where})", $"Import {string.Join(", ", Image)} into containerd"))
                continue;
            RunLab(async lab =>
            {
                var loaded = await lab.CopyImagesAsync(cluster, Image, nodes, Parallelism).ConfigureAwait(false);
                if (!PassThru) return;
                foreach (var node in (await lab.GetNodesAsync(cluster).ConfigureAwait(false)).Where(n => loaded.Contains(n.NodeName)))
                    Emit(node);
            });
        }
        base.EndProcessing();
    }
}
