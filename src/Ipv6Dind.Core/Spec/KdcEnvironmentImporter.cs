// Over 400 lines on purpose: one importer that follows dind-cluster.sh's variable block in its own order, each
// variable's reading beside the rule it reproduces.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Spec;

/// <summary>
/// Turns the environment of a kubeadm-dind-cluster (k-d-c) <c>IP_MODE=ipv6</c> run into a spec with the same
/// addresses, as far as the model allows.
/// <para>
/// Read from <c>dind-cluster.sh</c> of kubernetes-retired/kubeadm-dind-cluster (commit 007b433, the last release):
/// the variable block after "START OF PROCESSING" (IP_MODE, the CLUSTER_ID/DIND_LABEL multi-cluster rules, the
/// <c>elif [[ ${IP_MODE} = "ipv6" ]]</c> defaults, REMOTE_DNS64_V4SERVER/DNS64_PREFIX/NAT64_V4_SUBNET_PREFIX),
/// <c>dind::add-cluster</c>, <c>dind::get-and-validate-cidrs</c>, <c>dind::add-cluster-id-and-validate-nat64-prefix</c>,
/// the pod-prefix loop ("size will be increased by 8"), <c>dind::run</c> (node id → pod prefix), <c>dind::ensure-nat</c>
/// (tayga pool <c>${NAT64_V4_SUBNET_PREFIX}.0.128/25</c>), <c>dind::init</c> (master is node id 1) and
/// <c>dind::create-node-container</c> (kube-node-N is node id N+1). DIND_SUBNET without DIND_SUBNET_SIZE follows the
/// 2018 script (Mirantis/kubeadm-dind-cluster 272fe5b: <c>DIND_SUBNET_SIZE="${DIND_SUBNET_SIZE:-64}"</c>), the one the
/// seed blog post documents.
/// </para>
/// <para>
/// As in the script, an empty variable counts as unset (<c>${VAR:-default}</c>). Variables that would change the
/// cluster in a way Ipv6Dind cannot reproduce are errors; variables about how k-d-c itself ran (builds, kubectl,
/// snapshots, e2e) and unknown <c>DIND_*</c> variables become warnings. Everything else in the process environment
/// is ignored.
/// </para>
/// </summary>
public static partial class KdcEnvironmentImporter
{
    /// <summary>Name when neither a name nor DIND_LABEL/CLUSTER_ID is given: k-d-c's kubectl context ("dind").</summary>
    public const string DefaultClusterName = "dind";

    // k-d-c's IPv6-mode defaults (last release). Node ids, not these, made each node's pod prefix.
    internal const string DefaultManagementCidr = "fd00:20::/64";  // mgmt_net_defaults
    internal const string DefaultServiceCidr = "fd00:30::/110";    // SERVICE_CIDR
    internal const string DefaultPodCidr = "fd00:40::/72";         // pod_net_defaults
    internal const string DefaultDns64Prefix = "fd00:10:64:ff9b::"; // DNS64_PREFIX
    internal const string DefaultDns64PrefixSize = "96";            // DNS64_PREFIX_SIZE
    internal const int DefaultWorkers = 2;                          // NUM_NODES: workers besides the master
    internal const string LegacySubnetSize = "64";                  // DIND_SUBNET_SIZE of the 2018 script
    internal const string DefaultNat64SubnetPrefix = "172.18";      // NAT64_V4_SUBNET_PREFIX (documented, not used: see Import)
    internal const string DefaultDindLabel = "mirantis.kubeadm_dind_cluster_runtime";

    /// <summary>Variables this importer maps.</summary>
    private static readonly HashSet<string> Handled = new(StringComparer.Ordinal)
    {
        "IP_MODE", "CLUSTER_ID", "DIND_LABEL", "NUM_NODES", "MGMT_CIDRS", "DIND_SUBNET", "DIND_SUBNET_SIZE",
        "SERVICE_CIDR", "POD_NETWORK_CIDR", "DNS64_PREFIX", "DNS64_PREFIX_SIZE", "NAT64_V4_SUBNET_PREFIX",
        "REMOTE_DNS64_V4SERVER", "DIND_ALLOW_AAAA_USE", "CNI_PLUGIN", "GCE_HOSTED",
    };

    /// <summary>
    /// k-d-c variables that shape the nodes or the control plane in ways Ipv6Dind does not do: importing them
    /// silently would give a different cluster, so they are errors. A value in <c>Ignorable</c> means "as if unset".
    /// </summary>
    private static readonly (string Name, string Does, string[] Ignorable)[] Unsupported =
    {
        ("DIND_CUSTOM_NETWORKS", "connects the node containers to extra Docker networks; Ipv6Dind nodes join only their cluster's network", Array.Empty<string>()),
        ("FEATURE_GATES", "sets feature gates on the control-plane components; Ipv6Dind renders kubeadm configs without custom feature gates", new[] { "none" }),
        ("KUBELET_FEATURE_GATES", "sets kubelet feature gates; Ipv6Dind renders kubelet configs without custom feature gates", new[] { "none" }),
        ("ENABLE_CEPH", "mounts the host's /dev, /sys/bus and Docker socket into the nodes; Ipv6Dind does not", Array.Empty<string>()),
        ("MASTER_EXTRA_OPTS", "adds 'docker run' options to the master container; Ipv6Dind creates its containers itself", Array.Empty<string>()),
        ("EXTRA_PORTS", "publishes extra node ports on the host; Ipv6Dind publishes none", Array.Empty<string>()),
        ("DIND_HTTP_PROXY", "configures an HTTP proxy for Docker inside the nodes; Ipv6Dind nodes reach IPv4 sites through DNS64/NAT64 and take no proxy settings", Array.Empty<string>()),
        ("DIND_HTTPS_PROXY", "configures an HTTPS proxy for Docker inside the nodes; Ipv6Dind nodes take no proxy settings", Array.Empty<string>()),
        ("DIND_NO_PROXY", "configures proxy exceptions for Docker inside the nodes; Ipv6Dind nodes take no proxy settings", Array.Empty<string>()),
        ("DIND_PROPAGATE_HTTP_PROXY", "copies the nodes' *_proxy variables into their Docker daemons; Ipv6Dind nodes take no proxy settings", Array.Empty<string>()),
        ("DIND_CA_CERT_URL", "installs an extra CA certificate in every node; Ipv6Dind does not", Array.Empty<string>()),
        ("DIND_REGISTRY_MIRROR", "configures a registry mirror for Docker inside the nodes; Ipv6Dind does not (Copy-DindImage loads local images)", Array.Empty<string>()),
        ("DIND_INSECURE_REGISTRIES", "configures insecure registries for Docker inside the nodes; Ipv6Dind does not (Copy-DindImage loads local images)", Array.Empty<string>()),
        ("DIND_DAEMON_JSON_FILE", "copies a daemon.json into the nodes' Docker daemons; Ipv6Dind does not", new[] { "/etc/docker/daemon.json", "/dev/null" }),
    };

    /// <summary>k-d-c variables about how the script itself ran: read, reported, not part of a spec.</summary>
    private static readonly Dictionary<string, string> Informational = new(StringComparer.Ordinal)
    {
        ["BUILD_KUBEADM"] = "builds kubeadm from a Kubernetes source tree; build it yourself and pass it to Build-DindImage -KubernetesBinaryPath",
        ["BUILD_HYPERKUBE"] = "builds hyperkube from a Kubernetes source tree; build the binaries yourself and pass them to Build-DindImage -KubernetesBinaryPath",
        ["KUBEADM_SOURCE"] = "selects where k-d-c's node image takes kubeadm from; use Build-DindImage -KubernetesBinaryPath",
        ["HYPERKUBE_SOURCE"] = "selects where k-d-c's node image takes hyperkube from; use Build-DindImage -KubernetesBinaryPath",
        ["DIND_K8S_BIN_DIR"] = "mounts locally built Kubernetes binaries into the nodes; use Build-DindImage -KubernetesBinaryPath",
        ["KUBEADM_DIND_LOCAL"] = "builds Kubernetes binaries without the build container; use Build-DindImage -KubernetesBinaryPath",
        ["DIND_IMAGE"] = "selects k-d-c's node image, which Ipv6Dind cannot run; use -NodeImage with a kindest/node-compatible image, or the module's own",
        ["DIND_IMAGE_BASE"] = "selects k-d-c's node image repository; use -NodeImage",
        ["DIND_COMMIT"] = "selects a k-d-c node image by commit; use -NodeImage",
        ["DIND_IMAGE_DIGEST"] = "pins k-d-c's node image by digest; use -NodeImage",
        ["DIND_K8S_VERSION"] = "selects the Kubernetes version of k-d-c's node image; use -KubernetesVersion",
        ["DIND_SKIP_PULL"] = "skips pulling k-d-c's node image",
        ["DIND_CRI"] = "chooses the container runtime inside k-d-c's node image; the node image decides in Ipv6Dind",
        ["DIND_STORAGE_DRIVER"] = "chooses the storage driver of Docker inside k-d-c's nodes; Ipv6Dind's nodes run containerd",
        ["DNS_SERVICE"] = "chooses kube-dns or CoreDNS; Ipv6Dind always deploys CoreDNS (k-d-c forced it too from Kubernetes 1.13)",
        ["USE_HAIRPIN"] = "sets hairpin mode in k-d-c's CNI config; Ipv6Dind's CNI configs set it themselves",
        ["CALICO_VERSION"] = "selects the Calico manifests k-d-c downloaded; Ipv6Dind renders its own Calico configuration",
        ["KUBE_ROUTER_VERSION"] = "selects kube-router, which Ipv6Dind does not use",
        ["SKIP_SNAPSHOT"] = "controls k-d-c's snapshots; Ipv6Dind has none (Reset-DindCluster rebuilds with the same addresses)",
        ["SKIP_DASHBOARD"] = "controls k-d-c's dashboard deployment; Ipv6Dind deploys no dashboard",
        ["DASHBOARD_URL"] = "selects the dashboard manifest; Ipv6Dind deploys no dashboard",
        ["E2E_REPORT_DIR"] = "is for k-d-c's e2e runs",
        ["DIND_NO_PARALLEL_E2E"] = "is for k-d-c's e2e runs",
        ["KUBECTL_DIR"] = "is where k-d-c kept kubectl; use Get-DindKubeconfig with your own kubectl",
        ["DOWNLOAD_KUBECTL"] = "makes k-d-c download kubectl; use Get-DindKubeconfig with your own kubectl",
        ["LOCAL_KUBECTL_VERSION"] = "selects the kubectl k-d-c downloads; use Get-DindKubeconfig with your own kubectl",
        ["APISERVER_PORT"] = "is the host port k-d-c published the API server on; use Get-DindKubeconfig",
        ["DIND_PORT_FORWARDER"] = "runs a port forwarder for the API server; use Get-DindKubeconfig",
        ["KUBE_RSYNC_ADDR"] = "is the rsync address of the Kubernetes build container",
        ["ETCD_HOST"] = "is the etcd address for k-d-c's source builds",
        ["RUN_ON_BTRFS_ANYWAY"] = "overrides k-d-c's btrfs check; Test-DindHost checks the host",
        ["EMBEDDED_CONFIG"] = "is internal to the released dind-cluster-*.sh scripts",
        // Computed by the script from other variables; a value in the environment was overwritten, so it is too here.
        ["POD_NET_PREFIX"] = "is computed by dind-cluster.sh from POD_NETWORK_CIDR (the environment value was overwritten)",
        ["POD_NET_SIZE"] = "is computed by dind-cluster.sh from POD_NETWORK_CIDR (the environment value was overwritten)",
        ["POD_NET2_PREFIX"] = "is computed by dind-cluster.sh for dual-stack (the environment value was overwritten)",
        ["POD_NET2_SIZE"] = "is computed by dind-cluster.sh for dual-stack (the environment value was overwritten)",
        ["DNS64_PREFIX_CIDR"] = "is computed by dind-cluster.sh from DNS64_PREFIX and DNS64_PREFIX_SIZE (the environment value was overwritten)",
        ["LOCAL_NAT64_SERVER"] = "is computed by dind-cluster.sh as the management network's ::200 (Ipv6Dind uses the same offset)",
        ["DNS_SVC_IP"] = "is computed by dind-cluster.sh from SERVICE_CIDR",
        ["SERVICE_NET_MODE"] = "is computed by dind-cluster.sh from SERVICE_CIDR",
        ["DIND_ROOT"] = "is computed by dind-cluster.sh (its own directory)",
    };

    /// <summary>Imports <paramref name="environment"/> (usually the whole process environment).</summary>
    /// <param name="environment">Variable name → value; names are matched exactly, as the shell does.</param>
    /// <param name="clusterName">The cluster name; by default derived from DIND_LABEL/CLUSTER_ID as k-d-c named its resources.</param>
    public static SpecImportResult Import(IReadOnlyDictionary<string, string> environment, string? clusterName = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var env = environment;
        var warnings = new List<string>();
        var spec = SpecYaml.Blank();

        string? Get(string name) =>
            env.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

        // IP mode: the only one Ipv6Dind builds is ipv6. k-d-c's own default is ipv4, but nobody imports an
        // environment into an IPv6 tool to get IPv4, so a missing IP_MODE is a warning, not an error.
        var ipMode = Get("IP_MODE");
        if (ipMode is null)
            warnings.Add("IP_MODE is not set (kubeadm-dind-cluster's default is ipv4); imported as ipv6, the only mode Ipv6Dind builds.");
        else if (!ipMode.Equals("ipv6", StringComparison.OrdinalIgnoreCase))
            throw Refused("IP_MODE", ipMode,
                $"IP_MODE={ipMode}: Ipv6Dind builds IPv6-only clusters with DNS64/NAT64; {(ipMode.Equals("dual-stack", StringComparison.OrdinalIgnoreCase) ? "dual-stack" : "ipv4")} clusters are out of its scope.",
                "Only IP_MODE=ipv6 (or IP_MODE unset) can be imported; kind or kubeadm-dind-cluster itself build IPv4 and dual-stack clusters.");

        CheckUnsupportedVariables(env, Get);

        // Name and cluster id (the "Multicluster support" block).
        var clusterIdText = Get("CLUSTER_ID");
        var clusterId = 0;
        if (clusterIdText is not null &&
            (!int.TryParse(clusterIdText, NumberStyles.None, CultureInfo.InvariantCulture, out clusterId) || clusterId > 254))
            throw Malformed(ErrorIds.SpecFileInvalid, "CLUSTER_ID", clusterIdText, "is not a cluster id.", "Use a number from 0 to 254, as dind-cluster.sh expects.");
        var label = Get("DIND_LABEL");
        if (label == DefaultDindLabel) label = null;
        string derivedName;
        if (label is null)
            derivedName = clusterId == 0 ? DefaultClusterName : $"cluster-{clusterId}";
        else if (clusterId == 0)
        {
            // k-d-c then picked a pseudo-random id ($RANDOM % 12 + 1) for the management network and NAT64 pool:
            // not reproducible, so no offset is applied and the user is told.
            derivedName = label;
            warnings.Add($"DIND_LABEL={label} without a CLUSTER_ID: kubeadm-dind-cluster offset the management network and NAT64 pool by a random cluster id (1..13) that cannot be recovered; no offset is applied. Set CLUSTER_ID to the id that run used to reproduce its addresses.");
        }
        else
            derivedName = $"{label}-{clusterId}";
        if (clusterName is null)
        {
            var problem = SpecValidator.ClusterNameProblem(derivedName);
            if (problem is not null)
                throw new DindException(ErrorIds.InvalidClusterName, DindErrorCategory.InvalidArgument,
                    $"DIND_LABEL={label}: the cluster name it gives is unusable: {problem}",
                    derivedName, "DIND_LABEL", "Give the cluster a name of your own, e.g. 'lab'.");
        }
        spec.ClusterName = clusterName ?? derivedName;

        // Nodes: the master plus NUM_NODES workers (dind::up starts kube-node-1..NUM_NODES after the master).
        var numNodes = Get("NUM_NODES");
        var workers = DefaultWorkers;
        if (numNodes is not null && !int.TryParse(numNodes, NumberStyles.None, CultureInfo.InvariantCulture, out workers))
            throw Malformed(ErrorIds.SpecFileInvalid, "NUM_NODES", numNodes, "is not a number of worker nodes.",
                "Give a whole number such as 2 (NUM_NODES counts the workers besides the master).");
        spec.Nodes = workers >= int.MaxValue - 1 ? int.MaxValue : workers + 1;

        // Management network: MGMT_CIDRS, else the legacy DIND_SUBNET(/DIND_SUBNET_SIZE), else the default; then
        // the cluster id goes in as dind::add-cluster does it.
        string mgmtCidr, mgmtVariable;
        var mgmtCidrs = Get("MGMT_CIDRS");
        var dindSubnet = Get("DIND_SUBNET");
        var dindSubnetSize = Get("DIND_SUBNET_SIZE");
        if (mgmtCidrs is not null)
        {
            mgmtCidr = Single("MGMT_CIDRS", mgmtCidrs, "management");
            mgmtVariable = "MGMT_CIDRS";
            if (dindSubnet is not null || dindSubnetSize is not null)
                warnings.Add("DIND_SUBNET/DIND_SUBNET_SIZE: ignored because MGMT_CIDRS is set, as dind-cluster.sh does.");
        }
        else if (dindSubnet is not null)
        {
            mgmtVariable = "DIND_SUBNET";
            if (dindSubnet.Contains('/'))
                throw Malformed(ErrorIds.InvalidManagementPrefix, "DIND_SUBNET", dindSubnet, "holds a prefix length.",
                    "DIND_SUBNET takes the network address only (e.g. fd00:77::); the length goes in DIND_SUBNET_SIZE (e.g. 64).");
            if (dindSubnetSize is null)
                warnings.Add($"DIND_SUBNET={dindSubnet} without DIND_SUBNET_SIZE: taken as /{LegacySubnetSize}, as the 2018 dind-cluster.sh did (the last release ignored DIND_SUBNET unless DIND_SUBNET_SIZE was set too, and used {DefaultManagementCidr}).");
            mgmtCidr = $"{dindSubnet}/{dindSubnetSize ?? LegacySubnetSize}";
        }
        else
        {
            if (dindSubnetSize is not null)
                warnings.Add($"DIND_SUBNET_SIZE={dindSubnetSize}: ignored without DIND_SUBNET, as dind-cluster.sh does.");
            mgmtCidr = DefaultManagementCidr;
            mgmtVariable = "MGMT_CIDRS";
        }
        RequireIpv6(mgmtVariable, mgmtCidr, "management network");
        var mgmt = ParsePrefix(mgmtVariable, AddClusterId(mgmtCidr, clusterId), ErrorIds.InvalidManagementPrefix, clusterId,
            "Give an IPv6 network such as fd00:77:: with a length such as 64.", mgmtVariable == "DIND_SUBNET" ? "DIND_SUBNET/DIND_SUBNET_SIZE" : null);
        spec.ManagementPrefix = mgmt.ToString();

        // Services.
        var serviceCidr = Get("SERVICE_CIDR") ?? DefaultServiceCidr;
        RequireIpv6("SERVICE_CIDR", serviceCidr, "service network");
        spec.ServicePrefix = ParsePrefix("SERVICE_CIDR", serviceCidr, ErrorIds.InvalidServicePrefix, 0,
            "Give an IPv6 prefix such as fd00:77:30::/110.").ToString();

        // Pods: k-d-c splits the pod CIDR into /(len+8) per node and puts the node id (master 1, kube-node-N N+1)
        // in that byte: node i's range is sub-prefix i, exactly as Ipv6Dind's planner numbers nodes.
        var podCidr = Get("POD_NETWORK_CIDR") is { } podText ? Single("POD_NETWORK_CIDR", podText, "pod") : DefaultPodCidr;
        RequireIpv6("POD_NETWORK_CIDR", podCidr, "pod network");
        var pods = ParsePrefix("POD_NETWORK_CIDR", podCidr, ErrorIds.InvalidPodPrefix, 0, "Give an IPv6 prefix such as fd00:40::/72.");
        spec.PodPrefix = pods.ToString();
        spec.PodNodePrefixLength = pods.Length + 8;
        if (pods.Length % 8 != 0)
            warnings.Add($"POD_NETWORK_CIDR={podCidr}: dind-cluster.sh wrote the node id into a whole byte, which misplaces it for a /{pods.Length}; Ipv6Dind gives node i the i-th /{pods.Length + 8} of {pods} instead.");

        // NAT64 prefix (DNS64 synthesis and tayga).
        var dns64Prefix = Get("DNS64_PREFIX") ?? DefaultDns64Prefix;
        var dns64Size = Get("DNS64_PREFIX_SIZE") ?? DefaultDns64PrefixSize;
        if (dns64Prefix.Contains('/'))
            throw Malformed(ErrorIds.InvalidNat64Prefix, "DNS64_PREFIX", dns64Prefix, "holds a prefix length.",
                "DNS64_PREFIX takes the prefix address only (e.g. fd00:77:64:ff9b::); the length goes in DNS64_PREFIX_SIZE (96).");
        spec.Nat64Prefix = ParsePrefix("DNS64_PREFIX", $"{dns64Prefix}/{dns64Size}", ErrorIds.InvalidNat64Prefix, 0,
            "Give DNS64_PREFIX as an IPv6 prefix address such as fd00:77:64:ff9b:: and DNS64_PREFIX_SIZE as 32, 40, 48, 56, 64 or 96.",
            "DNS64_PREFIX/DNS64_PREFIX_SIZE").ToString();

        // Tayga's IPv4 pool: "${NAT64_V4_SUBNET_PREFIX}.0.128/25", the cluster id added to the second octet.
        // Only when the user chose a prefix: k-d-c's default (172.18) is one of the ranges Docker hands out to its
        // own networks, and the pool never leaves the NAT64 container, so Ipv6Dind's own default (inside
        // 198.18.0.0/15) reproduces nothing anyone relied on while avoiding that collision.
        var nat64V4 = Get("NAT64_V4_SUBNET_PREFIX");
        if (nat64V4 is not null)
            spec.Nat64Pool = PoolFromSubnetPrefix(nat64V4, clusterId);
        else
            warnings.Add($"NAT64_V4_SUBNET_PREFIX is not set: kubeadm-dind-cluster's tayga pool ({DefaultNat64SubnetPrefix} + cluster id, .0.128/25) is not reproduced; Ipv6Dind picks a pool inside 198.18.0.0/15, clear of Docker's own networks.");

        // DNS64 upstream. k-d-c defaulted REMOTE_DNS64_V4SERVER to a public resolver (8.8.8.8); Ipv6Dind does not:
        // left empty, the DNS64 container forwards to the host's own resolvers, read at bring-up.
        var remote = Get("REMOTE_DNS64_V4SERVER");
        if (remote is null)
            warnings.Add("REMOTE_DNS64_V4SERVER is not set: kubeadm-dind-cluster then forwarded DNS64 queries to a public resolver; Ipv6Dind uses the host's own resolvers (give -Dns64Upstream to choose one).");
        else
            spec.Dns64Upstream = new[] { ParseAddress("REMOTE_DNS64_V4SERVER", remote) };

        // AAAA use. k-d-c tests the variable for non-emptiness, so "false" enabled it there; we honour what the
        // value says and tell the user, rather than copy that trap.
        var aaaa = Get("DIND_ALLOW_AAAA_USE");
        if (aaaa is not null)
        {
            switch (aaaa.ToLowerInvariant())
            {
                case "true" or "yes" or "y" or "on" or "1":
                    spec.AllowAaaa = true;
                    break;
                case "false" or "no" or "n" or "off" or "0":
                    warnings.Add($"DIND_ALLOW_AAAA_USE={aaaa}: dind-cluster.sh treated any non-empty value as 'true'; imported as false (every name gets a synthesized address through NAT64), as the value says.");
                    break;
                default:
                    throw Malformed(ErrorIds.SpecFileInvalid, "DIND_ALLOW_AAAA_USE", aaaa, "is not a yes/no value.",
                        "Set DIND_ALLOW_AAAA_USE=true to let real AAAA answers through, or leave it unset to synthesize every answer.");
            }
            if (spec.AllowAaaa && Get("GCE_HOSTED") is not null)
                warnings.Add("GCE_HOSTED with DIND_ALLOW_AAAA_USE: kubeadm-dind-cluster refused this pair because GCE had no external IPv6; AllowAaaa is imported, so make sure the host routes IPv6 to the Internet.");
        }
        if (Get("GCE_HOSTED") is { } gce && !spec.AllowAaaa)
            warnings.Add($"GCE_HOSTED={gce}: only guarded DIND_ALLOW_AAAA_USE in dind-cluster.sh; nothing to import.");

        // CNI: k-d-c refused IPv6 pods for anything but bridge and ptp.
        var cni = Get("CNI_PLUGIN");
        switch (cni?.ToLowerInvariant())
        {
            case null:
                break;
            case "bridge" or "ptp":
                spec.Cni = cni.ToLowerInvariant();
                break;
            case "calico" or "calico-kdd":
                spec.Cni = "calico";
                warnings.Add($"CNI_PLUGIN={cni}: kubeadm-dind-cluster refused IPv6 pod networks with Calico; imported as calico, which Ipv6Dind sets up for IPv6 itself (block size: -CalicoBlockSize).");
                break;
            default:
                throw Refused("CNI_PLUGIN", cni, $"CNI_PLUGIN={cni}: Ipv6Dind does not set up {cni} (kubeadm-dind-cluster allowed only bridge and ptp for IPv6 pods).",
                    "Use CNI_PLUGIN=bridge, ptp or calico.");
        }

        if (clusterId != 0 && (Get("POD_NETWORK_CIDR") is null || Get("SERVICE_CIDR") is null || Get("DNS64_PREFIX") is null))
            warnings.Add($"CLUSTER_ID={clusterId} offsets only the management network{(nat64V4 is null ? "" : " and the NAT64 pool")}, as in dind-cluster.sh; the pod, service and NAT64 prefixes left at their defaults equal those of every other k-d-c cluster, and Ipv6Dind refuses a cluster whose ranges overlap another's. Give POD_NETWORK_CIDR, SERVICE_CIDR and DNS64_PREFIX per cluster, or set those ranges after import.");

        foreach (var name in env.Keys.Where(k => Informational.ContainsKey(k) && Get(k) is not null).OrderBy(k => k, StringComparer.Ordinal))
            warnings.Add($"{name}={Get(name)}: {Informational[name]}; not part of a spec, ignored.");
        foreach (var name in env.Keys.Where(k => k.StartsWith("DIND_", StringComparison.Ordinal) && !Handled.Contains(k) &&
                     !Informational.ContainsKey(k) && !Unsupported.Any(u => u.Name == k) && Get(k) is not null)
                     .OrderBy(k => k, StringComparer.Ordinal))
            warnings.Add($"{name}={Get(name)}: not a kubeadm-dind-cluster variable Ipv6Dind knows; ignored.");

        return new SpecImportResult(spec, warnings);
    }

    /// <summary>
    /// dind::add-cluster for IPv6: <c>sed "s/^\(.*\)\(\:\:\/[0-9]*\)$/\1:${CLUSTER_ID}\2/"</c>, i.e. the id, written in
    /// decimal digits, becomes the 16-bit group before the trailing "::" (fd00:20::/64, id 5 → fd00:20:5::/64).
    /// Applied as text, like the script, so the addresses match even though "10" lands as 0x10.
    /// </summary>
    internal static string AddClusterId(string cidr, int clusterId)
    {
        if (clusterId == 0) return cidr;
        var m = TrailingDoubleColon().Match(cidr);
        return m.Success ? $"{m.Groups[1].Value}:{clusterId.ToString(CultureInfo.InvariantCulture)}{m.Groups[2].Value}" : cidr;
    }

    /// <summary>
    /// dind::add-cluster-id-and-validate-nat64-prefix + dind::ensure-nat: "a.b" plus the cluster id on b, pool a.b.0.128/25.
    /// k-d-c also insisted on 10/8 or 172.16/12; Ipv6Dind's validator checks the pool instead (198.18.0.0/15 is fine).
    /// </summary>
    internal static string PoolFromSubnetPrefix(string value, int clusterId)
    {
        var parts = value.Split('.');
        if (parts.Length != 2 ||
            !byte.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first) ||
            !byte.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var second))
            throw Malformed(ErrorIds.InvalidNat64Pool, "NAT64_V4_SUBNET_PREFIX", value, "is not the first two octets of an IPv4 network.",
                "Give two octets such as 198.18; the tayga pool becomes <prefix>.0.128/25.");
        var offset = second + clusterId;
        if (offset > 255)
            throw Malformed(ErrorIds.InvalidNat64Pool, "NAT64_V4_SUBNET_PREFIX", value,
                $"plus CLUSTER_ID {clusterId} gives a second octet of {offset}, beyond 255.", "Choose a prefix with room for the cluster id, e.g. 198.18 with CLUSTER_ID 1.");
        return $"{first}.{offset}.0.128/25";
    }

    private static void CheckUnsupportedVariables(IReadOnlyDictionary<string, string> env, Func<string, string?> get)
    {
        var refused = new List<(string Name, string Value, string Does)>();
        foreach (var (name, does, ignorable) in Unsupported)
            if (get(name) is { } value && !ignorable.Contains(value, StringComparer.Ordinal))
                refused.Add((name, value, does));
        // dind::init turns every APISERVER_x / CONTROLLER_MANAGER_x / SCHEDULER_x shell variable (lowercase x) into
        // an extra component argument.
        foreach (var name in env.Keys.Where(k => ExtraArgsVariable().IsMatch(k)).OrderBy(k => k, StringComparer.Ordinal))
        {
            if (get(name) is not { } value) continue;
            var m = ExtraArgsVariable().Match(name);
            var component = m.Groups[1].Value switch { "APISERVER" => "kube-apiserver", "SCHEDULER" => "kube-scheduler", _ => "kube-controller-manager" };
            refused.Add((name, value, $"passes --{m.Groups[2].Value.Replace('_', '-')} to {component}; Ipv6Dind takes no extra component arguments"));
        }
        if (refused.Count == 0) return;
        var message = string.Join(" ", refused.Select(r => $"{r.Name}={r.Value}: kubeadm-dind-cluster {r.Does}."));
        throw new DindException(ErrorIds.SpecValueUnsupported, DindErrorCategory.InvalidData, message, refused[0].Value, refused[0].Name,
            $"Unset {string.Join(", ", refused.Select(r => r.Name))} to import this environment; the cluster will not have {(refused.Count == 1 ? "that setting" : "those settings")}.");
    }

    private static string Single(string variable, string value, string what)
    {
        // get-and-validate-cidrs reads a list separated by commas and spaces; ipv6 mode takes exactly one.
        var items = value.Split(new[] { ',', ' ' }, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 1) return items[0];
        throw Refused(variable, value, $"{variable}={value}: in ipv6 mode dind-cluster.sh takes exactly one {what} CIDR; two are for dual-stack, which Ipv6Dind does not build.",
            $"Give one IPv6 CIDR in {variable}.");
    }

    private static void RequireIpv6(string variable, string cidr, string what)
    {
        // dind::family-for: anything with a colon is IPv6.
        if (!cidr.Contains(':'))
            throw Refused(variable, cidr, $"{variable}={cidr}: an IPv4 {what}; Ipv6Dind builds IPv6-only clusters.", $"Give an IPv6 CIDR in {variable}.");
    }

    private static Ipv6Prefix ParsePrefix(string variable, string cidr, string errorId, int clusterId, string valid, string? label = null)
    {
        var prefix = Ipv6Prefix.TryParse(cidr, out var reason);
        if (prefix is not null) return prefix;
        var id = reason.StartsWith("host bits", StringComparison.Ordinal) ? ErrorIds.PrefixHostBitsSet : errorId;
        var idNote = clusterId == 0 ? "" : $" (CLUSTER_ID {clusterId} was written into the 16-bit group before '::', as dind::add-cluster does, so that group must lie inside the prefix length)";
        throw new DindException(id, DindErrorCategory.InvalidArgument, $"{label ?? variable}: '{cidr}' is not a valid IPv6 prefix: {reason}{idNote}. {valid}", cidr, variable, valid);
    }

    private static string ParseAddress(string variable, string value)
    {
        // Dotted quads only for IPv4 (IPAddress.TryParse would take "198.51.100" or "1" too).
        if (IPAddress.TryParse(value, out var address) && !value.Contains('/') && !value.Contains('%') &&
            (address.AddressFamily == AddressFamily.InterNetworkV6 || value.Count(c => c == '.') == 3))
            return address.ToString();
        throw Malformed(ErrorIds.InvalidDns64Upstream, variable, value, "is not an IP address.", "Give the address of a resolver, e.g. 198.51.100.53.");
    }

    private static DindException Malformed(string errorId, string variable, string value, string problem, string valid) =>
        new(errorId, errorId == ErrorIds.SpecFileInvalid ? DindErrorCategory.InvalidData : DindErrorCategory.InvalidArgument,
            $"{variable}={value}: the value {problem} {valid}", value, variable, valid);

    private static DindException Refused(string variable, string value, string message, string valid) =>
        new(ErrorIds.SpecValueUnsupported, DindErrorCategory.InvalidData, $"{message} {valid}", value, variable, valid);

    [GeneratedRegex(@"^(.*)(::/[0-9]*)$", RegexOptions.CultureInvariant)]
    private static partial Regex TrailingDoubleColon();

    [GeneratedRegex(@"^(APISERVER|CONTROLLER_MANAGER|SCHEDULER)_([a-z_]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ExtraArgsVariable();
}
