namespace Ipv6Dind;

/// <summary>
/// Settings of one Kubernetes node of a lab, the per-node fields of a kind config (kind.x-k8s.io/v1alpha4 Node):
/// labels, extra mounts, extra port mappings and node-level kubeadm patches. Keyed by <see cref="Node"/>, the
/// node's index in the lab (1 is the control plane, 2 and up the workers, as in the node names lab-node-1,
/// lab-node-2, ...), so a spec holds at most one entry per node and nodes without an entry have no settings.
/// </summary>
public sealed class DindNodeSettings
{
    /// <summary>The node's index: 1 for the control plane, 2.. for the workers.</summary>
    public int Node { get; set; }

    /// <summary>Kubernetes labels the node registers with (the kubelet's node-labels, as kind sets them).</summary>
    public Dictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Host paths to mount into the node container. Carried in the spec; not yet applied to the container.</summary>
    public List<DindNodeMount> ExtraMounts { get; set; } = new();

    /// <summary>Host ports to publish to the node container. Carried in the spec; not yet applied to the container.</summary>
    public List<DindPortMapping> ExtraPortMappings { get; set; } = new();

    /// <summary>Merge patches for this node's kubeadm configuration, applied after the cluster's own.</summary>
    public List<string> KubeadmConfigPatches { get; set; } = new();

    /// <summary>RFC 6902 patches for this node's kubeadm configuration, applied after the cluster's own.</summary>
    public List<KubeadmJson6902Patch> KubeadmConfigPatchesJson6902 { get; set; } = new();

    /// <summary>True when nothing is set but the index.</summary>
    public bool IsEmpty() =>
        (Labels?.Count ?? 0) == 0 && (ExtraMounts?.Count ?? 0) == 0 && (ExtraPortMappings?.Count ?? 0) == 0 &&
        (KubeadmConfigPatches?.Count ?? 0) == 0 && (KubeadmConfigPatchesJson6902?.Count ?? 0) == 0;

    /// <summary>A deep copy: no list or map is shared with the original.</summary>
    public DindNodeSettings Clone() => new()
    {
        Node = Node,
        Labels = new Dictionary<string, string>(Labels ?? new(), StringComparer.Ordinal),
        ExtraMounts = (ExtraMounts ?? new()).Select(m => m.Clone()).ToList(),
        ExtraPortMappings = (ExtraPortMappings ?? new()).Select(p => p.Clone()).ToList(),
        KubeadmConfigPatches = new List<string>(KubeadmConfigPatches ?? new()),
        KubeadmConfigPatchesJson6902 = (KubeadmConfigPatchesJson6902 ?? new()).Select(p => p.Clone()).ToList(),
    };

    public override string ToString() => $"node {Node}";
}

/// <summary>A host path mounted into a node container (kind's Mount: the field names are kind's).</summary>
public sealed class DindNodeMount
{
    public string HostPath { get; set; } = "";
    public string ContainerPath { get; set; } = "";
    public bool ReadOnly { get; set; }
    public bool SelinuxRelabel { get; set; }
    /// <summary>None, HostToContainer or Bidirectional; empty means None.</summary>
    public string Propagation { get; set; } = "";

    public DindNodeMount Clone() => (DindNodeMount)MemberwiseClone();

    public override string ToString() => $"{HostPath}:{ContainerPath}{(ReadOnly ? ":ro" : "")}";
}

/// <summary>A host port published to a node container (kind's PortMapping: the field names are kind's).</summary>
public sealed class DindPortMapping
{
    public int ContainerPort { get; set; }
    /// <summary>0: a port Docker picks.</summary>
    public int HostPort { get; set; }
    /// <summary>The host address to listen on; empty means kind's default (every address).</summary>
    public string ListenAddress { get; set; } = "";
    /// <summary>TCP, UDP or SCTP; empty means TCP.</summary>
    public string Protocol { get; set; } = "";

    public DindPortMapping Clone() => (DindPortMapping)MemberwiseClone();

    public override string ToString() => $"{ListenAddress}:{HostPort}->{ContainerPort}/{(Protocol.Length == 0 ? "TCP" : Protocol)}";
}

/// <summary>
/// An RFC 6902 JSON patch for the kubeadm configuration (kind's PatchJSON6902): applied to the documents whose kind
/// is <see cref="Kind"/> and whose apiVersion is group/version (just version when the group is empty).
/// </summary>
public sealed class KubeadmJson6902Patch
{
    public string Group { get; set; } = "";
    public string Version { get; set; } = "";
    public string Kind { get; set; } = "";
    /// <summary>The operations, as YAML or JSON text: a list of {op, path, value, from}.</summary>
    public string Patch { get; set; } = "";

    /// <summary>group/version, or the version alone for the core group.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public KubeadmJson6902Patch Clone() => (KubeadmJson6902Patch)MemberwiseClone();

    public override string ToString() => $"{Kind} {ApiVersion}";
}
