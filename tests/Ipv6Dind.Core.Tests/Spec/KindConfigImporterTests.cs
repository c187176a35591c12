using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Rendering;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Core.Tests.Spec;

/// <summary>
/// kind configs (kind.x-k8s.io/v1alpha4) into specs: the fixtures under TestData/spec/kind-*.yaml are kind's own
/// documented examples and fields. IPv4 in tests only from 198.18.0.0/15 and 198.51.100.0/24.
/// </summary>
public class KindConfigImporterTests
{
    private const string Token = "abcdef.0123456789abcdef";

    private static string TestData(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "spec", name)).Replace("\r\n", "\n");

    private static SpecImportResult Import(string name, string? clusterName = null) => KindConfigImporter.Import(TestData(name), name, clusterName);

    private static SpecImportResult ImportText(string text, string? clusterName = null) => KindConfigImporter.Import(text, "kind.yaml", clusterName);

    private const string Ipv6Header = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  ipFamily: ipv6\n";

    private static DindException Fails(Action action) => Assert.Throws<DindException>(action);

    /// <summary>
    /// The error importing <paramref name="text"/> (as kind.yaml) gives: its id, the field it names (when given),
    /// a message that starts with "kind.yaml:line:" and holds each of <paramref name="parts"/>.
    /// </summary>
    private static DindException Refused(string text, string errorId, string? field, int line, params string[] parts)
    {
        var e = Fails(() => ImportText(text));
        Assert.Equal(errorId, e.ErrorId);
        if (field is not null) Assert.Equal(field, e.ParameterName);
        Assert.True(e.Message.StartsWith($"kind.yaml:{line}: ", StringComparison.Ordinal) && parts.All(e.Message.Contains), e.Message);
        return e;
    }

    private static void AssertValid(DindClusterSpec spec)
    {
        var problems = SpecValidator.Validate(SpecDefaults.Complete(spec));
        Assert.True(problems.Count == 0, "spec does not validate:\n" + string.Join("\n", problems.Select(p => $"{p.ErrorId}: {p.Message}")));
    }

    // ---------------------------------------------------------------- what maps where

    [Fact]
    public void Kinds_ipv6_example_is_a_one_node_lab_with_Ipv6Dinds_defaults()
    {
        var result = Import("kind-ipv6.yaml");
        var s = result.Spec;
        Assert.Equal(KindConfigImporter.DefaultClusterName, s.ClusterName);
        Assert.Equal(1, s.Nodes);
        Assert.Equal("", s.PodPrefix);       // kind's fd00:10:244::/56 is a default, not a setting: Ipv6Dind's own apply
        Assert.Equal("", s.ServicePrefix);
        Assert.Equal(0, s.PodNodePrefixLength);
        Assert.Equal("", s.NodeImage);
        Assert.Empty(s.NodeSettings);
        Assert.Empty(result.Warnings);
        AssertValid(s);
    }

    [Fact]
    public void Every_field_maps_to_what_the_spec_carries()
    {
        var s = Import("kind-every-field.yaml").Spec;
        Assert.Equal("app-1-cluster", s.ClusterName);
        Assert.Equal(3, s.Nodes);
        Assert.Equal("kindest/node:v1.33.1", s.NodeImage);
        Assert.Equal("fd00:10:244::/56", s.PodPrefix);
        Assert.Equal(64, s.PodNodePrefixLength);   // kind's nodes take a /64 each
        Assert.Equal("fd00:10:96::/112", s.ServicePrefix);
        Assert.Equal(new Dictionary<string, bool> { ["CSIMigration"] = true, ["AllBeta"] = false }, s.FeatureGates);
        Assert.Equal(new Dictionary<string, string> { ["api/alpha"] = "false", ["apps/v1beta2"] = "true" }, s.RuntimeConfig);
        Assert.Equal("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nevictionHard:\n  nodefs.available: \"0%\"\n", Assert.Single(s.KubeadmConfigPatches));
        var json = Assert.Single(s.KubeadmConfigPatchesJson6902);
        Assert.Equal(("kubeadm.k8s.io", "v1beta3", "ClusterConfiguration"), (json.Group, json.Version, json.Kind));
        Assert.Equal("- op: add\n  path: /apiServer/certSANs/-\n  value: my-hostname\n", json.Patch);
        Assert.Equal("[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"registry:5000\"]", Assert.Single(s.ContainerdConfigPatches));

        Assert.Equal(new[] { 1, 2, 3 }, s.NodeSettings.Select(n => n.Node));
        var controlPlane = s.NodeSettings[0];
        Assert.Empty(controlPlane.Labels);
        Assert.Equal(2, controlPlane.ExtraMounts.Count);
        Assert.Equal(("/path/to/my/files", "/files", false, false, ""), Mount(controlPlane.ExtraMounts[0]));
        Assert.Equal(("/path/to/my/other-files/", "/other-files", true, false, "None"), Mount(controlPlane.ExtraMounts[1]));
        var port = Assert.Single(controlPlane.ExtraPortMappings);
        Assert.Equal((80, 80, "::1", "TCP"), (port.ContainerPort, port.HostPort, port.ListenAddress, port.Protocol));
        Assert.Contains("node-labels: \"my-label=true\"", Assert.Single(controlPlane.KubeadmConfigPatches));

        Assert.Equal(new Dictionary<string, string> { ["tier"] = "frontend" }, s.NodeSettings[1].Labels);
        Assert.Contains("register-with-taints", Assert.Single(s.NodeSettings[1].KubeadmConfigPatches));
        Assert.Equal(new Dictionary<string, string> { ["tier"] = "backend" }, s.NodeSettings[2].Labels);
        Assert.Equal("KubeletConfiguration", Assert.Single(s.NodeSettings[2].KubeadmConfigPatchesJson6902).Kind);
        AssertValid(s);

        static (string, string, bool, bool, string) Mount(DindNodeMount m) => (m.HostPath, m.ContainerPath, m.ReadOnly, m.SelinuxRelabel, m.Propagation);
    }

    [Fact]
    public void Every_field_not_honoured_is_a_warning_with_its_line_in_file_order()
    {
        var warnings = Import("kind-every-field.yaml").Warnings;
        var expected = new[]
        {
            "kind-every-field.yaml:16: networking.apiServerAddress '198.51.100.10': not carried",
            "kind-every-field.yaml:17: networking.apiServerPort 6443: not carried",
            "kind-every-field.yaml:20: networking.disableDefaultCNI: not carried",
            "kind-every-field.yaml:21: networking.kubeProxyMode 'nftables': not carried",
            "kind-every-field.yaml:22: networking.dnsSearch [lab.example]: not carried",
            "kind-every-field.yaml:39: containerdConfigPatches (1): carried in the spec but not applied yet",
            "kind-every-field.yaml:43: containerdConfigPatchesJSON6902: not carried",
            "kind-every-field.yaml:49: nodes[0] (app-1-cluster-node-1): extraMounts (2) and extraPortMappings (1) carried in the spec (nodeSettings, node 1) but not applied yet",
            "kind-every-field.yaml:87: nodes[2].kubeadmConfigPatchesJSON6902[0] (KubeletConfiguration kubelet.config.k8s.io/v1beta1) patches the KubeletConfiguration of a worker",
        };
        Assert.Equal(expected.Length, warnings.Count);
        foreach (var (prefix, warning) in expected.Zip(warnings))
            Assert.StartsWith(prefix, warning);
        Assert.Contains("iptables mode", warnings[3]);
        Assert.Contains("[::1]", warnings[0]);
    }

    [Fact]
    public void The_name_is_the_configs_unless_a_cluster_name_is_given()
    {
        Assert.Equal("app-1-cluster", Import("kind-every-field.yaml").Spec.ClusterName);
        Assert.Equal("lab", Import("kind-every-field.yaml", "lab").Spec.ClusterName);
        Assert.Equal("kind", Import("kind-ipv6.yaml").Spec.ClusterName);
    }

    [Fact]
    public void A_name_kind_accepts_but_Ipv6Dind_cannot_use_asks_for_a_cluster_name()
    {
        var text = Ipv6Header + "name: app.1\n";
        var e = Fails(() => ImportText(text));
        Assert.Equal(ErrorIds.InvalidClusterName, e.ErrorId);
        Assert.Equal("name", e.ParameterName);
        Assert.StartsWith("kind.yaml:5: name 'app.1'", e.Message);
        Assert.Contains("-ClusterName", e.Message);
        Assert.Equal("lab", ImportText(text, "lab").Spec.ClusterName);
    }

    [Fact]
    public void Workers_count_with_the_control_plane_and_are_numbered_after_it_in_file_order()
    {
        var s = ImportText(Ipv6Header + "nodes:\n- role: worker\n  labels: {n: a}\n- role: control-plane\n  labels: {n: cp}\n- role: worker\n  labels: {n: b}\n").Spec;
        Assert.Equal(3, s.Nodes);
        Assert.Equal(new[] { (1, "cp"), (2, "a"), (3, "b") }, s.NodeSettings.Select(n => (n.Node, n.Labels["n"])));
    }

    [Theory]
    [InlineData("nodes:\n- {}\n- role: worker\n")]                 // a node without a role is a control plane
    [InlineData("nodes: []\n")]                                     // no nodes: kind's one control plane
    [InlineData("nodes:\n- role: control-plane\n  image:\n")]
    public void Kinds_node_defaults_apply(string nodes)
    {
        var s = ImportText(Ipv6Header + nodes).Spec;
        Assert.Equal(nodes.Contains("worker") ? 2 : 1, s.Nodes);
        Assert.Equal("", s.NodeImage);
    }

    [Theory]
    [InlineData("  podSubnet: fd00:77:40::/64\n", "fd00:77:40::/64", 0, true)]
    [InlineData("  podSubnet: fd00:77:40::/48\n", "fd00:77:40::/48", 64, false)]
    [InlineData("  serviceSubnet: fd00:77:30::/108\n", "", 0, false)]
    public void Pod_subnets_map_with_kinds_node_size_where_it_fits(string networking, string pods, int nodeLength, bool warns)
    {
        var result = ImportText(Ipv6Header + networking);
        Assert.Equal(pods, result.Spec.PodPrefix);
        Assert.Equal(nodeLength, result.Spec.PodNodePrefixLength);
        Assert.Equal(warns, result.Warnings.Any(w => w.StartsWith("kind.yaml:5: networking.podSubnet fd00:77:40::/64: in kind each node takes a /64", StringComparison.Ordinal)));
        AssertValid(result.Spec);
    }

    [Fact]
    public void What_Ipv6Dind_does_itself_draws_no_warning()
    {
        var result = ImportText(Ipv6Header + "  apiServerAddress: \"::1\"\n  kubeProxyMode: iptables\n  disableDefaultCNI: false\nkubeadmConfigPatches: []\n");
        Assert.Empty(result.Warnings);
    }

    // ---------------------------------------------------------------- refused

    [Theory]
    [InlineData("kind-dual.yaml", 5, "networking.ipFamily 'dual': Ipv6Dind builds IPv6-only labs", "a dual-stack cluster is out of its scope")]
    [InlineData("kind-ipv4.yaml", 5, "networking.ipFamily 'ipv4': Ipv6Dind builds IPv6-only labs", "an IPv4 cluster is out of its scope")]
    [InlineData("kind-no-ip-family.yaml", 1, "networking.ipFamily: is not set, and kind's default is ipv4; Ipv6Dind builds IPv6-only labs", "")]
    public void Ip_families_other_than_ipv6_are_refused_naming_the_field(string file, int line, string message, string scope)
    {
        var e = Fails(() => Import(file));
        Assert.Equal(ErrorIds.SpecValueUnsupported, e.ErrorId);
        Assert.Equal(DindErrorCategory.InvalidData, e.Category);
        Assert.Equal("networking.ipFamily", e.ParameterName);
        Assert.StartsWith($"{file}:{line}: {message}", e.Message);
        Assert.Contains(scope, e.Message);
        Assert.Contains("Only 'ipFamily: ipv6' under networking can be imported", e.RecommendedAction);
        Assert.EndsWith(e.RecommendedAction!, e.Message);
    }

    [Theory]
    [InlineData("  ipFamily: IPv6\n", "not one of kind's ipFamily values")]
    [InlineData("  ipFamily: [ipv6]\n", "takes a single value")]
    public void Ip_family_spellings_kind_refuses_are_refused(string family, string message) =>
        Refused("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n" + family, family.Contains('[') ? ErrorIds.SpecFileInvalid : ErrorIds.SpecValueUnsupported,
            "networking.ipFamily", 4, message);

    [Fact]
    public void Two_control_planes_are_refused_at_the_second_saying_ha_is_not_supported_yet()
    {
        var e = Refused(TestData("kind-two-control-planes.yaml"), ErrorIds.SpecValueUnsupported, "nodes[1].role", 8,
            "nodes[1].role 'control-plane': a second control-plane node", "HA control planes are not supported yet");
        Assert.Equal(DindErrorCategory.InvalidData, e.Category);
        Assert.Equal("Keep one node with 'role: control-plane' and make the others 'role: worker'.", e.RecommendedAction);
    }

    [Fact]
    public void Workers_without_a_control_plane_are_refused() =>
        Refused(Ipv6Header + "nodes:\n- role: worker\n", ErrorIds.SpecValueUnsupported, "nodes", 5, "nodes: no node has 'role: control-plane'");

    [Theory]
    [InlineData("- role: control-plane\n  image: kindest/node:v1.33.1\n- role: worker\n  image: kindest/node:v1.32.0\n", 8, "nodes[1].image", "nodes[1] has image 'kindest/node:v1.32.0' but nodes[0] has image 'kindest/node:v1.33.1'")]
    [InlineData("- role: control-plane\n  image: kindest/node:v1.33.1\n- role: worker\n", 8, "nodes[1].image", "nodes[1] has no image (kind's default) but nodes[0] has image 'kindest/node:v1.33.1'")]
    public void Nodes_on_different_images_are_refused(string nodes, int line, string field, string message)
    {
        var e = Refused(Ipv6Header + "nodes:\n" + nodes, ErrorIds.SpecValueUnsupported, field, line, field, message, "one node image for the whole lab");
        Assert.Equal("Give every node the same image, or none (the module's own node image).", e.RecommendedAction);
    }

    [Theory]
    [InlineData("  podSubnet: \"198.18.0.0/16\"\n", ErrorIds.SpecValueUnsupported, "networking.podSubnet", "an IPv4 pod subnet")]
    [InlineData("  podSubnet: \"198.18.0.0/16,fd00:10:244::/56\"\n", ErrorIds.SpecValueUnsupported, "networking.podSubnet", "dual-stack form")]
    [InlineData("  podSubnet: \"fd00:10:244::1/56\"\n", ErrorIds.PrefixHostBitsSet, "networking.podSubnet", "host bits")]
    [InlineData("  podSubnet: \"fd00:10:244:/56\"\n", ErrorIds.InvalidPodPrefix, "networking.podSubnet", "not a valid IPv6 prefix")]
    [InlineData("  serviceSubnet: \"198.18.96.0/20\"\n", ErrorIds.SpecValueUnsupported, "networking.serviceSubnet", "an IPv4 service subnet")]
    [InlineData("  serviceSubnet: \"fd00:10:96::/ab\"\n", ErrorIds.InvalidServicePrefix, "networking.serviceSubnet", "not a valid IPv6 prefix")]
    [InlineData("  kubeProxyMode: userspace\n", ErrorIds.SpecValueUnsupported, "networking.kubeProxyMode", "not one of kind's kube-proxy modes")]
    public void Subnets_and_modes_Ipv6Dind_cannot_use_name_the_field(string networking, string errorId, string field, string message) =>
        Refused(Ipv6Header + networking, errorId, field, 5, field, message);

    [Theory]
    [InlineData("nodes:\n- role: worker\n  rol: control-plane\n", "nodes[0].rol", 7, "role")]
    [InlineData("networking:\n  ipFamily: ipv6\n  podSubnets: fd00::/56\n", "networking.podSubnets", 5, "podSubnet")]
    [InlineData("featureGate:\n  A: true\n", "featureGate", 5, "featureGates")]
    [InlineData("nodes:\n- extraMounts:\n  - hostpath: /a\n", "nodes[0].extraMounts[0].hostpath", 7, "hostPath")]
    public void Unknown_fields_are_refused_as_kind_refuses_them(string extra, string field, int line, string suggestion) =>
        Refused((extra.StartsWith("networking", StringComparison.Ordinal) ? "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n" : Ipv6Header) + extra,
            ErrorIds.SpecFieldUnknown, field, line, $"unknown field '{field}'", $"did you mean '{suggestion}'");

    [Theory]
    [InlineData("apiVersion: kind.x-k8s.io/v1alpha4", "apiVersion: kind.x-k8s.io/v1alpha3", "apiVersion is 'kind.x-k8s.io/v1alpha3', not 'kind.x-k8s.io/v1alpha4'", 2)]
    [InlineData("kind: Cluster", "kind: Config", "kind is 'Config', not 'Cluster'", 1)]
    [InlineData("kind: Cluster\n", "", "kind is missing", 1)]
    public void Other_versions_and_kinds_are_refused(string find, string replace, string message, int line) =>
        Refused(Ipv6Header.Replace(find, replace), ErrorIds.SpecFileInvalid, null, line, message, "the only version kind itself reads");

    [Theory]
    [InlineData("  extraPortMappings:\n  - containerPort: \"80\"\n", "nodes[0].extraPortMappings[0].containerPort", 8)]
    [InlineData("  extraMounts:\n  - readOnly: sometimes\n", "nodes[0].extraMounts[0].readOnly", 8)]
    [InlineData("  labels: [a]\n", "nodes[0].labels", 7)]
    public void Wrong_types_name_field_and_line(string node, string field, int line) =>
        Refused(Ipv6Header + "nodes:\n- role: control-plane\n" + node, ErrorIds.SpecFileInvalid, null, line, field);

    // ---------------------------------------------------------------- kubeadm patches

    [Theory]
    [InlineData("kubeadmConfigPatches:\n- |\n  b o g u s\n", "kubeadmConfigPatches[0]", 6, "not a merge patch")]
    [InlineData("kubeadmConfigPatches:\n- |\n  kind: [ClusterConfiguration]\n", "kubeadmConfigPatches[0]", 6, "kind is a list")]
    [InlineData("kubeadmConfigPatchesJSON6902:\n- kind: ClusterConfiguration\n  patch: |\n    - op: append\n      path: /a\n", "kubeadmConfigPatchesJSON6902[0].patch", 7, "'append' is not an RFC 6902 operation")]
    [InlineData("kubeadmConfigPatchesJSON6902:\n- kind: ClusterConfiguration\n  patch: |\n    - op: add\n      path: apiServer\n      value: 1\n", "kubeadmConfigPatchesJSON6902[0].patch", 7, "is not a JSON pointer")]
    [InlineData("kubeadmConfigPatchesJSON6902:\n- kind: ClusterConfiguration\n  patch: |\n    op: add\n", "kubeadmConfigPatchesJSON6902[0].patch", 7, "list of operations")]
    public void Patches_that_do_not_parse_are_refused_at_their_line(string patches, string field, int line, string message) =>
        Refused(Ipv6Header + patches, ErrorIds.InvalidKubeadmPatch, field, line, field, message);

    [Theory]
    [InlineData("kubeadmConfigPatches:\n- |\n  apiVersion: kubeadm.k8s.io/v1beta2\n  kind: ClusterConfiguration\n", "kind.yaml:6: kubeadmConfigPatches[0] (ClusterConfiguration) names kubeadm.k8s.io/v1beta2, which Ipv6Dind never renders")]
    [InlineData("kubeadmConfigPatches:\n- |\n  kind: Pod\n", "kind.yaml:6: kubeadmConfigPatches[0] (Pod) patches Pod, which a kubeadm configuration does not hold")]
    [InlineData("kubeadmConfigPatches:\n- |\n  apiServer: {}\n", "kind.yaml:6: kubeadmConfigPatches[0] has no kind")]
    [InlineData("kubeadmConfigPatchesJSON6902:\n- version: v1\n  kind: Pod\n  patch: '[]'\n", "kind.yaml:6: kubeadmConfigPatchesJSON6902[0] (Pod v1) patches Pod")]
    [InlineData("nodes:\n- role: control-plane\n- role: worker\n  kubeadmConfigPatches:\n  - |\n    kind: ClusterConfiguration\n", "kind.yaml:9: nodes[1].kubeadmConfigPatches[0] (ClusterConfiguration) patches the ClusterConfiguration of a worker")]
    [InlineData("nodes:\n- role: control-plane\n  kubeadmConfigPatches:\n  - |\n    kind: JoinConfiguration\n", "kind.yaml:8: nodes[0].kubeadmConfigPatches[0] (JoinConfiguration) patches the JoinConfiguration of the control plane")]
    [InlineData("kubeadmConfigPatchesJSON6902:\n- group: kubeadm.k8s.io\n  version: v1beta3\n  kind: ClusterConfiguration\n  name: config\n  patch: '[]'\n", "kind.yaml:9: kubeadmConfigPatchesJSON6902[0].name: not carried: kind ignores it too")]
    public void Patches_that_can_never_apply_are_kept_with_a_warning(string patches, string warning)
    {
        var result = ImportText(Ipv6Header + patches);
        Assert.Contains(result.Warnings, w => w.StartsWith(warning, StringComparison.Ordinal));
        AssertValid(result.Spec);
    }

    // ---------------------------------------------------------------- through SpecFiles, the spec file and the renderer

    [Fact]
    public void Auto_detects_a_kind_config_and_the_format_can_be_given()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", "spec", "kind-every-field.yaml");
        Assert.Equal(SpecFileFormat.Kind, SpecFiles.Detect(TestData("kind-every-field.yaml"), path));
        Assert.Equal(SpecFileFormat.Kind, SpecFiles.Detect("apiVersion: \"kind.x-k8s.io/v1alpha3\"\nkind: Cluster # old\n", "old.yaml"));
        Assert.Equal("app-1-cluster", SpecFiles.Read(path, SpecFileFormat.Auto, null).Spec.ClusterName);
        var result = SpecFiles.Read(path, SpecFileFormat.Kind, "lab");
        Assert.Equal("lab", result.Spec.ClusterName);
        Assert.Equal(9, result.Warnings.Count);
        var e = Fails(() => SpecFiles.Detect("kind: Cluster\n", "x.yaml"));
        Assert.Contains("-Format Kind", e.RecommendedAction);
    }

    [Fact]
    public void An_imported_kind_config_survives_the_spec_file()
    {
        var spec = Import("kind-every-field.yaml").Spec;
        var text = SpecYaml.Serialize(spec);
        var back = SpecYaml.Deserialize(text, "kind.dindcluster.yaml");
        Assert.Equal(text, SpecYaml.Serialize(back));
        Assert.Equal(spec.FeatureGates, back.FeatureGates);
        Assert.Equal(spec.RuntimeConfig, back.RuntimeConfig);
        Assert.Equal(spec.KubeadmConfigPatches, back.KubeadmConfigPatches);
        Assert.Equal(spec.ContainerdConfigPatches, back.ContainerdConfigPatches);
        Assert.Equal(spec.NodeSettings.Count, back.NodeSettings.Count);
        Assert.Contains("  kubeadmConfigPatchesJSON6902:\n  - group: kubeadm.k8s.io\n    version: v1beta3\n    kind: ClusterConfiguration\n    patch: |\n      - op: add\n", text);
    }

    [Fact]
    public void The_kubeadm_configuration_of_the_every_field_config_matches_golden()
    {
        // The cluster's JSON 6902 patch names v1beta3, as kind's own example does, so v1beta3 is rendered (kind
        // renders v1beta3 up to 1.35) and the patch adds my-hostname; gates, runtime config, labels and the nodes'
        // own patches land where kind puts them.
        var spec = Import("kind-every-field.yaml").Spec;
        spec.ClusterName = "lab";
        var plan = AddressPlanner.Plan(SpecDefaults.Complete(spec));
        var configs = KubernetesConfigs.ForCluster(spec, plan, Token, null).ToList();
        Assert.Equal(3, configs.Count);
        Golden.Match("kubeadm/kind-every-field.init.yaml", configs[0].Content);
        Golden.Match("kubeadm/kind-every-field.join-2.yaml", configs[1].Content);
        Golden.Match("kubeadm/kind-every-field.join-3.yaml", configs[2].Content);
    }
}
