using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// -Cni calico: the user's calico.yaml (Calico's manifest install) made IPv6-only for the lab, its images copied
/// from the host's Docker into every node's containerd (no registry is assumed), and the manifest applied with the
/// control plane's own kubectl right after kubeadm init, as kind's installcni action applies its default CNI.
/// </summary>
public sealed partial class DindLab
{
    /// <summary>
    /// Reads and prepares the spec's Calico manifest and checks that its images are on the Docker host. Runs before
    /// anything is created (New-DindCluster, Reset-DindCluster, Add-DindNode), so a missing file or image changes nothing.
    /// </summary>
    private async Task<PreparedCalicoManifest> PrepareCalicoAsync(DindClusterSpec spec, AddressPlan plan)
    {
        var path = spec.CalicoManifest?.Trim() ?? "";
        if (path.Length == 0)
            throw new DindException(ErrorIds.CalicoManifestRequired, DindErrorCategory.InvalidArgument,
                "CalicoManifest: -Cni calico needs Calico's manifest install (calico.yaml of a Calico release); none was given.", spec.Cni, "CalicoManifest",
                "Give -CalicoManifest <path to calico.yaml> (the lab makes it IPv6-only), or use -Cni bridge or ptp.");
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, Ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DindException(ErrorIds.InvalidCalicoManifest, DindErrorCategory.ReadError,
                $"CalicoManifest: {path} cannot be read: {ex.Message}", path, "CalicoManifest",
                "Give the path of a readable calico.yaml (Reset-DindCluster and Add-DindNode read it again from where New-DindCluster was given it).");
        }
        var prepared = CalicoManifest.Prepare(text, CalicoOptions.From(spec, plan), path);
        foreach (var image in prepared.Images) LabInput.Image(image);
        var missing = new List<string>();
        foreach (var image in prepared.Images)
            if (await _docker.InspectImageAsync(image, Ct).ConfigureAwait(false) is null) missing.Add(image);
        if (missing.Count > 0)
            throw new DindException(ErrorIds.ImageNotFound, DindErrorCategory.ObjectNotFound,
                $"CalicoManifest: {path} needs {string.Join(", ", missing)}, not present on Docker at {_docker.Endpoint} (images are never pulled).",
                missing[0], "CalicoManifest",
                $"Pull or load them on the Docker host first (docker pull {missing[0]}); the lab copies them into every node's containerd.");
        Log.Verbose($"Calico manifest {path}: {prepared.Images.Count} image(s) ({string.Join(", ", prepared.Images)}); made IPv6-only: {string.Join("; ", prepared.Changes)}.");
        return prepared;
    }

    /// <summary>Calico's images into the containerd of <paramref name="nodes"/> (before kubelet needs them).</summary>
    private Task LoadCalicoImagesAsync(PreparedCalicoManifest calico, IReadOnlyList<(string Id, string Name)> nodes, int parallelism)
    {
        Log.Verbose($"Copying Calico's images into {nodes.Count} node(s): {string.Join(", ", calico.Images)}.");
        return LoadImagesIntoNodesAsync(calico.Images, nodes, parallelism, LabSteps.KubeadmInit, 70, 72);
    }

    /// <summary>kubectl apply of the prepared manifest on the control plane, with kubeadm's admin.conf, bounded as kubeadm is.</summary>
    private async Task ApplyCalicoAsync(PreparedCalicoManifest calico, string controlPlaneId, string controlPlaneName, TimeSpan timeout)
    {
        await _docker.PutFileAsync(controlPlaneId, CalicoManifest.ContainerPath, calico.Content, 420, Ct).ConfigureAwait(false);
        await NodeToolAsync(controlPlaneId, controlPlaneName, new[] { "kubectl", "--kubeconfig=" + AdminConfPath, "apply", "-f", CalicoManifest.ContainerPath },
            timeout, ErrorIds.ExecFailed,
            "Check that the manifest's Calico version supports this Kubernetes version; Export-DindLog collects the node's logs.").ConfigureAwait(false);
        Log.Verbose($"Calico applied on {controlPlaneName} ({CalicoManifest.ContainerPath}).");
    }
}
