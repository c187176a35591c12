using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Rendering;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Tests.Rendering;

/// <summary>
/// kind's kubeadm patches (merge patches with kind's kubeadm rules, RFC 6902 patches) as pure functions on YAML, then
/// through the renderer with kind's documented example patches, feature gates, runtime config and node labels.
/// </summary>
public class KubeadmPatchTests
{
    private const string Token = "abcdef.0123456789abcdef";

    /// <summary>Same documents, as JSON sees them: mapping order and YAML quoting do not count.</summary>
    private static void SameYaml(string expected, string actual)
    {
        var e = KubernetesYaml.SplitDocuments(expected).Select(KubernetesYaml.ParseDocument).Where(d => d is not null).ToList();
        var a = KubernetesYaml.SplitDocuments(actual).Select(KubernetesYaml.ParseDocument).Where(d => d is not null).ToList();
        Assert.True(e.Count == a.Count && e.Zip(a).All(p => KubernetesYaml.DeepEquals(p.First!, p.Second!)),
            $"expected:\n{expected}\nactual:\n{actual}");
    }

    private static string Patch(string yaml, params string[] merge) => KubeadmPatches.ApplyToYaml(yaml, merge, Array.Empty<KubeadmJson6902Patch>());

    private static string Json(string yaml, string kind, string apiVersion, string operations)
    {
        var slash = apiVersion.LastIndexOf('/');
        var patch = new KubeadmJson6902Patch
        {
            Group = slash < 0 ? "" : apiVersion[..slash],
            Version = apiVersion[(slash + 1)..],
            Kind = kind,
            Patch = operations,
        };
        return KubeadmPatches.ApplyToYaml(yaml, Array.Empty<string>(), new[] { patch });
    }

    private const string V1Beta3 =
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  certSANs: [localhost, \"::1\"]\n  extraArgs:\n    v: \"4\"\nnetworking:\n  podSubnet: fd00:77:0:40::/64\n" +
        "---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    node-ip: fd00:77:0:10::1001\n";

    private const string V1Beta4 =
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  certSANs: [localhost, \"::1\"]\n  extraArgs:\n  - name: v\n    value: \"4\"\n  - name: bind-address\n    value: \"::\"\n" +
        "---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n  - name: node-ip\n    value: fd00:77:0:10::1001\n  - name: fail-swap-on\n    value: \"false\"\n";

    // ---------------------------------------------------------------- merge patches

    [Fact]
    public void Merge_patch_documents_apply_to_their_kind_split_at_any_line_of_dashes_as_kind_splits()
    {
        var patched = Patch(V1Beta3, "\nkind: ClusterConfiguration\napiVersion: kubeadm.k8s.io/v1beta3\nscheduler:\n  extraArgs:\n    some-extra-arg: the-arg\n----\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    \"v\": \"4\"\n");
        SameYaml(V1Beta3
            .Replace("networking:", "scheduler:\n  extraArgs:\n    some-extra-arg: the-arg\nnetworking:")
            .Replace("    node-ip: fd00:77:0:10::1001\n", "    node-ip: fd00:77:0:10::1001\n    v: \"4\"\n"), patched);
    }

    [Fact]
    public void A_patch_naming_another_apiVersion_or_kind_changes_nothing()
    {
        SameYaml(V1Beta3, Patch(V1Beta3, "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nclusterName: x\n", "kind: Pod\nclusterName: x\n", "", "---\n"));
    }

    [Fact]
    public void Null_deletes_mappings_merge_and_lists_and_values_replace()
    {
        var patched = Patch(V1Beta3, "kind: ClusterConfiguration\nnetworking: null\napiServer:\n  extraArgs:\n    v: null\n    audit-log-maxage: \"30\"\n  timeoutForControlPlane: 4m0s\ndns:\n  disabled: true\n");
        SameYaml("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  certSANs: [localhost, \"::1\"]\n  extraArgs:\n    audit-log-maxage: \"30\"\n  timeoutForControlPlane: 4m0s\ndns:\n  disabled: true\n" +
                 "---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    node-ip: fd00:77:0:10::1001\n", patched);
        // A list in a patch replaces the list (RFC 7386), except certSANs, which kind adds to.
        SameYaml(V1Beta3.Replace("node-ip: fd00:77:0:10::1001", "node-ip: fd00:77:0:10::1001\n  taints: []"),
            Patch(V1Beta3.Replace("node-ip: fd00:77:0:10::1001", "node-ip: fd00:77:0:10::1001\n  taints: [{key: a}, {key: b}]"), "kind: InitConfiguration\nnodeRegistration:\n  taints: []\n"));
    }

    [Fact]
    public void CertSANs_are_added_to_without_duplicates_in_every_version()
    {
        const string patch = "kind: ClusterConfiguration\napiServer:\n  certSANs:\n  - \"::1\"\n  - my-host\n";
        Assert.Contains("- my-host", Patch(V1Beta3, patch));
        SameYaml(V1Beta4.Replace("[localhost, \"::1\"]", "[localhost, \"::1\", my-host]"), Patch(V1Beta4, patch));
    }

    [Fact]
    public void On_v1beta4_unversioned_map_form_extra_args_merge_by_name()
    {
        // Patches written for v1beta3 (extraArgs as a map) keep working on v1beta4's lists, as in kind: a value
        // replaces the argument's, null removes it, a new name is appended.
        var patched = Patch(V1Beta4,
            "kind: ClusterConfiguration\napiServer:\n  extraArgs:\n    \"v\": \"5\"\n    \"enable-hostpath-provisioner\": \"true\"\n" +
            "---\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    \"fail-swap-on\": null\n    \"node-labels\": \"my-label=true\"\n");
        SameYaml("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  certSANs: [localhost, \"::1\"]\n  extraArgs:\n  - {name: v, value: \"5\"}\n  - {name: bind-address, value: \"::\"}\n  - {name: enable-hostpath-provisioner, value: \"true\"}\n" +
                 "---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n  - {name: node-ip, value: fd00:77:0:10::1001}\n  - {name: node-labels, value: my-label=true}\n", patched);
    }

    [Fact]
    public void On_v1beta4_list_form_extra_args_merge_by_name()
    {
        var patched = Patch(V1Beta4, "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n  - name: enable-hostpath-provisioner\n    value: \"true\"\n  - name: bind-address\n    value: \"::1\"\n");
        SameYaml(V1Beta4.Replace("value: \"::\"\n", "value: \"::1\"\n  - name: enable-hostpath-provisioner\n    value: \"true\"\n"), patched);
    }

    [Theory]
    [InlineData("b o g u s", "a merge patch is a YAML mapping with the kind it patches")]
    [InlineData("- kind: ClusterConfiguration", "not a list")]
    [InlineData("kind: ClusterConfiguration\napiServer: {", "not valid YAML")]
    [InlineData("kind: A\n---\nkind: [B]\n", "document 2: kind is a list, not a name.")]
    public void A_merge_patch_that_is_not_a_mapping_is_refused(string patch, string message)
    {
        var e = Assert.Throws<FormatException>(() => KubeadmPatches.ParseMerge(patch));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("deep")]
    [InlineData("aliases")]
    public void A_patch_too_deep_or_too_large_is_refused_not_expanded(string what)
    {
        var text = what == "deep"
            ? "kind: A\nx: " + new string('[', 200) + new string(']', 200) + "\n"
            : "kind: A\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + string.Concat(Enumerable.Range(0, 8).Select(i => $"{(char)('b' + i)}: &{(char)('b' + i)} [*{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}]\n"));
        var e = Assert.Throws<FormatException>(() => KubeadmPatches.ParseMerge(text));
        Assert.Contains(what == "deep" ? "levels deep" : "more than 100000 values", e.Message);
    }

    [Fact]
    public void Kinds_matching_metadata_is_removed_other_metadata_is_kept()
    {
        var documents = new List<KubernetesYaml.Map>
        {
            new() { { "kind", "ClusterConfiguration" }, { "metadata", new KubernetesYaml.Map { { "name", "config" } } } },
            new() { { "kind", "KubeletConfiguration" }, { "metadata", new KubernetesYaml.Map { { "name", "other" } } } },
        };
        KubeadmPatches.RemoveKindMetadata(documents);
        Assert.Null(documents[0].Get("metadata"));
        Assert.NotNull(documents[1].Get("metadata"));
    }

    // ---------------------------------------------------------------- RFC 6902

    /// <summary>The ClusterConfiguration of <see cref="V1Beta3"/> with other apiServer contents and more top-level fields, as flow YAML.</summary>
    private static string Cluster(string apiServer = "certSANs: [localhost, \"::1\"], extraArgs: {v: \"4\"}", string more = ", networking: {podSubnet: \"fd00:77:0:40::/64\"}") =>
        $"{{apiVersion: kubeadm.k8s.io/v1beta3, kind: ClusterConfiguration, apiServer: {{{apiServer}}}{more}}}";

    public static TheoryData<string, string> JsonPatchCases() => new()
    {
        // kind's documented example: append to certSANs.
        { "- op: add\n  path: /apiServer/certSANs/-\n  value: my-hostname\n", Cluster("certSANs: [localhost, \"::1\", my-hostname], extraArgs: {v: \"4\"}") },
        { "- op: add\n  path: /apiServer/certSANs/0\n  value: first\n", Cluster("certSANs: [first, localhost, \"::1\"], extraArgs: {v: \"4\"}") },
        { "- op: add\n  path: /apiServer/timeoutForControlPlane\n  value: 4m0s\n", Cluster("certSANs: [localhost, \"::1\"], extraArgs: {v: \"4\"}, timeoutForControlPlane: 4m0s") },
        { "- op: add\n  path: /apiServer/extraArgs/v\n  value: \"6\"\n", Cluster("certSANs: [localhost, \"::1\"], extraArgs: {v: \"6\"}") }, // add replaces a member
        { "- op: remove\n  path: /apiServer/certSANs/1\n", Cluster("certSANs: [localhost], extraArgs: {v: \"4\"}") },
        { "- op: replace\n  path: /apiServer/extraArgs/v\n  value: \"2\"\n", Cluster("certSANs: [localhost, \"::1\"], extraArgs: {v: \"2\"}") },
        { "- op: move\n  from: /apiServer/extraArgs\n  path: /scheduler\n", Cluster("certSANs: [localhost, \"::1\"]", ", networking: {podSubnet: \"fd00:77:0:40::/64\"}, scheduler: {v: \"4\"}") },
        { "- op: copy\n  from: /apiServer/certSANs/0\n  path: /apiServer/certSANs/-\n", Cluster("certSANs: [localhost, \"::1\", localhost], extraArgs: {v: \"4\"}") },
        { "- op: test\n  path: /apiServer/extraArgs/v\n  value: \"4\"\n- op: add\n  path: /a~1b~0c\n  value: [1, 2.5, true, null]\n", Cluster(more: ", networking: {podSubnet: \"fd00:77:0:40::/64\"}, a/b~c: [1, 2.5, true, null]") },
        { "[{\"op\": \"remove\", \"path\": \"/networking\"}]", Cluster(more: "") },
        { "- op: replace\n  path: \"\"\n  value: {kind: ClusterConfiguration, clusterName: lab}\n", "{kind: ClusterConfiguration, clusterName: lab}" },
    };

    [Theory]
    [MemberData(nameof(JsonPatchCases))]
    public void Json6902_operations_apply_to_the_cluster_configuration(string operations, string expected)
    {
        var patched = KubernetesYaml.SplitDocuments(Json(V1Beta3, "ClusterConfiguration", "kubeadm.k8s.io/v1beta3", operations));
        SameYaml(expected, patched[0]);
        // The InitConfiguration is another kind: untouched.
        SameYaml(KubernetesYaml.SplitDocuments(V1Beta3)[1], patched[1]);
    }

    [Theory]
    [InlineData("- op: replace\n  path: /apiServer/timeoutForControlPlane\n  value: 4m0s\n", "there is no 'timeoutForControlPlane' to replace")]
    [InlineData("- op: remove\n  path: /etcd\n", "there is no 'etcd' to remove")]
    [InlineData("- op: add\n  path: /etcd/local/dataDir\n  value: /tmp\n", "there is no 'etcd' at the top")]
    [InlineData("- op: add\n  path: /apiServer/certSANs/3\n  value: x\n", "index 3 is past the end of the list, which has 2 entries")]
    [InlineData("- op: add\n  path: /apiServer/certSANs/-1\n  value: x\n", "'-1' is not a list index")]
    [InlineData("- op: test\n  path: /apiServer/extraArgs/v\n  value: 4\n", "the test failed: the value is \"4\", not 4")]
    [InlineData("- op: move\n  from: /apiServer\n  path: /apiServer/inner\n", "cannot move /apiServer into its own child")]
    [InlineData("- op: add\n  path: /networking/podSubnet/x\n  value: 1\n", "'x' is below the text 'fd00:77:0:40::/64', which has no members")]
    public void Json6902_operations_that_cannot_apply_say_why(string operations, string message)
    {
        var e = Assert.Throws<FormatException>(() => Json(V1Beta3, "ClusterConfiguration", "kubeadm.k8s.io/v1beta3", operations));
        Assert.True(e.Message.Contains("operation 1") && e.Message.Contains(message), e.Message);
    }

    [Theory]
    [InlineData("- op: add\n  value: 1\n", "has no path")]
    [InlineData("- op: move\n  path: /a\n", "has no from")]
    [InlineData("- op: replace\n  path: /a\n", "has no value")]
    [InlineData("- path: /a\n", "has no op")]
    [InlineData("- op: add\n  path: a\n  value: 1\n", "is not a JSON pointer")]
    [InlineData("{op: add}", "list of operations")]
    [InlineData("", "is empty")]
    public void Json6902_patches_that_are_not_operation_lists_are_refused(string operations, string message)
    {
        var e = Assert.Throws<FormatException>(() => KubeadmPatches.ParseJson6902(new KubeadmJson6902Patch { Kind = "ClusterConfiguration", Patch = operations }));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Json6902_patches_match_group_and_version_or_the_version_alone()
    {
        const string add = "- op: add\n  path: /x\n  value: 1\n";
        Assert.Contains("x: 1", Json(V1Beta3, "ClusterConfiguration", "kubeadm.k8s.io/v1beta3", add));
        Assert.DoesNotContain("x: 1", Json(V1Beta3, "ClusterConfiguration", "kubeadm.k8s.io/v1beta4", add));
        Assert.DoesNotContain("x: 1", Json(V1Beta3, "ClusterConfiguration", "v1beta3", add));
        Assert.Contains("x: 1", Json(V1Beta3, "ClusterConfiguration", "", add)); // neither group nor version: any version
    }

    [Fact]
    public void Yaml_values_are_typed_as_kinds_yaml_reader_types_them()
    {
        var patched = Patch("kind: KubeletConfiguration\n", "kind: KubeletConfiguration\na: yes\nb: \"yes\"\nc: 0777\nd: 1_000\ne: 0x1F\nf: 1.50\ng: ~\nh: !!str 12\ni: .inf\n");
        SameYaml("kind: KubeletConfiguration\na: true\nb: \"yes\"\nc: 511\nd: 1000\ne: 31\nf: 1.5\nh: \"12\"\ni: .inf\n", patched);
    }

    // ---------------------------------------------------------------- through the renderer

    private static (DindClusterSpec Spec, AddressPlan Plan) Lab(string version = "v1.33.0", int nodes = 2, Action<DindClusterSpec>? configure = null)
    {
        var spec = new DindClusterSpec { ClusterName = "lab", Nodes = nodes, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" }, KubernetesVersion = version };
        configure?.Invoke(spec);
        return (spec, AddressPlanner.Plan(SpecDefaults.Complete(spec)));
    }

    private static (YamlMappingNode Init, YamlMappingNode Cluster, YamlMappingNode Kubelet, YamlMappingNode Proxy, YamlMappingNode Join) Render(DindClusterSpec spec, AddressPlan plan)
    {
        var configs = KubernetesConfigs.ForCluster(spec, plan, Token, null).ToList();
        var init = Documents(configs[0].Content);
        return (init[0], init[1], init[2], init[3], Documents(configs[1].Content)[0]);
    }

    private static IReadOnlyList<YamlMappingNode> Documents(string yaml) => KubernetesRendererTests.Documents(yaml);

    private static YamlNode At(YamlNode node, params string[] path) => KubernetesRendererTests.At(node, path);

    private static Dictionary<string, string> Args(YamlNode list) =>
        ((YamlSequenceNode)list).Children.Cast<YamlMappingNode>()
            .ToDictionary(a => ((YamlScalarNode)a[new YamlScalarNode("name")]).Value!, a => ((YamlScalarNode)a[new YamlScalarNode("value")]).Value!);

    private static DindNodeSettings Node(int index, Action<DindNodeSettings> configure)
    {
        var settings = new DindNodeSettings { Node = index };
        configure(settings);
        return settings;
    }

    [Fact]
    public void Kinds_documented_init_patch_labels_the_control_plane()
    {
        var (spec, plan) = Lab(configure: s => s.NodeSettings.Add(Node(1, n => n.KubeadmConfigPatches.Add(
            "kind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    node-labels: \"my-label=true\"\n"))));
        var (init, _, _, _, join) = Render(spec, plan);
        Assert.Equal(new Dictionary<string, string> { ["node-ip"] = "fd00:77:0:10::1001", ["node-labels"] = "my-label=true" }, Args(At(init, "nodeRegistration", "kubeletExtraArgs")));
        Assert.Equal(new[] { "node-ip" }, Args(At(join, "nodeRegistration", "kubeletExtraArgs")).Keys);
    }

    [Fact]
    public void Kinds_documented_cluster_patch_adds_an_api_server_argument()
    {
        var (spec, plan) = Lab(configure: s => s.NodeSettings.Add(Node(1, n => n.KubeadmConfigPatches.Add(
            "kind: ClusterConfiguration\napiServer:\n    extraArgs:\n      enable-admission-plugins: NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook\n"))));
        var args = Args(At(Render(spec, plan).Cluster, "apiServer", "extraArgs"));
        Assert.Equal("::", args["bind-address"]);
        Assert.Equal("NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook", args["enable-admission-plugins"]);
    }

    [Fact]
    public void Kinds_documented_join_patch_taints_a_worker()
    {
        var (spec, plan) = Lab(nodes: 3, configure: s => s.NodeSettings.Add(Node(2, n => n.KubeadmConfigPatches.Add(
            "kind: JoinConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    register-with-taints: \"my-taint=presence:NoSchedule\"\n"))));
        var configs = KubernetesConfigs.ForCluster(spec, plan, Token, null).ToList();
        Assert.Equal("my-taint=presence:NoSchedule", Args(At(Documents(configs[1].Content)[0], "nodeRegistration", "kubeletExtraArgs"))["register-with-taints"]);
        Assert.False(Args(At(Documents(configs[2].Content)[0], "nodeRegistration", "kubeletExtraArgs")).ContainsKey("register-with-taints"));
        Assert.DoesNotContain("register-with-taints", configs[0].Content);
    }

    [Fact]
    public void Kinds_documented_patches_directory_patch_reaches_the_init_configuration()
    {
        var (spec, plan) = Lab(configure: s => s.KubeadmConfigPatches.Add("kind: InitConfiguration\npatches:\n  directory: /patches\n"));
        Assert.Equal("/patches", ((YamlScalarNode)At(Render(spec, plan).Init, "patches", "directory")).Value);
    }

    [Fact]
    public void Kinds_example_config_patches_apply_in_v1beta3_as_in_kind()
    {
        // kind's kind-example-config.yaml: a KubeletConfiguration merge patch and a JSON 6902 patch of the v1beta3
        // ClusterConfiguration. kind renders v1beta3 below 1.36, so Ipv6Dind does too when patches name it.
        var (spec, plan) = Lab(configure: s =>
        {
            s.KubeadmConfigPatches.Add("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nevictionHard:\n  nodefs.available: \"0%\"\n");
            s.KubeadmConfigPatchesJson6902.Add(new KubeadmJson6902Patch { Group = "kubeadm.k8s.io", Version = "v1beta3", Kind = "ClusterConfiguration", Patch = "- op: add\n  path: /apiServer/certSANs/-\n  value: my-hostname\n" });
        });
        var (init, cluster, kubelet, _, join) = Render(spec, plan);
        Assert.Equal("kubeadm.k8s.io/v1beta3", ((YamlScalarNode)At(init, "apiVersion")).Value);
        Assert.Equal("kubeadm.k8s.io/v1beta3", ((YamlScalarNode)At(join, "apiVersion")).Value);
        Assert.Equal(new[] { "fd00:77:0:10::1001", "::1", "localhost", "my-hostname" },
            ((YamlSequenceNode)At(cluster, "apiServer", "certSANs")).Children.Select(c => ((YamlScalarNode)c).Value));
        // The merge patch sets only nodefs.available; the rest of evictionHard stays.
        Assert.Equal(3, ((YamlMappingNode)At(kubelet, "evictionHard")).Children.Count);
    }

    [Theory]
    [InlineData("v1.33.0", "kubeadm.k8s.io/v1beta3", null, "kubeadm.k8s.io/v1beta3")]
    [InlineData("v1.33.0", "kubeadm.k8s.io/v1beta3", "kubeadm.k8s.io/v1beta4", "kubeadm.k8s.io/v1beta4")] // both named: a config for both versions
    [InlineData("v1.33.0", null, null, "kubeadm.k8s.io/v1beta4")]
    [InlineData("v1.33.0", "kubelet.config.k8s.io/v1beta1", null, "kubeadm.k8s.io/v1beta4")]
    [InlineData("v1.30.2", null, "kubeadm.k8s.io/v1beta4", "kubeadm.k8s.io/v1beta3")]               // no v1beta4 below 1.31
    public void The_kubeadm_version_follows_kind_where_patches_name_v1beta3(string version, string? mergeApiVersion, string? jsonApiVersion, string expected)
    {
        var (spec, plan) = Lab(version, configure: s =>
        {
            if (mergeApiVersion is not null) s.KubeadmConfigPatches.Add($"apiVersion: {mergeApiVersion}\nkind: ClusterConfiguration\n");
            if (jsonApiVersion is not null)
                s.NodeSettings.Add(Node(2, n => n.KubeadmConfigPatchesJson6902.Add(new KubeadmJson6902Patch { Group = "kubeadm.k8s.io", Version = jsonApiVersion.Split('/')[1], Kind = "JoinConfiguration", Patch = "[]" })));
        });
        Assert.Equal(expected, KubeadmRenderer.ApiVersionFor(KubeadmOptions.From(spec, plan, Token)));
        Assert.Equal(expected, ((YamlScalarNode)At(Render(spec, plan).Init, "apiVersion")).Value);
    }

    [Theory]
    [InlineData("v1.33.0")]
    [InlineData("v1.30.2")]
    public void Feature_gates_and_runtime_config_go_where_kinds_template_puts_them(string version)
    {
        var (spec, plan) = Lab(version, configure: s =>
        {
            s.FeatureGates["SidecarContainers"] = true;
            s.FeatureGates["AllAlpha"] = false;
            s.RuntimeConfig["api/alpha"] = "false";
            s.RuntimeConfig["apps/v1beta2"] = "true";
        });
        var (_, cluster, kubelet, proxy, _) = Render(spec, plan);
        Dictionary<string, string> ArgsOf(params string[] path) =>
            At(cluster, path) is YamlSequenceNode ? Args(At(cluster, path))
                : ((YamlMappingNode)At(cluster, path)).Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value!);
        const string gates = "AllAlpha=false,SidecarContainers=true";
        Assert.Equal("api/alpha=false,apps/v1beta2=true", ArgsOf("apiServer", "extraArgs")["runtime-config"]);
        Assert.Equal(gates, ArgsOf("apiServer", "extraArgs")["feature-gates"]);
        Assert.Equal(gates, ArgsOf("controllerManager", "extraArgs")["feature-gates"]);
        Assert.Equal(gates, ArgsOf("scheduler", "extraArgs")["feature-gates"]);
        foreach (var component in new[] { kubelet, proxy })
        {
            var map = (YamlMappingNode)At(component, "featureGates");
            Assert.Equal(new[] { ("AllAlpha", "false"), ("SidecarContainers", "true") },
                map.Children.Select(e => (((YamlScalarNode)e.Key).Value!, ((YamlScalarNode)e.Value).Value!)));
        }
        Assert.False(((YamlMappingNode)cluster).Children.ContainsKey(new YamlScalarNode("featureGates"))); // that one is kubeadm's own gates
    }

    [Fact]
    public void Node_labels_become_the_kubelets_node_labels_on_their_node_only()
    {
        var (spec, plan) = Lab(nodes: 3, configure: s =>
        {
            s.NodeSettings.Add(Node(1, n => n.Labels["ingress-ready"] = "true"));
            s.NodeSettings.Add(Node(3, n => { n.Labels["tier"] = "backend"; n.Labels["disk"] = "ssd"; }));
        });
        var configs = KubernetesConfigs.ForCluster(spec, plan, Token, null).ToList();
        string? Labels(string content) => Args(At(Documents(content)[0], "nodeRegistration", "kubeletExtraArgs")).GetValueOrDefault("node-labels");
        Assert.Equal("ingress-ready=true", Labels(configs[0].Content));
        Assert.Null(Labels(configs[1].Content));
        Assert.Equal("disk=ssd,tier=backend", Labels(configs[2].Content));
    }

    [Fact]
    public void Cluster_patches_apply_before_the_nodes_own()
    {
        var (spec, plan) = Lab(configure: s =>
        {
            s.KubeadmConfigPatches.Add("kind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    v: \"2\"\n");
            s.NodeSettings.Add(Node(1, n => n.KubeadmConfigPatches.Add("kind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    v: \"5\"\n")));
        });
        Assert.Equal("5", Args(At(Render(spec, plan).Init, "nodeRegistration", "kubeletExtraArgs"))["v"]);
    }

    [Fact]
    public void A_patch_that_cannot_apply_is_InvalidKubeadmPatch_naming_the_field_and_entry()
    {
        var (spec, plan) = Lab(configure: s =>
            s.NodeSettings.Add(Node(2, n => n.KubeadmConfigPatchesJson6902.Add(new KubeadmJson6902Patch
            {
                Group = "kubeadm.k8s.io", Version = "v1beta4", Kind = "JoinConfiguration",
                Patch = "- op: replace\n  path: /discovery/file\n  value: {kubeConfigPath: /x}\n",
            }))));
        var e = Assert.Throws<DindException>(() => KubernetesConfigs.ForCluster(spec, plan, Token, null).ToList());
        Assert.Equal(ErrorIds.InvalidKubeadmPatch, e.ErrorId);
        Assert.Equal(DindErrorCategory.InvalidData, e.Category);
        Assert.Equal("NodeSettings (node 2) KubeadmConfigPatchesJson6902", e.ParameterName);
        const string expected = "NodeSettings (node 2) KubeadmConfigPatchesJson6902[0] (JoinConfiguration kubeadm.k8s.io/v1beta4), operation 1 (replace /discovery/file) on the JoinConfiguration: there is no 'file' to replace.";
        Assert.True(e.Message.StartsWith(expected, StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public void Without_settings_the_configuration_is_what_it_was()
    {
        var (spec, plan) = Lab();
        var before = KubernetesConfigs.ForCluster(spec, plan, Token, null).Select(c => c.Content).ToList();
        spec.NodeSettings.Add(new DindNodeSettings { Node = 2 });
        spec.KubeadmConfigPatches.Add("kind: Pod\n");
        Assert.Equal(before, KubernetesConfigs.ForCluster(spec, plan, Token, null).Select(c => c.Content));
    }

    // ---------------------------------------------------------------- validation of the spec fields

    [Theory]
    [InlineData("gate", ErrorIds.InvalidComponentSetting, "FeatureGates")]
    [InlineData("runtime", ErrorIds.InvalidComponentSetting, "RuntimeConfig")]
    [InlineData("merge", ErrorIds.InvalidKubeadmPatch, "KubeadmConfigPatches[0]")]
    [InlineData("json", ErrorIds.InvalidKubeadmPatch, "KubeadmConfigPatchesJson6902[0]")]
    [InlineData("node-merge", ErrorIds.InvalidKubeadmPatch, "NodeSettings (node 2).KubeadmConfigPatches[0]")]
    [InlineData("node-zero", ErrorIds.InvalidNodeSettings, "NodeSettings")]
    [InlineData("node-twice", ErrorIds.InvalidNodeSettings, "NodeSettings")]
    [InlineData("label", ErrorIds.InvalidNodeSettings, "NodeSettings (node 2).Labels")]
    [InlineData("mount", ErrorIds.InvalidNodeSettings, "NodeSettings (node 2).ExtraMounts")]
    [InlineData("propagation", ErrorIds.InvalidNodeSettings, "NodeSettings (node 2).ExtraMounts")]
    [InlineData("port", ErrorIds.InvalidNodeSettings, "NodeSettings (node 2).ExtraPortMappings")]
    [InlineData("protocol", ErrorIds.InvalidNodeSettings, "NodeSettings (node 2).ExtraPortMappings")]
    [InlineData("listen", ErrorIds.InvalidNodeSettings, "NodeSettings (node 2).ExtraPortMappings")]
    public void Settings_that_cannot_be_written_are_refused_by_validation(string what, string errorId, string parameter)
    {
        var (spec, _) = Lab();
        var node = new DindNodeSettings { Node = 2 };
        spec.NodeSettings.Add(node);
        switch (what)
        {
            case "gate": spec.FeatureGates["Sidecar,Containers"] = true; break;
            case "runtime": spec.RuntimeConfig["api/alpha"] = "false,true"; break;
            case "merge": spec.KubeadmConfigPatches.Add("- a"); break;
            case "json": spec.KubeadmConfigPatchesJson6902.Add(new KubeadmJson6902Patch { Kind = "InitConfiguration", Patch = "- op: nop" }); break;
            case "node-merge": node.KubeadmConfigPatches.Add("kind: {"); break;
            case "node-zero": node.Node = 0; break;
            case "node-twice": spec.NodeSettings.Add(new DindNodeSettings { Node = 2 }); break;
            case "label": node.Labels["tier"] = "a,b"; break;
            case "mount": node.ExtraMounts.Add(new DindNodeMount { HostPath = "/srv" }); break;
            case "propagation": node.ExtraMounts.Add(new DindNodeMount { HostPath = "/srv", ContainerPath = "/srv", Propagation = "rshared" }); break;
            case "port": node.ExtraPortMappings.Add(new DindPortMapping { ContainerPort = 70000 }); break;
            case "protocol": node.ExtraPortMappings.Add(new DindPortMapping { ContainerPort = 80, Protocol = "ICMP" }); break;
            case "listen": node.ExtraPortMappings.Add(new DindPortMapping { ContainerPort = 80, ListenAddress = "localhost" }); break;
        }
        var problem = Assert.Single(SpecValidator.Validate(SpecDefaults.Complete(spec)));
        Assert.Equal(errorId, problem.ErrorId);
        Assert.Equal(parameter, problem.ParameterName);
        Assert.StartsWith(parameter + ": ", problem.Message);
        Assert.EndsWith(problem.RecommendedAction!, problem.Message);
    }

    [Fact]
    public void Kinds_settings_of_the_right_shape_validate_and_clone_deeply()
    {
        var (spec, _) = Lab(configure: s =>
        {
            s.FeatureGates["SidecarContainers"] = true;
            s.RuntimeConfig["api/all"] = "true";
            s.KubeadmConfigPatches.Add("kind: ClusterConfiguration\n");
            s.KubeadmConfigPatchesJson6902.Add(new KubeadmJson6902Patch { Kind = "ClusterConfiguration", Patch = "[]" });
            s.NodeSettings.Add(Node(2, n =>
            {
                n.Labels["tier"] = "frontend";
                n.ExtraMounts.Add(new DindNodeMount { HostPath = "/srv", ContainerPath = "/srv", Propagation = "HostToContainer" });
                n.ExtraPortMappings.Add(new DindPortMapping { ContainerPort = 80, HostPort = -1, ListenAddress = "::1", Protocol = "udp" });
            }));
        });
        Assert.Empty(SpecValidator.Validate(SpecDefaults.Complete(spec)));

        var copy = spec.Clone();
        copy.FeatureGates["Other"] = true;
        copy.RuntimeConfig.Clear();
        copy.KubeadmConfigPatches.Clear();
        copy.KubeadmConfigPatchesJson6902[0].Patch = "changed";
        copy.NodeSettings[0].Labels.Clear();
        copy.NodeSettings[0].ExtraMounts[0].HostPath = "/changed";
        copy.NodeSettings[0].ExtraPortMappings.Clear();
        Assert.Single(spec.FeatureGates);
        Assert.Single(spec.RuntimeConfig);
        Assert.Single(spec.KubeadmConfigPatches);
        Assert.Equal("[]", spec.KubeadmConfigPatchesJson6902[0].Patch);
        Assert.Single(spec.NodeSettings[0].Labels);
        Assert.Equal("/srv", spec.NodeSettings[0].ExtraMounts[0].HostPath);
        Assert.Single(spec.NodeSettings[0].ExtraPortMappings);
    }
}
