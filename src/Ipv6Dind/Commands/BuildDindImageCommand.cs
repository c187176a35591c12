using System.Management.Automation;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Images;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Commands;

/// <summary>
/// Builds the lab's images offline from Debian packages (debootstrap, docker import, then a Dockerfile per role):
/// dns64 (bind9), nat64 (tayga), node (iproute2, CNI plugins, DNS tools). Images whose recipe has not changed are
/// kept (-Rebuild rebuilds). Nothing is ever pulled from a registry.
/// </summary>
// "Build" is an approved verb (VerbsLifecycle.Build) since PowerShell 6; PowerShellStandard 5.1 lacks the constant.
[Cmdlet("Build", "DindImage", SupportsShouldProcess = true, DefaultParameterSetName = RoleSet)]
[OutputType(typeof(BuiltImage))]
public sealed class BuildDindImageCommand : DindCmdlet
{
    private const string RoleSet = "Role";
    private const string KubernetesSet = "Kubernetes";

    [Parameter(Position = 0, ParameterSetName = RoleSet)]
    [ValidateSet("dns64", "nat64", "node")]
    public string[] Role { get; set; } = { "dns64", "nat64", "node" };

    /// <summary>
    /// A directory with locally built kubeadm, kubelet and kubectl: builds ipv6dind/kubernetes-node:&lt;version&gt;-&lt;module
    /// version&gt;, a kindest/node-compatible image (systemd, containerd, those binaries) for New-DindCluster -NodeImage.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = KubernetesSet)]
    public string KubernetesBinaryPath { get; set; } = "";

    /// <summary>The binaries' Kubernetes version; by default asked from the kubeadm in -KubernetesBinaryPath.</summary>
    [Parameter(ParameterSetName = KubernetesSet)]
    public string? KubernetesVersion { get; set; }

    /// <summary>Rebuild the images even when their recipe has not changed. -Force is its old name (kept as an alias).</summary>
    [Parameter]
    [Alias("Force")]
    public SwitchParameter Rebuild { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == KubernetesSet)
        {
            var path = GetUnresolvedProviderPathFromPSPath(Invoke(() => LabInput.Path(KubernetesBinaryPath, nameof(KubernetesBinaryPath))));
            if (!ShouldProcess(Core.Images.ImageBuilder.KubernetesNodeRepository, $"Build the Kubernetes node image from {path}"))
                return;
            RunAsync(async ctx =>
            {
                using var docker = DockerApi.Connect();
                Emit(await new ImageBuilder(docker, ctx).EnsureKubernetesNodeImageAsync(path, KubernetesVersion, Rebuild).ConfigureAwait(false));
            });
            return;
        }
        if (!ShouldProcess(string.Join(", ", Role.Select(ImageBuilder.ReferenceFor)), Rebuild ? "Rebuild the images" : "Build the images that are missing or out of date"))
            return;
        RunAsync(async ctx =>
        {
            using var docker = DockerApi.Connect();
            foreach (var image in await new ImageBuilder(docker, ctx).EnsureImagesAsync(Role, Rebuild).ConfigureAwait(false))
                Emit(image);
        });
    }
}
