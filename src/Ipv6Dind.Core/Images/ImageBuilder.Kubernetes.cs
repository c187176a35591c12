using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Images;

/// <summary>
/// The product's own Kubernetes node image (kubeadm-dind-cluster's BUILD_KUBEADM / BUILD_HYPERKUBE use): the node
/// image plus systemd, containerd and runc from Debian, the user's locally built kubeadm, kubelet and kubectl, and
/// kubeadm's kubelet unit, laid out as kindest/node is (systemd as PID 1, /kind/version), so New-DindCluster
/// treats it like any kindest/node-compatible image.
/// </summary>
public sealed partial class ImageBuilder
{
    public const string KubernetesNodeRepository = "ipv6dind/kubernetes-node";
    public const string KubernetesNodeRole = "kubernetes-node";
    public static readonly IReadOnlyList<string> KubernetesBinaries = new[] { "kubeadm", "kubelet", "kubectl" };
    public static readonly IReadOnlyList<string> KubernetesNodePackages = new[]
    {
        "systemd", "systemd-sysv", "dbus", "containerd", "runc", "conntrack", "ethtool", "socat", "kmod", "ebtables", "ca-certificates",
    };

    /// <summary>kubeadm's kubelet unit (kubernetes/release: cmd/krel/templates/latest/kubelet/kubelet.service).</summary>
    public const string KubeletService = """
        [Unit]
        Description=kubelet: The Kubernetes Node Agent
        Documentation=https://kubernetes.io/docs/
        Wants=network-online.target
        After=network-online.target

        [Service]
        ExecStart=/usr/bin/kubelet
        Restart=always
        StartLimitInterval=0
        RestartSec=10

        [Install]
        WantedBy=multi-user.target

        """;

    /// <summary>kubeadm's drop-in (cmd/krel/templates/latest/kubeadm/10-kubeadm.conf): flags from the files kubeadm writes.</summary>
    public const string KubeadmDropIn = """
        [Service]
        Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
        Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
        EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
        EnvironmentFile=-/etc/default/kubelet
        ExecStart=
        ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS

        """;

    /// <summary>
    /// containerd's CRI settings: the systemd cgroup driver (the rendered KubeletConfiguration says cgroupDriver:
    /// systemd; both must agree) and Debian's CNI plugin directory.
    /// </summary>
    public const string ContainerdConfig = """
        version = 2
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = true
        [plugins."io.containerd.grpc.v1.cri".cni]
          bin_dir = "/usr/lib/cni"
          conf_dir = "/etc/cni/net.d"

        """;

    /// <summary>ipv6dind/kubernetes-node:&lt;kubernetes version&gt;-&lt;module version&gt;.</summary>
    public static string KubernetesNodeReference(string kubernetesVersion) => $"{KubernetesNodeRepository}:{kubernetesVersion}-{ModuleVersion}";

    /// <summary>
    /// The Dockerfile of the Kubernetes node layer (on the module's node image). Nothing user-given is spliced into its
    /// RUN lines (they are shell): the Kubernetes version arrives as a file of the build context, kind-version.
    /// </summary>
    public static string KubernetesNodeDockerfile(string nodeReference) =>
        $"FROM {nodeReference}\n" +
        "RUN apt-get update \\\n" +
        " && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " + string.Join(' ', KubernetesNodePackages) + " \\\n" +
        " && rm -rf /var/lib/apt/lists/*\n" +
        "COPY kubeadm kubelet kubectl /usr/bin/\n" +
        "COPY kubelet.service /etc/systemd/system/kubelet.service\n" +
        "COPY 10-kubeadm.conf /etc/systemd/system/kubelet.service.d/10-kubeadm.conf\n" +
        "COPY containerd-config.toml /etc/containerd/config.toml\n" +
        "COPY kind-version /kind/version\n" +
        "RUN chmod 0755 /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl \\\n" +
        " && mkdir -p /kind /etc/cni/net.d /opt/cni \\\n" +
        " && ln -sfn /usr/lib/cni /opt/cni/bin \\\n" +
        " && systemctl enable containerd kubelet\n" +
        "ENV container=docker\n" +
        // systemd's clean shutdown signal; docker stop sends it.
        "STOPSIGNAL SIGRTMIN+3\n" +
        "ENTRYPOINT [\"/sbin/init\"]\n";

    /// <summary>
    /// Builds (or finds, by recipe hash over the Dockerfile, unit files and binaries) the Kubernetes node image from
    /// a directory holding kubeadm, kubelet and kubectl. The version comes from <paramref name="kubernetesVersion"/>
    /// or, when empty, from running that kubeadm ("kubeadm version -o short") on this host.
    /// </summary>
    public async Task<BuiltImage> EnsureKubernetesNodeImageAsync(string binaryPath, string? kubernetesVersion, bool force)
    {
        var ct = _ctx.Cancellation;
        var directory = Path.GetFullPath(binaryPath);
        if (!Directory.Exists(directory))
            throw new DindException(ErrorIds.InvalidPath, DindErrorCategory.ObjectNotFound,
                $"KubernetesBinaryPath: '{binaryPath}' is not a directory.", binaryPath, "KubernetesBinaryPath",
                "Give the directory with your kubeadm, kubelet and kubectl builds (e.g. _output/bin of a Kubernetes build).");
        var missing = KubernetesBinaries.Where(b => !File.Exists(Path.Combine(directory, b))).ToList();
        if (missing.Count > 0)
            throw new DindException(ErrorIds.ImageToolMissing, DindErrorCategory.ObjectNotFound,
                $"KubernetesBinaryPath: '{directory}' has no {string.Join(", no ", missing)}.", directory, "KubernetesBinaryPath",
                "The directory must hold kubeadm, kubelet and kubectl (linux/amd64 builds).");

        var version = string.IsNullOrWhiteSpace(kubernetesVersion)
            ? await KubeadmVersionAsync(Path.Combine(directory, "kubeadm"), ct).ConfigureAwait(false)
            : kubernetesVersion.Trim();
        var parsed = SpecValidator.ParseKubernetesVersion(version);
        var min = SpecValidator.MinKubernetesVersion;
        var max = SpecValidator.MaxKubernetesVersion;
        if (parsed is null || parsed < min || parsed >= new Version(max.Major, max.Minor + 1))
            throw new DindException(ErrorIds.UnsupportedKubernetesVersion, DindErrorCategory.InvalidArgument,
                $"KubernetesVersion: '{version}' is not a Kubernetes version from v{min.Major}.{min.Minor} to v{max.Major}.{max.Minor}.", version, "KubernetesVersion",
                $"Use binaries of Kubernetes v{min.Major}.{min.Minor} to v{max.Major}.{max.Minor}.");
        if (!version.StartsWith('v')) version = "v" + version;

        var node = (await EnsureImagesAsync(new[] { "node" }, force: false).ConfigureAwait(false)).Single();
        var reference = KubernetesNodeReference(version);
        var dockerfile = KubernetesNodeDockerfile(node.Reference);
        var files = new List<(string Name, string? Text, string? Path)>
        {
            ("Dockerfile", dockerfile, null),
            ("kubelet.service", KubeletService, null),
            ("10-kubeadm.conf", KubeadmDropIn, null),
            ("containerd-config.toml", ContainerdConfig, null),
            ("kind-version", version + "\n", null),
        };
        files.AddRange(KubernetesBinaries.Select(b => (b, (string?)null, (string?)Path.Combine(directory, b))));
        var hash = await RecipeHashAsync(node.Id, files, ct).ConfigureAwait(false);

        var existing = await _docker.InspectImageAsync(reference, ct).ConfigureAwait(false);
        if (!force && existing is not null && existing.Labels.TryGetValue(ImageRecipes.RecipeLabel, out var label) && label == hash)
        {
            _ctx.Log.Verbose($"{reference} is up to date (recipe {hash[..12]}).");
            return new BuiltImage(KubernetesNodeRole, reference, existing.Id, Built: false);
        }

        Report($"Building {reference}: systemd, containerd and Kubernetes {version} from {directory}", 60);
        await using var context = new MemoryStream();
        await using (var writer = new TarWriter(context, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, text, path) in files)
            {
                if (path is not null)
                {
                    await writer.WriteEntryAsync(path, name, ct).ConfigureAwait(false);
                    continue;
                }
                var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
                {
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                    ModificationTime = DateTimeOffset.UnixEpoch,
                    DataStream = new MemoryStream(new UTF8Encoding(false).GetBytes(text!)),
                };
                await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
            }
        }
        context.Position = 0;
        var id = await BuildLabelledAsync(context, reference, KubernetesNodeRole, hash,
            $"(apt-get install {string.Join(' ', KubernetesNodePackages)}, then the binaries)",
            "Check that the Debian mirror answers and that the binaries are linux/amd64 executables.").ConfigureAwait(false);
        _ctx.Progress.Report(new DindProgress(Activity, "Done", 100, Completed: true));
        return new BuiltImage(KubernetesNodeRole, reference, id, Built: true);
    }

    private static async Task<string> RecipeHashAsync(string baseImageId, IEnumerable<(string Name, string? Text, string? Path)> files, CancellationToken ct)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(baseImageId + "\n"));
        foreach (var (name, text, path) in files)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(name + "\n"));
            if (text is not null)
                sha.AppendData(Encoding.UTF8.GetBytes(text));
            else
            {
                await using var stream = File.OpenRead(path!);
                sha.AppendData(await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false));
            }
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    private async Task<string> KubeadmVersionAsync(string kubeadm, CancellationToken ct)
    {
        ExecResult result;
        try
        {
            result = await HostCommandRunner.Instance.RunAsync(kubeadm, new[] { "version", "-o", "short" }, null, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        }
        catch (DindException e)
        {
            throw new DindException(ErrorIds.ImageToolMissing, DindErrorCategory.InvalidOperation,
                $"KubernetesVersion: running {kubeadm} version failed ({e.Message}), so the version is unknown.", kubeadm, "KubernetesVersion",
                "Pass -KubernetesVersion (e.g. v1.31.2).", e);
        }
        var text = result.StandardOutput.Trim();
        if (!result.Succeeded || text.Length == 0)
            throw new DindException(ErrorIds.ImageToolMissing, DindErrorCategory.InvalidOperation,
                $"KubernetesVersion: '{kubeadm} version -o short' failed (exit {result.ExitCode}): {result.StandardError.Trim()}", kubeadm, "KubernetesVersion",
                "Pass -KubernetesVersion (e.g. v1.31.2).");
        _ctx.Log.Verbose($"{kubeadm} is {text}.");
        return text;
    }
}
