// Field names checked against kubernetes/kubernetes:
//   cmd/kubeadm/app/apis/kubeadm/v1beta3/types.go  (extraArgs / kubeletExtraArgs are string maps)
//   cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go  (master as of 2025: extraArgs / kubeletExtraArgs are lists of
//       {name, value}; timeouts moved to InitConfiguration/JoinConfiguration.timeouts, none are set here)
//   cmd/kubeadm/app/apis/bootstraptoken/v1 (BootstrapToken.token)
// What kubeadm derives itself, and is therefore not repeated here, was read in
//   cmd/kubeadm/app/phases/controlplane/manifests.go (apiserver advertise-address and service-cluster-ip-range;
//       controller-manager allocate-node-cidrs, cluster-cidr and service-cluster-ip-range whenever podSubnet is set)
//   cmd/kubeadm/app/phases/etcd/local.go (etcd listens on [::1] and the advertise address when that is IPv6).
// Shape and container path follow kubernetes-sigs/kind pkg/cluster/internal/kubeadm/config.go and
// pkg/cluster/internal/create/actions/config (the file goes to /kind/kubeadm.conf on each node).
using System.Text.RegularExpressions;
using Ipv6Dind.Core.Addressing;
using static Ipv6Dind.Core.Rendering.KubernetesYaml;

namespace Ipv6Dind.Core.Rendering;

/// <summary>Everything kubeadm's init and join configurations need. Build it by hand or with <see cref="From"/>.</summary>
public sealed record KubeadmOptions
{
    public required string ClusterName { get; init; }

    /// <summary>"v1.33.0" or "1.33.0"; decides the kubeadm API version. Give the node image's exact version: kubeadm pulls any other.</summary>
    public required string KubernetesVersion { get; init; }

    /// <summary>The control-plane node's management IPv6 address, where the API server is advertised.</summary>
    public required string ApiServerAddress { get; init; }

    public int ApiServerPort { get; init; } = 6443;

    public required string ServicePrefix { get; init; }

    public required string PodPrefix { get; init; }

    /// <summary>Length of each node's pod range (controller-manager's node-cidr-mask-size-ipv6).</summary>
    public required int PodNodePrefixLength { get; init; }

    /// <summary>The kube-dns service address (kubeadm's choice too: the tenth address of the service range).</summary>
    public required string KubeDnsAddress { get; init; }

    public string DnsDomain { get; init; } = "cluster.local";

    /// <summary>[a-z0-9]{6}.[a-z0-9]{16}; see <see cref="KubernetesConfigs.NewBootstrapToken"/>.</summary>
    public required string BootstrapToken { get; init; }

    /// <summary>The image the nodes run (for the caller; kubeadm's configuration has no field for it).</summary>
    public string? NodeImage { get; init; }

    public string CriSocket { get; init; } = "unix:///run/containerd/containerd.sock";

    /// <summary>
    /// Extra API server certificate names. The API server is also published on the host's [::1]:port, as kind
    /// publishes it on loopback, so ::1 and localhost belong here besides the node address.
    /// </summary>
    public required IReadOnlyList<string> CertSans { get; init; }

    /// <summary>Register the control plane without its NoSchedule taint (kind does this for single-node clusters).</summary>
    public bool ScheduleOnControlPlane { get; init; }

    /// <summary>Feature gates for every component, where kind's template puts them (see <see cref="DindClusterSpec.FeatureGates"/>).</summary>
    public IReadOnlyDictionary<string, bool> FeatureGates { get; init; } = new Dictionary<string, bool>();

    /// <summary>The API server's runtime-config, key to value.</summary>
    public IReadOnlyDictionary<string, string> RuntimeConfig { get; init; } = new Dictionary<string, string>();

    /// <summary>Merge patches for every node's configuration, applied before a node's own.</summary>
    public IReadOnlyList<string> KubeadmConfigPatches { get; init; } = Array.Empty<string>();

    /// <summary>RFC 6902 patches for every node's configuration, applied after the merge patches.</summary>
    public IReadOnlyList<KubeadmJson6902Patch> KubeadmConfigPatchesJson6902 { get; init; } = Array.Empty<KubeadmJson6902Patch>();

    /// <summary>Per-node labels and kubeadm patches, by node index (1: the control plane).</summary>
    public IReadOnlyList<DindNodeSettings> NodeSettings { get; init; } = Array.Empty<DindNodeSettings>();

    /// <summary>From a spec (unset fields take the planner's defaults) and its address plan.</summary>
    public static KubeadmOptions From(DindClusterSpec spec, AddressPlan plan, string bootstrapToken)
    {
        spec = SpecDefaults.Complete(spec);
        return new KubeadmOptions
        {
            ClusterName = spec.ClusterName,
            KubernetesVersion = spec.KubernetesVersion,
            ApiServerAddress = plan.ApiServerAddress,
            ServicePrefix = plan.ServicePrefix,
            PodPrefix = plan.PodPrefix,
            PodNodePrefixLength = plan.PodNodePrefixLength,
            KubeDnsAddress = plan.KubeDnsAddress,
            BootstrapToken = bootstrapToken,
            NodeImage = string.IsNullOrEmpty(spec.NodeImage) ? null : spec.NodeImage,
            CertSans = new[] { plan.ApiServerAddress, "::1", "localhost" },
            // Alone, the control plane must take workloads or the cluster runs nothing.
            ScheduleOnControlPlane = spec.Nodes == 1,
            FeatureGates = new Dictionary<string, bool>(spec.FeatureGates, StringComparer.Ordinal),
            RuntimeConfig = new Dictionary<string, string>(spec.RuntimeConfig, StringComparer.Ordinal),
            KubeadmConfigPatches = spec.KubeadmConfigPatches.ToList(),
            KubeadmConfigPatchesJson6902 = spec.KubeadmConfigPatchesJson6902.Select(p => p.Clone()).ToList(),
            NodeSettings = spec.NodeSettings.Where(n => n is not null).Select(n => n.Clone()).ToList(),
        };
    }

    /// <summary>The settings of node <paramref name="index"/>, or null.</summary>
    public DindNodeSettings? SettingsFor(int index) => NodeSettings.FirstOrDefault(n => n.Node == index);
}

/// <summary>kubeadm init and join configurations (kubeadm.k8s.io v1beta3 below Kubernetes 1.31, v1beta4 from 1.31).</summary>
public static partial class KubeadmRenderer
{
    public const string V1Beta3 = "kubeadm.k8s.io/v1beta3";
    public const string V1Beta4 = "kubeadm.k8s.io/v1beta4";

    /// <summary>kubeadm released v1beta4 in 1.31 (kubernetes/kubeadm#2890); v1beta3 keeps working there but is deprecated.</summary>
    public static readonly Version V1Beta4Since = new(1, 31);

    /// <summary>kind's well-known location for the kubeadm configuration inside a node.</summary>
    public const string ContainerPath = "/kind/kubeadm.conf";

    public const string FileName = "kubeadm.yaml";

    /// <summary>kind's template moved to v1beta4 only in 1.36 (pkg/cluster/internal/kubeadm/config.go of kubernetes-sigs/kind).</summary>
    public static readonly Version KindV1Beta4Since = new(1, 36);

    /// <summary>The kubeadm API version for a Kubernetes version within the supported range (else ArgumentException).</summary>
    public static string ApiVersionFor(string kubernetesVersion) =>
        ParseVersion(kubernetesVersion, nameof(kubernetesVersion)) < V1Beta4Since ? V1Beta3 : V1Beta4;

    /// <summary>
    /// The kubeadm API version the options are rendered in: <see cref="ApiVersionFor(string)"/>, except that where
    /// kind would still render v1beta3 (below 1.36) and the kubeadm patches name kubeadm.k8s.io/v1beta3 but never
    /// v1beta4, as patches written for kind do, the documents are v1beta3 (which kubeadm reads up to 1.35) so that
    /// those patches apply as they do in kind.
    /// </summary>
    public static string ApiVersionFor(KubeadmOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var own = ApiVersionFor(o.KubernetesVersion);
        if (own != V1Beta4 || ParseVersion(o.KubernetesVersion, nameof(o.KubernetesVersion)) >= KindV1Beta4Since) return own;
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (merge, json) in new[] { (o.KubeadmConfigPatches, o.KubeadmConfigPatchesJson6902) }
                     .Concat(o.NodeSettings.Select(n => ((IReadOnlyList<string>)n.KubeadmConfigPatches, (IReadOnlyList<KubeadmJson6902Patch>)n.KubeadmConfigPatchesJson6902))))
        {
            foreach (var text in merge)
            {
                try { named.UnionWith(KubeadmPatches.ParseMerge(text).Select(p => p.ApiVersion)); }
                catch (FormatException) { } // reported when the patches are applied
            }
            named.UnionWith(json.Select(p => p.ApiVersion));
        }
        return named.Contains(V1Beta3) && !named.Contains(V1Beta4) ? V1Beta3 : own;
    }

    /// <summary>
    /// kubeadm init for the control plane: InitConfiguration, ClusterConfiguration, KubeletConfiguration and
    /// KubeProxyConfiguration in one multi-document file.
    /// </summary>
    public static RenderedConfig RenderInit(KubeadmOptions o, NodeAddress controlPlane)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(controlPlane);
        var c = Checked.From(o);
        var apiVersion = ApiVersionFor(o);
        var v1beta4 = apiVersion == V1Beta4;
        var settings = o.SettingsFor(controlPlane.Index);
        var nodeIp = KubernetesChecks.Ipv6Address(controlPlane.IPv6Address, $"{nameof(controlPlane)}.{nameof(controlPlane.IPv6Address)}");
        if (nodeIp != c.ApiServerAddress)
            throw new ArgumentException(
                $"{nameof(controlPlane)}: the control plane's address {nodeIp} differs from {nameof(o.ApiServerAddress)} {c.ApiServerAddress}; the API server is advertised on the control-plane node.",
                nameof(controlPlane));

        var nodeRegistration = NodeRegistration(v1beta4, controlPlane, nodeIp, o.CriSocket, settings);
        if (o.ScheduleOnControlPlane)
            nodeRegistration.Add("taints", new Seq(), "Empty, not absent: no NoSchedule taint, so a single-node cluster runs workloads.");

        var init = new Map
        {
            { "apiVersion", apiVersion },
            { "kind", "InitConfiguration" },
            { "bootstrapTokens", new Seq { new Map { { "token", o.BootstrapToken } } } },
            {
                "localAPIEndpoint", new Map
                {
                    { "advertiseAddress", c.ApiServerAddress },
                    { "bindPort", o.ApiServerPort },
                }
            },
            { "nodeRegistration", nodeRegistration },
        };

        var cluster = new Map
        {
            { "apiVersion", apiVersion },
            { "kind", "ClusterConfiguration" },
            { "clusterName", o.ClusterName },
            { "kubernetesVersion", c.KubernetesVersion },
            { "controlPlaneEndpoint", c.ApiServerEndpoint },
            {
                "networking", new Map
                {
                    { "podSubnet", c.PodPrefix.ToString() },
                    { "serviceSubnet", c.ServicePrefix },
                    { "dnsDomain", o.DnsDomain },
                },
                "kubeadm derives from these and the advertise address what is not repeated below: etcd's listen\n" +
                "URLs ([::1] and the node), advertise-address, allocate-node-cidrs, cluster-cidr, service-cluster-ip-range."
            },
            {
                "apiServer", new Map
                {
                    { "certSANs", new Seq(c.CertSans.Select(s => (Node)s)) },
                    { "extraArgs", Args(v1beta4, new[] { ("bind-address", "::") }.Concat(RuntimeConfigArg(o)).Concat(FeatureGatesArg(o)).ToArray()) },
                }
            },
            {
                "controllerManager", new Map
                {
                    {
                        "extraArgs", Args(v1beta4, new[]
                        {
                            ("bind-address", "::"),
                            ("node-cidr-mask-size-ipv6", o.PodNodePrefixLength.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        }.Concat(FeatureGatesArg(o)).ToArray())
                    },
                }
            },
            { "scheduler", new Map { { "extraArgs", Args(v1beta4, new[] { ("bind-address", "::") }.Concat(FeatureGatesArg(o)).ToArray()) } } },
        };

        var kubelet = KubeletConfigRenderer.Document(new KubeletOptions
        {
            ClusterName = o.ClusterName,
            KubeDnsAddress = o.KubeDnsAddress,
            ClusterDomain = o.DnsDomain,
            KubernetesVersion = o.KubernetesVersion,
        });
        var proxy = KubeProxyConfigRenderer.Document(new KubeProxyOptions
        {
            ClusterName = o.ClusterName,
            ClusterCidr = o.PodPrefix,
        });
        // kind's template gives the kubelet and kube-proxy the gates in their own configurations.
        if (o.FeatureGates.Count > 0)
        {
            kubelet.Add("featureGates", GatesMap(o));
            proxy.Add("featureGates", GatesMap(o));
        }

        var documents = new[] { init, cluster, kubelet, proxy };
        Patch(documents, o, settings);
        return new RenderedConfig
        {
            ClusterName = o.ClusterName,
            Kind = "Kubeadm",
            NodeName = controlPlane.NodeName,
            FileName = FileName,
            ContainerPath = ContainerPath,
            Content = KubernetesYaml.Write(documents),
        };
    }

    /// <summary>
    /// kubeadm join for a worker. <paramref name="caCertHash"/> ("sha256:&lt;hex&gt;" or the bare hex) pins the
    /// cluster CA; the lab flow reads it from the control plane after init and passes it here. Only when it is
    /// null does the configuration fall back to unsafeSkipCAVerification, as kind's template does.
    /// </summary>
    public static RenderedConfig RenderJoin(KubeadmOptions o, NodeAddress node, string? caCertHash)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(node);
        var c = Checked.From(o);
        var apiVersion = ApiVersionFor(o);
        var settings = o.SettingsFor(node.Index);
        var nodeIp = KubernetesChecks.Ipv6Address(node.IPv6Address, $"{nameof(node)}.{nameof(node.IPv6Address)}");

        var bootstrapToken = new Map
        {
            { "apiServerEndpoint", c.ApiServerEndpoint },
            { "token", o.BootstrapToken },
        };
        if (caCertHash is not null)
            bootstrapToken.Add("caCertHashes", new Seq { NormalizeCaCertHash(caCertHash) });
        else
            bootstrapToken.Add("unsafeSkipCAVerification", true,
                "No CA hash was given: trust whatever answers at apiServerEndpoint (a private lab network only).");

        var join = new Map
        {
            { "apiVersion", apiVersion },
            { "kind", "JoinConfiguration" },
            { "discovery", new Map { { "bootstrapToken", bootstrapToken } } },
            { "nodeRegistration", NodeRegistration(apiVersion == V1Beta4, node, nodeIp, o.CriSocket, settings) },
        };

        Patch(new[] { join }, o, settings);
        return new RenderedConfig
        {
            ClusterName = o.ClusterName,
            Kind = "Kubeadm",
            NodeName = node.NodeName,
            FileName = FileName,
            ContainerPath = ContainerPath,
            Content = KubernetesYaml.Write(join),
        };
    }

    /// <summary>"sha256:" + 64 lowercase hex digits, from either that form or the bare hex.</summary>
    public static string NormalizeCaCertHash(string caCertHash)
    {
        var hex = caCertHash.Trim();
        if (hex.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase)) hex = hex["sha256:".Length..];
        if (!Sha256Hex().IsMatch(hex))
            throw new ArgumentException($"caCertHash: '{caCertHash}' is not sha256:<64 hex digits> (the SPKI hash kubeadm prints after init).", nameof(caCertHash));
        return "sha256:" + hex.ToLowerInvariant();
    }

    private static Map NodeRegistration(bool v1beta4, NodeAddress node, string nodeIp, string criSocket, DindNodeSettings? settings)
    {
        if (string.IsNullOrWhiteSpace(node.NodeName))
            throw new ArgumentException("node.NodeName: a node name is required (it becomes the Node object's name).", nameof(node));
        if (string.IsNullOrWhiteSpace(criSocket))
            throw new ArgumentException("CriSocket: a CRI socket URL is required (e.g. unix:///run/containerd/containerd.sock).", nameof(criSocket));
        return new Map
        {
            { "name", node.NodeName },
            { "criSocket", criSocket },
            // The kubelet would otherwise pick its node IP itself; pin it to the management IPv6 address.
            // Node labels go where kind puts them: the kubelet's node-labels.
            { "kubeletExtraArgs", Args(v1beta4, new[] { ("node-ip", nodeIp) }.Concat(NodeLabelsArg(settings)).ToArray()) },
        };
    }

    /// <summary>v1beta4: a list of {name, value} (duplicates allowed); v1beta3: a string map.</summary>
    private static Node Args(bool v1beta4, params (string Name, string Value)[] args)
    {
        if (v1beta4)
            return new Seq(args.Select(a => (Node)new Map { { "name", a.Name }, { "value", a.Value } }));
        var map = new Map();
        foreach (var (name, value) in args) map.Add(name, value);
        return map;
    }

    private static Version ParseVersion(string? text, string option)
    {
        var version = SpecValidator.ParseKubernetesVersion(text)
            ?? throw new ArgumentException($"{option}: '{text}' is not a Kubernetes version (e.g. v1.33.0).", option);
        var min = SpecValidator.MinKubernetesVersion;
        var max = SpecValidator.MaxKubernetesVersion;
        if (version < min || version >= new Version(max.Major, max.Minor + 1))
            throw new ArgumentException(
                $"{option}: {text} is outside the supported range v{min.Major}.{min.Minor} to v{max.Major}.{max.Minor}.", option);
        return version;
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Hex();

    /// <summary>The options after validation, in canonical text.</summary>
    private sealed record Checked(string KubernetesVersion, string ApiServerAddress, string ApiServerEndpoint,
        Ipv6Prefix PodPrefix, string ServicePrefix, IReadOnlyList<string> CertSans)
    {
        public static Checked From(KubeadmOptions o)
        {
            var version = ParseVersion(o.KubernetesVersion, nameof(o.KubernetesVersion));
            if (string.IsNullOrWhiteSpace(o.ClusterName))
                throw new ArgumentException("ClusterName: a cluster name is required.", nameof(o.ClusterName));
            var api = KubernetesChecks.Ipv6Address(o.ApiServerAddress, nameof(o.ApiServerAddress));
            KubernetesChecks.Port(o.ApiServerPort, nameof(o.ApiServerPort));
            var pods = KubernetesChecks.ParsePrefix(o.PodPrefix, nameof(o.PodPrefix));
            var services = KubernetesChecks.PrefixText(o.ServicePrefix, nameof(o.ServicePrefix));
            // kubeadm refuses a node mask more than 16 bits longer than the pod subnet (PodSubnetNodeMaskMaxDiff).
            if (o.PodNodePrefixLength <= pods.Length || o.PodNodePrefixLength > 128 || o.PodNodePrefixLength - pods.Length > 16)
                throw new ArgumentException(
                    $"PodNodePrefixLength: /{o.PodNodePrefixLength} does not split {pods} the way kubeadm allows; use /{pods.Length + 1} to /{Math.Min(pods.Length + 16, 128)}.",
                    nameof(o.PodNodePrefixLength));
            KubernetesChecks.Ipv6Address(o.KubeDnsAddress, nameof(o.KubeDnsAddress));
            KubernetesChecks.DnsDomain(o.DnsDomain, nameof(o.DnsDomain));
            KubernetesChecks.BootstrapToken(o.BootstrapToken, nameof(o.BootstrapToken));
            if (o.CertSans is null)
                throw new ArgumentException("CertSans: give at least the API server address, ::1 and localhost.", nameof(o.CertSans));
            // IP SANs in canonical form; names (localhost) as they are. An IPv4 literal has no place in this cluster.
            var sans = o.CertSans.Select(s => System.Net.IPAddress.TryParse(s, out _)
                    ? KubernetesChecks.Ipv6Address(s, nameof(o.CertSans))
                    : s)
                .Distinct(StringComparer.Ordinal)
                .ToArray();
            return new Checked($"v{version.Major}.{version.Minor}.{Math.Max(version.Build, 0)}", api,
                $"[{api}]:{o.ApiServerPort}", pods, services, sans);
        }
    }
}
