using System.Management.Automation;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Commands;

/// <summary>
/// kubeadm configuration for every node of a spec: InitConfiguration + ClusterConfiguration + KubeletConfiguration +
/// KubeProxyConfiguration for the control plane, JoinConfiguration for the workers; kubeadm.k8s.io/v1beta3 below
/// Kubernetes 1.31, v1beta4 from 1.31 (v1beta3 up to 1.35 when the spec's kubeadm patches name only v1beta3, as kind's
/// do). The spec's feature gates, runtime config, node labels and kubeadm patches are applied as kind applies them.
/// kube-proxy gets conntrack.maxPerCore 0 (see about_Ipv6Dind: the conntrack saga).
/// </summary>
[Cmdlet(VerbsCommon.New, "KubeadmConfig", SupportsShouldProcess = true, DefaultParameterSetName = ObjectsSet)]
[OutputType(typeof(RenderedConfig), ParameterSetName = new[] { ObjectsSet })]
[OutputType(typeof(FileInfo), ParameterSetName = new[] { FilesSet })]
public sealed class NewKubeadmConfigCommand : ConfigCommandBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public DindClusterSpec Spec { get; set; } = null!;

    /// <summary>Only these nodes (e.g. lab-node-1); default all.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[]? NodeName { get; set; }

    /// <summary>Bootstrap token for init and joins; a fresh random one when omitted.</summary>
    [Parameter]
    public string? Token { get; set; }

    /// <summary>sha256 hash of the cluster CA's public key, pinned by the joins; without it joins skip CA pinning.</summary>
    [Parameter]
    public string? CaCertHash { get; set; }

    protected override void ProcessRecord()
    {
        var plan = Invoke(() => AddressPlanner.Plan(Spec));
        var token = Invoke(() => KubeadmInputs.Token(Token));
        var hash = Invoke(() => KubeadmInputs.CaCertHash(CaCertHash));
        var known = plan.NodeAddresses.Select(n => n.NodeName).ToHashSet(StringComparer.Ordinal);
        foreach (var wanted in NodeName ?? Array.Empty<string>())
        {
            Invoke(() => LabInput.NodeName(plan.ClusterName, wanted)); // malformed: InvalidNodeName; well-formed but absent: NodeNotFound
            if (!known.Contains(wanted))
                ThrowDindError(LabErrors.NodeNotFound(plan.ClusterName, wanted, known));
        }

        WriteVerbose($"Rendering {KubeadmRenderer.ApiVersionFor(KubeadmOptions.From(Spec, plan, token))} configuration for Kubernetes {Spec.KubernetesVersion}; kube-proxy gets conntrack.maxPerCore: 0 so it never writes the conntrack hashsize, which fails inside a node container.");
        if (hash is null)
            WriteVerbose("No -CaCertHash: the join configurations skip CA pinning (unsafeSkipCAVerification); the lab flow pins the hash it reads after init.");
        var configs = Invoke(() => KubernetesConfigs.ForCluster(Spec, plan, token, hash).Where(c => c.Kind == "Kubeadm").ToList());
        WriteConfigs(configs.Where(c => NodeName is null || NodeName.Contains(c.NodeName)));
    }
}
