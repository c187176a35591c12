using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Core.Kubernetes;

/// <summary>What a node image offers for the Kubernetes phase, found before anything of the cluster exists.</summary>
/// <param name="Image">The reference that was inspected.</param>
/// <param name="KubernetesVersion">"v1.31.2": from /kind/version (kind's contract) or, when the image has none, the version the user gave.</param>
/// <param name="KubeadmPath">Where kubeadm is in the image.</param>
/// <param name="PrivilegedPermitted">Whether the daemon starts a --privileged container (some hosts refuse it: docs/design/README.md, "Docker and kernel facts").</param>
/// <param name="CniPlugins">Which of the bridge and ptp CNI plugins the image has in /opt/cni/bin (kindest/node: ptp only).</param>
/// <param name="HasDig">Whether the image has dig (kindest/node has not; checks then fall back to what it has).</param>
public sealed record NodeImageFacts(string Image, string KubernetesVersion, string KubeadmPath, bool PrivilegedPermitted,
    IReadOnlyList<string> CniPlugins, bool HasDig);

/// <summary>
/// Checks a node image against the kindest/node contract: kubeadm and kubelet on the PATH, systemd as PID 1
/// (/sbin/init), containerd, and /kind/version naming a Kubernetes version in the supported range. It looks into a
/// container that is created but never started (the archive API reads files of created containers), then starts a
/// second throw-away container with --privileged to learn whether this daemon permits it. Both are removed at
/// once and carry the cluster's labels, so even a killed process leaves nothing Remove-DindCluster would not find.
/// </summary>
public static class NodeImageInspector
{
    public const string VersionFile = "/kind/version";
    public const string InitPath = "/sbin/init";
    public static readonly IReadOnlyList<string> KubeadmPaths = new[] { "/usr/bin/kubeadm", "/usr/local/bin/kubeadm" };
    public static readonly IReadOnlyList<string> KubeletPaths = new[] { "/usr/bin/kubelet", "/usr/local/bin/kubelet" };
    public static readonly IReadOnlyList<string> ContainerdPaths = new[] { "/usr/bin/containerd", "/usr/local/bin/containerd" };

    /// <summary>Where kubelet (containerd's CRI) finds CNI plugins in a kindest/node-compatible image.</summary>
    public const string CniBinDirectory = "/opt/cni/bin";

    /// <param name="requestedVersion">The -KubernetesVersion the user gave: the image must have it.</param>
    /// <param name="fallbackVersion">A version to assume when the image has no /kind/version (a spec's, a cluster's recorded one).</param>
    public static async Task<NodeImageFacts> InspectAsync(IDockerApi docker, string image, string clusterName, string? requestedVersion, CancellationToken ct,
        string? fallbackVersion = null)
    {
        var labels = LabLabels.For(clusterName, LabLabels.RoleInspect);
        var suffix = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        var probe = new ContainerSpec($"{clusterName}-inspect-{suffix}", image, labels)
        {
            Entrypoint = new[] { "/bin/true" },
            Command = Array.Empty<string>(),
            Init = false,
            Network = "none",
        };
        var id = await CreateThrowawayAsync(docker, probe, ct).ConfigureAwait(false);
        try
        {
            var kubeadm = await FirstExistingAsync(docker, id, KubeadmPaths, ct).ConfigureAwait(false);
            var kubelet = await FirstExistingAsync(docker, id, KubeletPaths, ct).ConfigureAwait(false);
            var containerd = await FirstExistingAsync(docker, id, ContainerdPaths, ct).ConfigureAwait(false);
            var init = await docker.PathExistsAsync(id, InitPath, ct).ConfigureAwait(false);
            var missing = new List<string>();
            if (kubeadm is null) missing.Add("kubeadm");
            if (kubelet is null) missing.Add("kubelet");
            if (containerd is null) missing.Add("containerd");
            if (!init) missing.Add("systemd (" + InitPath + ")");
            if (missing.Count > 0)
                throw new DindException(ErrorIds.NodeImageNotKubernetes, DindErrorCategory.InvalidArgument,
                    $"NodeImage: '{image}' has no {string.Join(", no ", missing)}, so it cannot run a Kubernetes node.",
                    image, "NodeImage",
                    "Use a kindest/node-compatible image (e.g. kindest/node:v1.31.2 loaded into this Docker), build one with " +
                    "Build-DindImage -KubernetesBinaryPath <dir with kubeadm, kubelet, kubectl>, or add -NetworkOnly for the network lab.");

            var versionText = (await docker.GetFileAsync(id, VersionFile, ct).ConfigureAwait(false))?.Trim();
            string version;
            if (string.IsNullOrWhiteSpace(requestedVersion)) requestedVersion = null;
            if (string.IsNullOrEmpty(versionText))
            {
                requestedVersion ??= string.IsNullOrWhiteSpace(fallbackVersion) ? null : fallbackVersion;
                if (requestedVersion is null)
                    throw new DindException(ErrorIds.NodeImageNotKubernetes, DindErrorCategory.InvalidArgument,
                        $"NodeImage: '{image}' has kubeadm but no {VersionFile}, so its Kubernetes version is unknown.", image, "NodeImage",
                        $"Pass -KubernetesVersion with the version of its kubeadm, or add {VersionFile} to the image as kind's images have.");
                version = requestedVersion.Trim();
            }
            else
            {
                version = versionText.Split('\n')[0].Trim();
                if (requestedVersion is not null && !SameVersion(requestedVersion, version))
                    throw new DindException(ErrorIds.KubernetesVersionMismatch, DindErrorCategory.InvalidArgument,
                        $"KubernetesVersion: {requestedVersion.Trim()} was asked for, but node image '{image}' has Kubernetes {version}.",
                        requestedVersion, "KubernetesVersion",
                        $"Leave -KubernetesVersion out (the image's {version} is used), or choose an image of {requestedVersion.Trim()}.");
            }
            var parsed = SpecValidator.ParseKubernetesVersion(version);
            var min = SpecValidator.MinKubernetesVersion;
            var max = SpecValidator.MaxKubernetesVersion;
            if (parsed is null || parsed < min || parsed >= new Version(max.Major, max.Minor + 1))
                throw new DindException(ErrorIds.UnsupportedKubernetesVersion, DindErrorCategory.InvalidArgument,
                    $"NodeImage: '{image}' has Kubernetes '{version}', outside the supported range v{min.Major}.{min.Minor} to v{max.Major}.{max.Minor}.",
                    version, "NodeImage", $"Use a node image of Kubernetes v{min.Major}.{min.Minor} to v{max.Major}.{max.Minor}.");
            if (!version.StartsWith('v')) version = "v" + version;

            var plugins = new List<string>();
            foreach (var plugin in new[] { "bridge", "ptp" })
                if (await docker.PathExistsAsync(id, $"{CniBinDirectory}/{plugin}", ct).ConfigureAwait(false))
                    plugins.Add(plugin);
            var dig = await FirstExistingAsync(docker, id, new[] { "/usr/bin/dig", "/usr/local/bin/dig" }, ct).ConfigureAwait(false) is not null;
            // Without /bin/true the probe cannot tell a refusal from a missing program: assume the reduced set.
            var privileged = await docker.PathExistsAsync(id, "/bin/true", ct).ConfigureAwait(false)
                && await PrivilegedPermittedAsync(docker, image, labels, clusterName, suffix, ct).ConfigureAwait(false);
            return new NodeImageFacts(image, version, kubeadm!, privileged, plugins, dig);
        }
        finally
        {
            await RemoveThrowawayAsync(docker, id).ConfigureAwait(false);
        }
    }

    private static bool SameVersion(string a, string b) =>
        string.Equals(a.Trim().TrimStart('v'), b.Trim().TrimStart('v'), StringComparison.OrdinalIgnoreCase);

    private static async Task<string?> FirstExistingAsync(IDockerApi docker, string id, IEnumerable<string> paths, CancellationToken ct)
    {
        foreach (var path in paths)
            if (await docker.PathExistsAsync(id, path, ct).ConfigureAwait(false))
                return path;
        return null;
    }

    /// <summary>
    /// Starts /bin/true with --privileged. Where the daemon's capability bounding set lacks a capability (docs/design/README.md, "Docker and kernel facts":
    /// CAP_SYS_RESOURCE here), runc refuses with "unable to apply caps" and the nodes get the near-privileged set instead.
    /// </summary>
    private static async Task<bool> PrivilegedPermittedAsync(IDockerApi docker, string image, Dictionary<string, string> labels, string clusterName, string suffix, CancellationToken ct)
    {
        var spec = new ContainerSpec($"{clusterName}-inspect-{suffix}-p", image, labels)
        {
            Entrypoint = new[] { "/bin/true" },
            Command = Array.Empty<string>(),
            Init = false,
            Privileged = true,
            Network = "none",
        };
        var id = await CreateThrowawayAsync(docker, spec, ct).ConfigureAwait(false);
        try
        {
            await docker.StartContainerAsync(id, ct).ConfigureAwait(false);
            return true;
        }
        catch (DindException e) when (e.ErrorId == ErrorIds.DockerApiError)
        {
            return false;
        }
        finally
        {
            await RemoveThrowawayAsync(docker, id).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Creates a throw-away container; when the create fails in any way (its answer lost to a dropped connection or
    /// Ctrl-C included), whatever the daemon made under that name is removed before the error goes on.
    /// </summary>
    private static async Task<string> CreateThrowawayAsync(IDockerApi docker, ContainerSpec spec, CancellationToken ct)
    {
        try
        {
            return await docker.CreateContainerAsync(spec, ct).ConfigureAwait(false);
        }
        catch
        {
            await RemoveThrowawayAsync(docker, spec.Name).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Removes a throw-away container on its own bounded time (also after Ctrl-C), trying twice; gone already is fine.</summary>
    private static async Task RemoveThrowawayAsync(IDockerApi docker, string idOrName)
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await docker.RemoveContainerAsync(idOrName, budget.Token).ConfigureAwait(false);
                return;
            }
            catch (DindException e) when (e.Category is DindErrorCategory.ObjectNotFound)
            {
                return;
            }
            catch (Exception e) when (attempt < 2 && e is DindException or OperationCanceledException)
            {
                await Task.Delay(200, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is DindException or OperationCanceledException)
            {
                return;     // what is left carries the cluster's label: Remove-DindCluster removes it
            }
        }
    }
}
