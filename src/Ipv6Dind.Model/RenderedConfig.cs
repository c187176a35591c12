namespace Ipv6Dind;

/// <summary>One rendered configuration file: what it is for, where it goes, and its text.</summary>
public sealed class RenderedConfig
{
    public string ClusterName { get; init; } = "";
    /// <summary>What renders it: Bind9, Tayga, Cni, Kubeadm, Kubelet, KubeProxy, CoreDns, DockerDaemon, Ndppd, Calico.</summary>
    public string Kind { get; init; } = "";
    /// <summary>Node or container the file belongs to, when it is per node.</summary>
    public string NodeName { get; init; } = "";
    /// <summary>Suggested file name (e.g. kubeadm.yaml, named.conf).</summary>
    public string FileName { get; init; } = "";
    /// <summary>Where the file goes in its container (e.g. /etc/bind/named.conf).</summary>
    public string ContainerPath { get; init; } = "";
    public string Content { get; init; } = "";
    public override string ToString() => Content;
}
