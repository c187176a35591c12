using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Core.Tests.Spec;

/// <summary>
/// Spec files (our own YAML) and the two importers (kubeadm-dind-cluster environment, Lazyjack config.yaml).
/// IPv4 in tests only from 198.18.0.0/15 and 198.51.100.0/24.
/// </summary>
public class SpecFileTests
{
    private static string TestData(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "spec", name));

    private static void AssertValid(DindClusterSpec spec)
    {
        var problems = SpecValidator.Validate(SpecDefaults.Complete(spec));
        Assert.True(problems.Count == 0, "spec does not validate:\n" + string.Join("\n", problems.Select(p => $"{p.ErrorId}: {p.Message}")));
    }

    private static void AssertSameSpec(DindClusterSpec expected, DindClusterSpec actual)
    {
        Assert.Equal(expected.ClusterName, actual.ClusterName);
        Assert.Equal(expected.Nodes, actual.Nodes);
        Assert.Equal(expected.Subnet, actual.Subnet);
        Assert.Equal(expected.ManagementPrefix, actual.ManagementPrefix);
        Assert.Equal(expected.PodPrefix, actual.PodPrefix);
        Assert.Equal(expected.PodNodePrefixLength, actual.PodNodePrefixLength);
        Assert.Equal(expected.ServicePrefix, actual.ServicePrefix);
        Assert.Equal(expected.Nat64Prefix, actual.Nat64Prefix);
        Assert.Equal(expected.Nat64Pool, actual.Nat64Pool);
        Assert.Equal(expected.Dns64Upstream, actual.Dns64Upstream);
        Assert.Equal(expected.AllowAaaa, actual.AllowAaaa);
        Assert.Equal(expected.Mtu, actual.Mtu);
        Assert.Equal(expected.Cni, actual.Cni);
        Assert.Equal(expected.CalicoBlockSize, actual.CalicoBlockSize);
        Assert.Equal(expected.CalicoManifest, actual.CalicoManifest);
        Assert.Equal(expected.KubernetesVersion, actual.KubernetesVersion);
        Assert.Equal(expected.NodeImage, actual.NodeImage);
        Assert.Equal(expected.FeatureGates, actual.FeatureGates);
        Assert.Equal(expected.RuntimeConfig, actual.RuntimeConfig);
        Assert.Equal(expected.KubeadmConfigPatches, actual.KubeadmConfigPatches);
        Assert.Equal(expected.KubeadmConfigPatchesJson6902.Select(p => (p.Group, p.Version, p.Kind, p.Patch)), actual.KubeadmConfigPatchesJson6902.Select(p => (p.Group, p.Version, p.Kind, p.Patch)));
        Assert.Equal(expected.ContainerdConfigPatches, actual.ContainerdConfigPatches);
        Assert.Equal(expected.NodeSettings.Where(n => !n.IsEmpty()).Select(NodeText), actual.NodeSettings.Select(NodeText));
    }

    private static string NodeText(DindNodeSettings n) =>
        $"{n.Node} labels [{string.Join(", ", n.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))}] mounts [{string.Join(", ", n.ExtraMounts.Select(m => $"{m.HostPath}|{m.ContainerPath}|{m.ReadOnly}|{m.SelinuxRelabel}|{m.Propagation}"))}] " +
        $"ports [{string.Join(", ", n.ExtraPortMappings.Select(p => $"{p.ContainerPort}|{p.HostPort}|{p.ListenAddress}|{p.Protocol}"))}] patches [{string.Join("|", n.KubeadmConfigPatches)}] " +
        $"json [{string.Join(", ", n.KubeadmConfigPatchesJson6902.Select(p => $"{p.Group}|{p.Version}|{p.Kind}|{p.Patch}"))}]";

    private static DindException Fails(Action action) => Assert.Throws<DindException>(action);

    // ---------------------------------------------------------------- our YAML

    private static DindClusterSpec Lab() => new()
    {
        ClusterName = "lab",
        Nodes = 3,
        Subnet = "fd00:77::/48",
        ManagementPrefix = "fd00:77:0:10::/64",
        PodPrefix = "fd00:77:0:40::/64",
        PodNodePrefixLength = 80,
        ServicePrefix = "fd00:77:0:30::/112",
        Nat64Prefix = "fd00:77:0:64::/96",
        Nat64Pool = "198.18.5.128/25",
        Dns64Upstream = new[] { "198.51.100.53" },
        AllowAaaa = false,
        Cni = "bridge",
        CalicoBlockSize = 122,
        KubernetesVersion = "v1.33.0",
        NodeImage = "",
    };

    public static TheoryData<string> RoundTripCases() => new()
    {
        "lab", "aaaa", "calico", "two-upstreams", "ipv6-upstream", "unset", "awkward-text", "completed-defaults", "jumbo-mtu",
        "kind-settings", "kind-awkward-patches", "kind-node-only",
    };

    private static DindClusterSpec Case(string name)
    {
        var s = Lab();
        switch (name)
        {
            case "aaaa": s.AllowAaaa = true; break;
            case "jumbo-mtu": s.Mtu = 9000; break;
            case "calico": s.Cni = "calico"; s.CalicoBlockSize = 120; s.Nodes = 5; s.CalicoManifest = "/etc/ipv6dind/calico v3.28.yaml"; break;
            case "two-upstreams": s.Dns64Upstream = new[] { "198.51.100.53", "198.51.100.54" }; break;
            case "ipv6-upstream": s.Dns64Upstream = new[] { "2001:db8::53", "198.51.100.53" }; break;
            case "unset": s = SpecYaml.Blank(); break;
            case "awkward-text":
                // Values a YAML reader would take for a boolean, a number or null, and text with YAML punctuation.
                s.ClusterName = "true";
                s.KubernetesVersion = "1.31";
                s.NodeImage = "localhost:5000/ipv6dind/node:v1.33.1";
                s.Cni = "null";
                s.Subnet = "# not a comment: really";
                break;
            case "completed-defaults": s = SpecDefaults.Complete(new DindClusterSpec { ClusterName = "nightly", Nodes = 4 }); break;
            case "kind-settings":
                // Every field a kind config brings, with the values of kind's configuration guide.
                s.FeatureGates["CSIMigration"] = true;
                s.FeatureGates["AllBeta"] = false;
                s.RuntimeConfig["api/alpha"] = "false";
                s.RuntimeConfig["apps/v1beta2"] = "true";
                s.KubeadmConfigPatches.Add("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nevictionHard:\n  nodefs.available: \"0%\"\n");
                s.KubeadmConfigPatchesJson6902.Add(new KubeadmJson6902Patch { Group = "kubeadm.k8s.io", Version = "v1beta3", Kind = "ClusterConfiguration", Patch = "- op: add\n  path: /apiServer/certSANs/-\n  value: my-hostname\n" });
                s.ContainerdConfigPatches.Add("[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"registry:5000\"]");
                s.NodeSettings.Add(new DindNodeSettings
                {
                    Node = 1,
                    ExtraMounts = { new DindNodeMount { HostPath = "/path/to/my/files", ContainerPath = "/files" }, new DindNodeMount { HostPath = "/path/to/my/other-files/", ContainerPath = "/other-files", ReadOnly = true, SelinuxRelabel = true, Propagation = "None" } },
                    ExtraPortMappings = { new DindPortMapping { ContainerPort = 80, HostPort = 80, ListenAddress = "::1", Protocol = "TCP" }, new DindPortMapping { ContainerPort = 30950 } },
                    KubeadmConfigPatches = { "kind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    node-labels: \"my-label=true\"\n" },
                });
                s.NodeSettings.Add(new DindNodeSettings
                {
                    Node = 3,
                    Labels = { ["tier"] = "backend", ["true"] = "1.31" },
                    KubeadmConfigPatchesJson6902 = { new KubeadmJson6902Patch { Group = "kubelet.config.k8s.io", Version = "v1beta1", Kind = "KubeletConfiguration", Patch = "[{\"op\": \"add\", \"path\": \"/a\", \"value\": 1}]" } },
                });
                break;
            case "kind-awkward-patches":
                // Texts a literal block cannot carry as they are: no final newline, several, leading blanks, trailing blanks.
                s.KubeadmConfigPatches.AddRange(new[] { "kind: A\nx: 1", "kind: B\n\n\n", "  kind: C\n  x: 1\n", "kind: D \nx: 1\n", "" });
                s.ContainerdConfigPatches.Add("version = 2\n\t[plugins]\n");
                break;
            case "kind-node-only":
                s.NodeSettings.Add(new DindNodeSettings { Node = 2, Labels = { ["tier"] = "frontend" } });
                s.NodeSettings.Add(new DindNodeSettings { Node = 3 }); // nothing set: not written
                break;
        }
        return s;
    }

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void Yaml_round_trip_keeps_every_field_and_the_text(string name)
    {
        var spec = Case(name);
        var text = SpecYaml.Serialize(spec);
        var back = SpecYaml.Deserialize(text, $"{name}.yaml");
        AssertSameSpec(spec, back);
        Assert.Equal(text, SpecYaml.Serialize(back));
    }

    [Fact]
    public void Canonical_file_reads_and_writes_back_identically()
    {
        var text = TestData("lab.dindcluster.yaml").Replace("\r\n", "\n");
        var spec = SpecYaml.Deserialize(text, "lab.dindcluster.yaml");
        AssertSameSpec(Lab(), spec);
        Assert.Equal(text, SpecYaml.Serialize(spec));
        Assert.Equal(text, SpecYaml.Serialize(Lab()));
        AssertValid(spec);
    }

    [Fact]
    public void Serialize_is_deterministic_LF_and_complete()
    {
        var text = SpecYaml.Serialize(SpecYaml.Blank());
        Assert.DoesNotContain('\r', text);
        Assert.EndsWith("\n", text);
        Assert.Equal(text, SpecYaml.Serialize(SpecYaml.Blank()));
        foreach (var field in new[] { "name:", "nodes:", "subnet:", "managementPrefix:", "podPrefix:", "podNodePrefixLength:", "servicePrefix:",
                     "nat64Prefix:", "nat64Pool:", "upstream: []", "allowAaaa: false", "cni:", "calicoBlockSize: 0", "kubernetesVersion:", "nodeImage:" })
            Assert.Contains(field, text);
    }

    [Fact]
    public void Awkward_text_is_quoted_so_other_yaml_readers_see_strings()
    {
        var text = SpecYaml.Serialize(Case("awkward-text"));
        Assert.Contains("name: \"true\"\n", text);
        Assert.Contains("kubernetesVersion: \"1.31\"\n", text);
        Assert.Contains("cni: \"null\"\n", text);
    }

    [Fact]
    public void Missing_optional_fields_stay_unset_for_the_defaults()
    {
        const string text = "apiVersion: ipv6dind.io/v1alpha1\nkind: DindCluster\nmetadata:\n  name: lab\nspec:\n  nodes: 2\n  dns64:\n    upstream: [198.51.100.53]\n";
        var spec = SpecYaml.Deserialize(text, "min.yaml");
        Assert.Equal("lab", spec.ClusterName);
        Assert.Equal(2, spec.Nodes);
        Assert.Equal("", spec.Subnet);
        Assert.Equal("", spec.ManagementPrefix);
        Assert.Equal(0, spec.PodNodePrefixLength);
        Assert.Equal(0, spec.CalicoBlockSize);
        Assert.Equal("", spec.Cni);
        Assert.Equal("", spec.KubernetesVersion);
        var complete = SpecDefaults.Complete(spec);
        Assert.Equal(SpecDefaults.DefaultPodNodePrefixLength, complete.PodNodePrefixLength);
        Assert.Equal("bridge", complete.Cni);
        AssertValid(spec);
    }

    [Fact]
    public void Yaml_null_and_empty_sections_count_as_not_given()
    {
        const string text = "apiVersion: ipv6dind.io/v1alpha1\nkind: DindCluster\nmetadata:\nspec:\n  subnet: ~\n  dns64:\n  kubernetesVersion: 1.31\n";
        var spec = SpecYaml.Deserialize(text, "nulls.yaml");
        Assert.Equal("", spec.ClusterName);
        Assert.Equal("", spec.Subnet);
        Assert.Empty(spec.Dns64Upstream);
        Assert.Equal("1.31", spec.KubernetesVersion);
    }

    private static string Canonical() => SpecYaml.Serialize(Lab());

    [Fact]
    public void Unknown_spec_field_names_field_line_and_valid_fields()
    {
        var text = Canonical().Replace("  nodes: 3", "  nodse: 3");
        var e = Fails(() => SpecYaml.Deserialize(text, "lab.yaml"));
        Assert.Equal(ErrorIds.SpecFieldUnknown, e.ErrorId);
        Assert.Equal(DindErrorCategory.InvalidData, e.Category);
        Assert.Contains("lab.yaml:6:", e.Message);
        Assert.Contains("'spec.nodse'", e.Message);
        Assert.Contains("did you mean 'nodes'", e.Message);
        Assert.Contains("managementPrefix", e.Message);
        Assert.Equal("spec.nodse", e.Target);
    }

    [Theory]
    [InlineData("    allowAaaa: false", "    allowAAAA: false", "spec.dns64.allowAAAA", 16)]
    [InlineData("  name: lab", "  name: lab\n  labels: {}", "metadata.labels", 5)]
    [InlineData("kind: DindCluster", "kind: DindCluster\nstatus: {}", "status", 3)]
    [InlineData("  nodeImage: \"\"", "  nodeImage: \"\"\n  networking: {ipFamily: ipv6}", "spec.networking", 21)]
    public void Unknown_fields_anywhere_are_refused(string find, string replace, string field, int line)
    {
        var text = Canonical().Replace(find, replace);
        var e = Fails(() => SpecYaml.Deserialize(text, "lab.yaml"));
        Assert.Equal(ErrorIds.SpecFieldUnknown, e.ErrorId);
        Assert.Contains($"'{field}'", e.Message);
        Assert.Contains($"lab.yaml:{line}:", e.Message);
    }

    [Theory]
    [InlineData("  nodes: 3", "  nodes: three", "spec.nodes", 6)]
    [InlineData("  nodes: 3", "  nodes: \"3\"", "spec.nodes", 6)]
    [InlineData("  nodes: 3", "  nodes: [3]", "spec.nodes", 6)]
    [InlineData("  calicoBlockSize: 122", "  calicoBlockSize: 122.5", "spec.calicoBlockSize", 18)]
    [InlineData("    allowAaaa: false", "    allowAaaa: yes", "spec.dns64.allowAaaa", 16)]
    [InlineData("    upstream: [198.51.100.53]", "    upstream: 198.51.100.53", "spec.dns64.upstream", 15)]
    [InlineData("    upstream: [198.51.100.53]", "    upstream: [[198.51.100.53]]", "spec.dns64.upstream", 15)]
    [InlineData("  subnet: fd00:77::/48", "  subnet: {prefix: fd00:77::/48}", "spec.subnet", 7)]
    [InlineData("  dns64:", "  dns64: [198.51.100.53]\n  dns64old:", "spec.dns64", 14)]
    public void Wrong_types_are_SpecFileInvalid_with_field_and_line(string find, string replace, string field, int line)
    {
        var text = Canonical().Replace(find, replace);
        var e = Fails(() => SpecYaml.Deserialize(text, "lab.yaml"));
        Assert.Equal(ErrorIds.SpecFileInvalid, e.ErrorId);
        Assert.Contains($"lab.yaml:{line}:", e.Message);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void A_second_document_is_refused_at_its_line()
    {
        var text = Canonical() + "---\n" + Canonical();
        var e = Fails(() => SpecYaml.Deserialize(text, "two.yaml"));
        Assert.Equal(ErrorIds.SpecFileInvalid, e.ErrorId);
        Assert.Contains("two.yaml:21:", e.Message); // the '---' line
        Assert.Contains("second YAML document", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\n")]
    [InlineData("# just a comment\n")]
    [InlineData("---\n")]
    public void An_empty_file_is_refused(string text)
    {
        var e = Fails(() => SpecYaml.Deserialize(text, "empty.yaml"));
        Assert.Equal(ErrorIds.SpecFileInvalid, e.ErrorId);
        Assert.Contains("empty.yaml:1:", e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Theory]
    [InlineData("apiVersion: ipv6dind.io/v1alpha1", "apiVersion: ipv6dind.io/v1", "apiVersion", 1)]
    [InlineData("kind: DindCluster", "kind: Cluster", "kind", 2)]
    [InlineData("apiVersion: ipv6dind.io/v1alpha1\n", "", "apiVersion is missing", 1)]
    public void Wrong_or_missing_apiVersion_and_kind_are_refused(string find, string replace, string expected, int line)
    {
        var e = Fails(() => SpecYaml.Deserialize(Canonical().Replace(find, replace), "lab.yaml"));
        Assert.Equal(ErrorIds.SpecFileInvalid, e.ErrorId);
        Assert.Contains(expected, e.Message);
        Assert.Contains($"lab.yaml:{line}:", e.Message);
    }

    [Fact]
    public void A_kind_config_is_named_by_its_apiVersion_not_field_by_field()
    {
        const string kindConfig = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  ipFamily: ipv6\nnodes:\n- role: control-plane\n";
        var e = Fails(() => SpecYaml.Deserialize(kindConfig, "kind.yaml"));
        Assert.Equal(ErrorIds.SpecFileInvalid, e.ErrorId);
        Assert.Contains("kind.yaml:2: apiVersion is 'kind.x-k8s.io/v1alpha4'", e.Message);
    }

    [Theory]
    [InlineData("apiVersion: ipv6dind.io/v1alpha1\nkind: DindCluster\nspec:\n  nodes: [3\n", 5)] // where the text ends
    [InlineData("apiVersion: ipv6dind.io/v1alpha1\nkind: DindCluster\nspec:\n  nodes: [3\n  cni: bridge\n", 4)]
    [InlineData("apiVersion: ipv6dind.io/v1alpha1\nkind: DindCluster\nspec:\n  nodes: 3\n nodeImage: x\n", 5)]
    [InlineData("apiVersion: ipv6dind.io/v1alpha1\nkind: DindCluster\nspec:\n  nodeImage: \"x\n", 4)]
    public void Yaml_syntax_errors_are_SpecFileInvalid_with_a_line(string text, int line)
    {
        var e = Fails(() => SpecYaml.Deserialize(text, "bad.yaml"));
        Assert.Equal(ErrorIds.SpecFileInvalid, e.ErrorId);
        Assert.Equal(DindErrorCategory.ParserError, e.Category);
        Assert.Contains($"bad.yaml:{line}:", e.Message);
    }

    [Fact]
    public void Duplicate_fields_are_refused_at_the_second_one()
    {
        var text = Canonical().Replace("  nodes: 3\n", "  nodes: 3\n  nodes: 4\n");
        var e = Fails(() => SpecYaml.Deserialize(text, "dup.yaml"));
        Assert.Equal(ErrorIds.SpecFileInvalid, e.ErrorId);
        Assert.Contains("dup.yaml:7:", e.Message);
    }

    [Fact]
    public void A_document_that_is_not_a_mapping_is_refused()
    {
        var e = Fails(() => SpecYaml.Deserialize("- apiVersion: ipv6dind.io/v1alpha1\n", "list.yaml"));
        Assert.Equal(ErrorIds.SpecFileInvalid, e.ErrorId);
        Assert.Contains("list.yaml:1:", e.Message);
    }

    // ---------------------------------------------------------------- kubeadm-dind-cluster environment

    private static Dictionary<string, string> Env(params string[] pairs) =>
        pairs.Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    private static Dictionary<string, string> EnvFile(string name) =>
        TestData(name).Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.StartsWith("export ", StringComparison.Ordinal) ? l[7..] : l)
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    [Fact]
    public void Kdc_seed_example_maps_to_the_same_addresses()
    {
        // The lab settings of the k-d-c IPv6 blog post (resolver replaced by a documentation address).
        var result = KdcEnvironmentImporter.Import(Env(
            "DNS64_PREFIX=fd00:77:64:ff9b::", "DIND_SUBNET=fd00:77::", "SERVICE_CIDR=fd00:77:30::/110",
            "IP_MODE=ipv6", "REMOTE_DNS64_V4SERVER=198.51.100.53"));
        var s = result.Spec;
        Assert.Equal("dind", s.ClusterName);
        Assert.Equal(3, s.Nodes);
        Assert.Equal("fd00:77::/64", s.ManagementPrefix);
        Assert.Equal("fd00:77:30::/110", s.ServicePrefix);
        Assert.Equal("fd00:77:64:ff9b::/96", s.Nat64Prefix);
        Assert.Equal("fd00:40::/72", s.PodPrefix);
        Assert.Equal(80, s.PodNodePrefixLength);
        Assert.Equal(new[] { "198.51.100.53" }, s.Dns64Upstream);
        Assert.False(s.AllowAaaa);
        Assert.Equal("", s.Nat64Pool);
        Assert.Equal("", s.Subnet);
        Assert.Contains(result.Warnings, w => w.StartsWith("DIND_SUBNET=fd00:77:: without DIND_SUBNET_SIZE", StringComparison.Ordinal));
        AssertValid(s);

        // The same as an env file, with the blog's BUILD_KUBEADM/BUILD_HYPERKUBE: warnings, not errors.
        var fromFile = KdcEnvironmentImporter.Import(EnvFile("kdc-lab.env"));
        AssertSameSpec(s, fromFile.Spec);
        Assert.Contains(fromFile.Warnings, w => w.StartsWith("BUILD_KUBEADM=y:", StringComparison.Ordinal) && w.Contains("-KubernetesBinaryPath"));
        Assert.Contains(fromFile.Warnings, w => w.StartsWith("BUILD_HYPERKUBE=y:", StringComparison.Ordinal));
    }

    [Fact]
    public void Kdc_defaults_only()
    {
        var result = KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6"));
        var s = result.Spec;
        Assert.Equal("dind", s.ClusterName);
        Assert.Equal(3, s.Nodes);
        Assert.Equal("fd00:20::/64", s.ManagementPrefix);
        Assert.Equal("fd00:30::/110", s.ServicePrefix);
        Assert.Equal("fd00:40::/72", s.PodPrefix);
        Assert.Equal(80, s.PodNodePrefixLength);
        Assert.Equal("fd00:10:64:ff9b::/96", s.Nat64Prefix);
        Assert.Empty(s.Dns64Upstream); // never a hard-coded public resolver: the host's own are used
        Assert.Equal("", s.Nat64Pool);
        Assert.Equal("", s.Cni);
        Assert.Equal("", s.KubernetesVersion);
        Assert.False(s.AllowAaaa);
        Assert.Contains(result.Warnings, w => w.StartsWith("REMOTE_DNS64_V4SERVER is not set", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.StartsWith("NAT64_V4_SUBNET_PREFIX is not set", StringComparison.Ordinal));
        AssertValid(s);
    }

    [Fact]
    public void Kdc_node_pod_prefixes_match_dind_cluster_sh()
    {
        // dind::run: master is node id 1, kube-node-N is N+1; "fd00:40:0:0:" + id + "::/80".
        var spec = KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "REMOTE_DNS64_V4SERVER=198.51.100.53")).Spec;
        var plan = AddressPlanner.Plan(spec);
        Assert.Equal(new[] { "fd00:40:0:0:1::/80", "fd00:40:0:0:2::/80", "fd00:40:0:0:3::/80" },
            plan.NodeAddresses.Select(n => n.PodPrefix).ToArray());
    }

    [Fact]
    public void Kdc_cluster_id_offsets_the_management_network_and_names_the_cluster()
    {
        var result = KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "CLUSTER_ID=2"));
        Assert.Equal("cluster-2", result.Spec.ClusterName);
        Assert.Equal("fd00:20:2::/64", result.Spec.ManagementPrefix);
        Assert.Equal("fd00:40::/72", result.Spec.PodPrefix);
        Assert.Contains(result.Warnings, w => w.StartsWith("CLUSTER_ID=2 offsets only the management network", StringComparison.Ordinal));
        AssertValid(result.Spec);

        var legacy = KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "CLUSTER_ID=2", "DIND_SUBNET=fd00:77::", "DIND_SUBNET_SIZE=64"));
        Assert.Equal("fd00:77:2::/64", legacy.Spec.ManagementPrefix);

        var labelled = KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "CLUSTER_ID=1", "DIND_LABEL=lab", "NAT64_V4_SUBNET_PREFIX=198.18"));
        Assert.Equal("lab-1", labelled.Spec.ClusterName);
        Assert.Equal("198.19.0.128/25", labelled.Spec.Nat64Pool);
        Assert.Equal("fd00:20:1::/64", labelled.Spec.ManagementPrefix);
        AssertValid(labelled.Spec);

        var named = KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "CLUSTER_ID=2"), "nightly");
        Assert.Equal("nightly", named.Spec.ClusterName);
    }

    [Fact]
    public void Kdc_cluster_id_that_lands_outside_the_prefix_is_refused()
    {
        var e = Fails(() => KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "CLUSTER_ID=2", "DIND_SUBNET=fd00:77:0:10::", "DIND_SUBNET_SIZE=64")));
        Assert.Equal(ErrorIds.PrefixHostBitsSet, e.ErrorId);
        Assert.Contains("DIND_SUBNET", e.Message);
        Assert.Contains("CLUSTER_ID 2", e.Message);
    }

    [Fact]
    public void Kdc_legacy_label_without_cluster_id_warns_about_the_random_offset()
    {
        var result = KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "DIND_LABEL=lab"));
        Assert.Equal("lab", result.Spec.ClusterName);
        Assert.Equal("fd00:20::/64", result.Spec.ManagementPrefix);
        Assert.Contains(result.Warnings, w => w.Contains("random cluster id"));
    }

    [Fact]
    public void Kdc_unusable_label_is_refused_unless_a_name_is_given()
    {
        var e = Fails(() => KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "DIND_LABEL=My_Lab", "CLUSTER_ID=1")));
        Assert.Equal(ErrorIds.InvalidClusterName, e.ErrorId);
        Assert.Equal("DIND_LABEL", e.ParameterName);
        Assert.Equal("lab", KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "DIND_LABEL=My_Lab", "CLUSTER_ID=1"), "lab").Spec.ClusterName);
    }

    [Theory]
    [InlineData("true", true, false)]
    [InlineData("y", true, false)]
    [InlineData("false", false, true)]
    public void Kdc_allow_aaaa_use(string value, bool expected, bool warns)
    {
        var result = KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", $"DIND_ALLOW_AAAA_USE={value}"));
        Assert.Equal(expected, result.Spec.AllowAaaa);
        Assert.Equal(warns, result.Warnings.Any(w => w.StartsWith("DIND_ALLOW_AAAA_USE", StringComparison.Ordinal)));
        AssertValid(result.Spec);
    }

    [Fact]
    public void Kdc_allow_aaaa_use_garbage_is_refused()
    {
        var e = Fails(() => KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "DIND_ALLOW_AAAA_USE=maybe")));
        Assert.Equal(ErrorIds.SpecFileInvalid, e.ErrorId);
        Assert.Equal("DIND_ALLOW_AAAA_USE", e.ParameterName);
    }

    [Theory]
    [InlineData("ipv4")]
    [InlineData("dual-stack")]
    public void Kdc_ip_modes_other_than_ipv6_are_unsupported(string mode)
    {
        var e = Fails(() => KdcEnvironmentImporter.Import(Env($"IP_MODE={mode}", "DIND_SUBNET=fd00:77::")));
        Assert.Equal(ErrorIds.SpecValueUnsupported, e.ErrorId);
        Assert.Equal("IP_MODE", e.ParameterName);
        Assert.Contains($"IP_MODE={mode}", e.Message);
        Assert.Contains("IP_MODE=ipv6", e.Message);
    }

    [Fact]
    public void Kdc_missing_ip_mode_is_imported_as_ipv6_with_a_warning()
    {
        var result = KdcEnvironmentImporter.Import(Env("DIND_SUBNET=fd00:77::"));
        Assert.Equal("fd00:77::/64", result.Spec.ManagementPrefix);
        Assert.Contains(result.Warnings, w => w.StartsWith("IP_MODE is not set", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("DNS64_PREFIX=fd00:77:64:zz::", ErrorIds.InvalidNat64Prefix, "DNS64_PREFIX")]
    [InlineData("DNS64_PREFIX=fd00:77:64:ff9b::/96", ErrorIds.InvalidNat64Prefix, "DNS64_PREFIX")]
    [InlineData("DNS64_PREFIX_SIZE=ninety-six", ErrorIds.InvalidNat64Prefix, "DNS64_PREFIX")]
    [InlineData("DIND_SUBNET=fd00:77::/64", ErrorIds.InvalidManagementPrefix, "DIND_SUBNET")]
    [InlineData("SERVICE_CIDR=fd00:77:30::1/110", ErrorIds.PrefixHostBitsSet, "SERVICE_CIDR")]
    [InlineData("POD_NETWORK_CIDR=fd00:77:40:/72", ErrorIds.InvalidPodPrefix, "POD_NETWORK_CIDR")]
    [InlineData("REMOTE_DNS64_V4SERVER=198.51.100", ErrorIds.InvalidDns64Upstream, "REMOTE_DNS64_V4SERVER")]
    [InlineData("NAT64_V4_SUBNET_PREFIX=198.18.0", ErrorIds.InvalidNat64Pool, "NAT64_V4_SUBNET_PREFIX")]
    [InlineData("NUM_NODES=three", ErrorIds.SpecFileInvalid, "NUM_NODES")]
    [InlineData("CLUSTER_ID=first", ErrorIds.SpecFileInvalid, "CLUSTER_ID")]
    public void Kdc_malformed_values_get_the_specific_id_and_the_variable(string pair, string errorId, string variable)
    {
        var e = Fails(() => KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", pair)));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(variable, e.ParameterName);
        Assert.Contains(variable, e.Message);
    }

    [Theory]
    [InlineData("SERVICE_CIDR=198.18.96.0/20", "SERVICE_CIDR")]
    [InlineData("POD_NETWORK_CIDR=198.18.0.0/16", "POD_NETWORK_CIDR")]
    [InlineData("POD_NETWORK_CIDR=198.18.0.0/16,fd00:40::/72", "POD_NETWORK_CIDR")]
    [InlineData("MGMT_CIDRS=fd00:20::/64 fd00:21::/64", "MGMT_CIDRS")]
    [InlineData("CNI_PLUGIN=flannel", "CNI_PLUGIN")]
    [InlineData("DIND_CUSTOM_NETWORKS=extra-net", "DIND_CUSTOM_NETWORKS")]
    [InlineData("APISERVER_service_node_port_range=30000-32767", "APISERVER_service_node_port_range")]
    [InlineData("FEATURE_GATES=IPv6DualStack=true", "FEATURE_GATES")]
    [InlineData("DIND_HTTP_PROXY=http://[2001:db8::3128]:3128", "DIND_HTTP_PROXY")]
    public void Kdc_settings_Ipv6Dind_cannot_honour_are_unsupported(string pair, string variable)
    {
        var e = Fails(() => KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", pair)));
        Assert.Equal(ErrorIds.SpecValueUnsupported, e.ErrorId);
        Assert.Equal(variable, e.ParameterName);
        Assert.Contains(variable, e.Message);
    }

    [Fact]
    public void Kdc_other_variables_are_ignored_warned_or_mapped()
    {
        var result = KdcEnvironmentImporter.Import(Env(
            "IP_MODE=ipv6", "PATH=/usr/bin", "HOME=/home/lab", "KUBECONFIG=/home/lab/.kube/config", "KUBE_EDITOR=vi",
            "DIND_FANCY=1", "DIND_IMAGE=mirantis/kubeadm-dind-cluster:v1.13", "SKIP_SNAPSHOT=y", "FEATURE_GATES=none",
            "DIND_HTTP_PROXY=", "NUM_NODES=5", "CNI_PLUGIN=ptp", "MGMT_CIDRS=fd00:77:20::/64", "POD_NETWORK_CIDR=fd00:77:40::/64",
            "NAT64_V4_SUBNET_PREFIX=198.18"));
        var s = result.Spec;
        Assert.Equal(6, s.Nodes);
        Assert.Equal("ptp", s.Cni);
        Assert.Equal("fd00:77:20::/64", s.ManagementPrefix);
        Assert.Equal("fd00:77:40::/64", s.PodPrefix);
        Assert.Equal(72, s.PodNodePrefixLength);
        Assert.Equal("198.18.0.128/25", s.Nat64Pool);
        Assert.Contains(result.Warnings, w => w.StartsWith("DIND_FANCY=1: not a kubeadm-dind-cluster variable", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.StartsWith("DIND_IMAGE=", StringComparison.Ordinal) && w.Contains("-NodeImage"));
        Assert.Contains(result.Warnings, w => w.StartsWith("SKIP_SNAPSHOT=y", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Warnings, w => w.Contains("PATH") || w.Contains("HOME") || w.Contains("KUBECONFIG") || w.Contains("KUBE_EDITOR") || w.Contains("FEATURE_GATES") || w.Contains("DIND_HTTP_PROXY"));
        AssertValid(s);
    }

    [Fact]
    public void Kdc_calico_is_imported_with_a_warning()
    {
        var result = KdcEnvironmentImporter.Import(Env("IP_MODE=ipv6", "CNI_PLUGIN=calico"));
        Assert.Equal("calico", result.Spec.Cni);
        Assert.Contains(result.Warnings, w => w.StartsWith("CNI_PLUGIN=calico", StringComparison.Ordinal));
        AssertValid(result.Spec);
    }

    [Fact]
    public void Kdc_import_survives_a_yaml_round_trip()
    {
        var spec = KdcEnvironmentImporter.Import(EnvFile("kdc-lab.env")).Spec;
        var text = SpecYaml.Serialize(spec);
        AssertSameSpec(spec, SpecYaml.Deserialize(text, "kdc.yaml"));
    }

    // ---------------------------------------------------------------- Lazyjack config.yaml

    [Fact]
    public void Lazyjack_sample_config_maps_every_network()
    {
        var result = LazyjackImporter.Import(TestData("lazyjack-config.yaml"), "config.yaml", "lab");
        var s = result.Spec;
        Assert.Equal("lab", s.ClusterName);
        Assert.Equal(3, s.Nodes);
        Assert.Equal("fd00:20::/64", s.ManagementPrefix);
        Assert.Equal("fd00:40::/72", s.PodPrefix);
        Assert.Equal(80, s.PodNodePrefixLength);
        Assert.Equal("fd00:30::/110", s.ServicePrefix);
        Assert.Equal("fd00:10:64:ff9b::/96", s.Nat64Prefix);
        Assert.Equal("198.18.0.128/25", s.Nat64Pool);
        Assert.Equal(new[] { "198.51.100.53" }, s.Dns64Upstream);
        Assert.False(s.AllowAaaa);
        Assert.Equal("bridge", s.Cni);
        Assert.Equal("v1.30.2", s.KubernetesVersion);
        Assert.Equal("", s.Subnet);
        AssertValid(s);

        // Bare-metal settings are reported with their line, not dropped silently.
        Assert.Contains(result.Warnings, w => w.StartsWith("config.yaml:4: general.token:", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.StartsWith("config.yaml:25: support_net.cidr:", StringComparison.Ordinal));
        Assert.Equal(9000, s.Mtu);      // pod_net.mtu: the lab's one MTU, said in a warning
        Assert.Contains(result.Warnings, w => w.Contains("pod_net.mtu 9000 becomes the lab's one MTU"));
        Assert.Contains(result.Warnings, w => w.Contains("nat64.v4_ip") && w.Contains("just below its pool"));
        Assert.Contains(result.Warnings, w => w.Contains("dns64.ip"));
        Assert.Contains(result.Warnings, w => w.StartsWith("topology: the bare-metal interfaces (my-master: enp10s0", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.Contains("my-master=2, a-minion=3, b-minion=4"));
    }

    [Fact]
    public void Lazyjack_default_name_and_round_trip()
    {
        var spec = LazyjackImporter.Import(TestData("lazyjack-config.yaml"), "config.yaml").Spec;
        Assert.Equal(LazyjackImporter.DefaultClusterName, spec.ClusterName);
        AssertSameSpec(spec, SpecYaml.Deserialize(SpecYaml.Serialize(spec), "lazyjack.yaml"));
    }

    [Fact]
    public void Lazyjack_legacy_pod_prefix_and_size()
    {
        var result = LazyjackImporter.Import(TestData("lazyjack-legacy-config.yaml"), "config.yaml", "lab");
        Assert.Equal("fd00:40::/64", result.Spec.PodPrefix);
        Assert.Equal(80, result.Spec.PodNodePrefixLength);
        Assert.Equal(3, result.Spec.Nodes);
        Assert.Equal("", result.Spec.KubernetesVersion);
        AssertValid(result.Spec);
    }

    private static string Sample() => TestData("lazyjack-config.yaml").Replace("\r\n", "\n");

    [Theory]
    [InlineData("dual-stack")]
    [InlineData("ipv4")]
    public void Lazyjack_modes_other_than_ipv6_are_unsupported(string mode)
    {
        var e = Fails(() => LazyjackImporter.Import(Sample().Replace("mode: \"ipv6\"", $"mode: \"{mode}\""), "config.yaml"));
        Assert.Equal(ErrorIds.SpecValueUnsupported, e.ErrorId);
        Assert.Equal("general.mode", e.ParameterName);
        Assert.Contains("config.yaml:8: general.mode", e.Message);
    }

    [Theory]
    [InlineData("allow_aaaa_use: false", "allow_aaaa_use: true")]
    [InlineData("allow_aaaa_use: false", "allow_ipv6_use: yes")]
    public void Lazyjack_allow_aaaa_use(string find, string replace)
    {
        var result = LazyjackImporter.Import(Sample().Replace(find, replace), "config.yaml", "lab");
        Assert.True(result.Spec.AllowAaaa);
        AssertValid(result.Spec);
    }

    [Fact]
    public void Lazyjack_topology_without_master_is_unsupported()
    {
        var e = Fails(() => LazyjackImporter.Import(Sample().Replace("\"master dns64 nat64\"", "\"dns64 nat64\""), "config.yaml"));
        Assert.Equal(ErrorIds.SpecValueUnsupported, e.ErrorId);
        Assert.Equal("topology", e.ParameterName);
        Assert.Contains("config.yaml:11: topology", e.Message);
        Assert.Contains("master", e.Message);
    }

    [Fact]
    public void Lazyjack_two_masters_are_unsupported()
    {
        var e = Fails(() => LazyjackImporter.Import(Sample().Replace("opmodes: \"minion\"\n    id: 3", "opmodes: \"master\"\n    id: 3"), "config.yaml"));
        Assert.Equal(ErrorIds.SpecValueUnsupported, e.ErrorId);
        Assert.Contains("a-minion", e.Message);
    }

    [Theory]
    [InlineData("    cidr: \"fd00:20::/64\"", "    cidr: \"198.18.64.0/24\"", ErrorIds.SpecValueUnsupported, "mgmt_net.cidr")]
    [InlineData("    cidr: \"fd00:20::/64\"", "    cidr: \"fd00:20::/64\"\n    cidr2: \"198.18.64.0/24\"", ErrorIds.SpecValueUnsupported, "mgmt_net.cidr2")]
    [InlineData("    plugin: bridge", "    plugin: weave", ErrorIds.SpecValueUnsupported, "general.plugin")]
    [InlineData("opmodes: \"minion\"\n    id: 3", "opmodes: \"minion worker\"\n    id: 3", ErrorIds.SpecValueUnsupported, "topology.a-minion.opmodes")]
    [InlineData("    cidr: \"fd00:10:64:ff9b::/96\"", "    cidr: \"fd00:10:64:ff9g::/96\"", ErrorIds.InvalidNat64Prefix, "dns64.cidr")]
    [InlineData("    v4_cidr: \"198.18.0.128/25\"", "    v4_cidr: \"198.18.0.128\"", ErrorIds.InvalidNat64Pool, "nat64.v4_cidr")]
    [InlineData("    remote_server: \"198.51.100.53\"", "    remote_server: \"resolver.example\"", ErrorIds.InvalidDns64Upstream, "dns64.remote_server")]
    [InlineData("    cidr: \"fd00:40::/72\"", "    cidr: \"fd00:40::1/72\"", ErrorIds.PrefixHostBitsSet, "pod_net.cidr")]
    [InlineData("    id: 3", "    id: three", ErrorIds.SpecFileInvalid, "topology.a-minion.id")]
    [InlineData("    allow_aaaa_use: false", "    allow_aaaa_use: sometimes", ErrorIds.SpecFileInvalid, "dns64.allow_aaaa_use")]
    public void Lazyjack_bad_values_name_the_key_path(string find, string replace, string errorId, string path)
    {
        var e = Fails(() => LazyjackImporter.Import(Sample().Replace(find, replace), "config.yaml"));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Contains(path, e.Message);
        Assert.Matches(@"config\.yaml:\d+:", e.Message);
    }

    [Fact]
    public void Lazyjack_unknown_keys_become_warnings_with_a_line()
    {
        var text = Sample().Replace("    allow_aaaa_use: false", "    alow_aaaa_use: true") + "istio:\n    enabled: true\n";
        var result = LazyjackImporter.Import(text, "config.yaml", "lab");
        Assert.False(result.Spec.AllowAaaa);
        Assert.Contains(result.Warnings, w => w.StartsWith("config.yaml:42: 'dns64.alow_aaaa_use'", StringComparison.Ordinal) && w.Contains("did you mean 'allow_aaaa_use'"));
        Assert.Contains(result.Warnings, w => w.StartsWith("config.yaml:43: 'istio' is not a Lazyjack section", StringComparison.Ordinal));
    }

    [Fact]
    public void Lazyjack_kubernetes_version_latest_is_left_to_the_default()
    {
        var result = LazyjackImporter.Import(Sample().Replace("\"v1.30.2\"", "latest"), "config.yaml", "lab");
        Assert.Equal("", result.Spec.KubernetesVersion);
        Assert.Contains(result.Warnings, w => w.Contains("'latest'"));
    }

    [Fact]
    public void Lazyjack_top_level_plugin_wins_as_in_lazyjack()
    {
        var result = LazyjackImporter.Import("plugin: ptp\n" + Sample(), "config.yaml", "lab");
        Assert.Equal("ptp", result.Spec.Cni);
    }

    [Fact]
    public void Lazyjack_a_second_document_or_empty_file_is_refused()
    {
        Assert.Equal(ErrorIds.SpecFileInvalid, Fails(() => LazyjackImporter.Import(Sample() + "---\ngeneral: {}\n", "config.yaml")).ErrorId);
        Assert.Equal(ErrorIds.SpecFileInvalid, Fails(() => LazyjackImporter.Import("", "config.yaml")).ErrorId);
    }
}
