using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Rendering;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Tests.Rendering;

public class KubernetesRendererTests
{
    private const string Token = "abcdef.0123456789abcdef";

    // SHA-256 of nothing: a recognisable fixed pin for the goldens.
    private const string CaHash = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private static DindClusterSpec Spec(string version = "v1.33.0", string cni = "bridge", int nodes = 3) => new()
    {
        ClusterName = "lab",
        Nodes = nodes,
        Subnet = "fd00:77::/48",
        Dns64Upstream = new[] { "198.51.100.53" },
        KubernetesVersion = version,
        Cni = cni,
    };

    private static (DindClusterSpec Spec, AddressPlan Plan, KubeadmOptions Options) Lab(string version = "v1.33.0", string cni = "bridge", int nodes = 3)
    {
        var spec = Spec(version, cni, nodes);
        var plan = AddressPlanner.Plan(spec);
        return (spec, plan, KubeadmOptions.From(spec, plan, Token));
    }

    // Goldens live in tests/Ipv6Dind.Core.Tests/Golden/ (Golden.Match anchors there itself).
    private static void MatchGolden(string name, string text) => Golden.Match(name, text);

    internal static IReadOnlyList<YamlMappingNode> Documents(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => Assert.IsType<YamlMappingNode>(d.RootNode)).ToList();
    }

    internal static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            var map = Assert.IsType<YamlMappingNode>(node);
            Assert.True(map.Children.ContainsKey(new YamlScalarNode(key)), $"missing key '{key}'");
            node = map[new YamlScalarNode(key)];
        }
        return node;
    }

    private static string Scalar(YamlNode node, params string[] path) => Assert.IsType<YamlScalarNode>(At(node, path)).Value!;

    // ---- goldens ----

    [Fact]
    public void Init_v1beta4_matches_golden()
    {
        var (_, plan, options) = Lab("v1.33.0");
        MatchGolden("kubeadm/init.v1beta4.yaml", KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content);
    }

    [Fact]
    public void Init_v1beta3_matches_golden()
    {
        var (_, plan, options) = Lab("v1.30.2");
        MatchGolden("kubeadm/init.v1beta3.yaml", KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content);
    }

    [Fact]
    public void Join_with_ca_hash_matches_golden()
    {
        var (_, plan, options) = Lab("v1.33.0");
        MatchGolden("kubeadm/join.v1beta4.yaml", KubeadmRenderer.RenderJoin(options, plan.NodeAddresses[1], CaHash).Content);
    }

    [Fact]
    public void Join_without_ca_hash_matches_golden()
    {
        var (_, plan, options) = Lab("v1.33.0");
        MatchGolden("kubeadm/join.v1beta4.unpinned.yaml", KubeadmRenderer.RenderJoin(options, plan.NodeAddresses[1], null).Content);
    }

    [Fact]
    public void Join_v1beta3_matches_golden()
    {
        var (_, plan, options) = Lab("v1.30.2");
        MatchGolden("kubeadm/join.v1beta3.yaml", KubeadmRenderer.RenderJoin(options, plan.NodeAddresses[2], CaHash).Content);
    }

    [Fact]
    public void Calico_files_match_goldens()
    {
        var (spec, plan, _) = Lab(cni: "calico");
        var files = CalicoRenderer.Render(CalicoOptions.From(spec, plan)).ToList();
        Assert.Equal(new[] { "calico-ippool.yaml", "calico-node-env.yaml", "calico-ipam.json" }, files.Select(f => f.FileName));
        foreach (var file in files)
            MatchGolden($"calico/{file.FileName}", file.Content);
    }

    // ---- documents and kinds ----

    [Theory]
    [InlineData("v1.30.2", "kubeadm.k8s.io/v1beta3")]
    [InlineData("v1.33.0", "kubeadm.k8s.io/v1beta4")]
    public void Init_parses_back_into_four_documents(string version, string kubeadmApi)
    {
        var (_, plan, options) = Lab(version);
        var docs = Documents(KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content);
        Assert.Equal(
            new[]
            {
                (kubeadmApi, "InitConfiguration"),
                (kubeadmApi, "ClusterConfiguration"),
                ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"),
                ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration"),
            },
            docs.Select(d => (Scalar(d, "apiVersion"), Scalar(d, "kind"))));
    }

    [Fact]
    public void Init_carries_the_plan()
    {
        var (_, plan, options) = Lab();
        var docs = Documents(KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content);
        var (init, cluster, kubelet, proxy) = (docs[0], docs[1], docs[2], docs[3]);

        Assert.Equal(Token, Scalar(Assert.IsType<YamlSequenceNode>(At(init, "bootstrapTokens"))[0], "token"));
        Assert.Equal(plan.ApiServerAddress, Scalar(init, "localAPIEndpoint", "advertiseAddress"));
        Assert.Equal("6443", Scalar(init, "localAPIEndpoint", "bindPort"));
        Assert.Equal("lab-node-1", Scalar(init, "nodeRegistration", "name"));
        Assert.Equal($"[{plan.ApiServerAddress}]:6443", Scalar(cluster, "controlPlaneEndpoint"));
        Assert.Equal(plan.PodPrefix, Scalar(cluster, "networking", "podSubnet"));
        Assert.Equal(plan.ServicePrefix, Scalar(cluster, "networking", "serviceSubnet"));
        Assert.Equal(new[] { plan.ApiServerAddress, "::1", "localhost" },
            Assert.IsType<YamlSequenceNode>(At(cluster, "apiServer", "certSANs")).Select(n => ((YamlScalarNode)n).Value));
        Assert.Equal(plan.KubeDnsAddress, ((YamlScalarNode)Assert.IsType<YamlSequenceNode>(At(kubelet, "clusterDNS"))[0]).Value);
        Assert.Equal("::1", Scalar(kubelet, "healthzBindAddress"));
        Assert.Equal("systemd", Scalar(kubelet, "cgroupDriver"));
        Assert.Equal(plan.PodPrefix, Scalar(proxy, "clusterCIDR"));
        Assert.Equal("iptables", Scalar(proxy, "mode"));
    }

    [Fact]
    public void KubeProxy_leaves_conntrack_alone_and_says_why()
    {
        var (_, plan, options) = Lab();
        var text = KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content;
        var proxy = Documents(text).Single(d => Scalar(d, "kind") == "KubeProxyConfiguration");
        Assert.Equal("0", Scalar(proxy, "conntrack", "maxPerCore"));
        Assert.Contains("# maxPerCore 0:", text);
        Assert.Contains("/sys/module/nf_conntrack/parameters/hashsize", text);

        var standalone = KubeProxyConfigRenderer.Render(KubeProxyOptions.From(Spec(), plan));
        Assert.Equal("0", Scalar(Documents(standalone.Content).Single(), "conntrack", "maxPerCore"));
    }

    [Fact]
    public void V1beta4_extra_args_are_name_value_lists()
    {
        var (_, plan, options) = Lab("v1.31.0");
        var docs = Documents(KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content);
        var args = new[]
        {
            At(docs[0], "nodeRegistration", "kubeletExtraArgs"),
            At(docs[1], "apiServer", "extraArgs"),
            At(docs[1], "controllerManager", "extraArgs"),
            At(docs[1], "scheduler", "extraArgs"),
        };
        foreach (var list in args)
        {
            var seq = Assert.IsType<YamlSequenceNode>(list);
            Assert.NotEmpty(seq);
            foreach (var item in seq)
                Assert.Equal(new[] { "name", "value" }, Assert.IsType<YamlMappingNode>(item).Children.Keys.Select(k => ((YamlScalarNode)k).Value));
        }
        var cm = Assert.IsType<YamlSequenceNode>(args[2]).Cast<YamlMappingNode>().ToDictionary(m => Scalar(m, "name"), m => m);
        Assert.Equal("80", Scalar(cm["node-cidr-mask-size-ipv6"], "value"));
        // A string to kubeadm, so it must stay quoted.
        Assert.Equal(ScalarStyle.DoubleQuoted, ((YamlScalarNode)At(cm["node-cidr-mask-size-ipv6"], "value")).Style);
        Assert.Equal(plan.ApiServerAddress, Scalar(Assert.IsType<YamlSequenceNode>(args[0])[0], "value"));
    }

    [Fact]
    public void V1beta3_extra_args_are_string_maps()
    {
        var (_, plan, options) = Lab("v1.30.2");
        var docs = Documents(KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content);
        Assert.Equal(plan.ApiServerAddress, Scalar(docs[0], "nodeRegistration", "kubeletExtraArgs", "node-ip"));
        Assert.Equal("::", Scalar(docs[1], "apiServer", "extraArgs", "bind-address"));
        Assert.Equal("80", Scalar(docs[1], "controllerManager", "extraArgs", "node-cidr-mask-size-ipv6"));
        Assert.Equal("::", Scalar(docs[1], "scheduler", "extraArgs", "bind-address"));
    }

    [Fact]
    public void Kubeadm_derived_arguments_are_not_repeated()
    {
        var (_, plan, options) = Lab();
        var text = KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content;
        foreach (var derived in new[] { "name: cluster-cidr", "name: allocate-node-cidrs", "name: advertise-address", "etcd:" })
            Assert.DoesNotContain(derived, text);
    }

    // ---- API version switch ----

    [Theory]
    [InlineData("v1.25.0", "kubeadm.k8s.io/v1beta3")]
    [InlineData("1.30", "kubeadm.k8s.io/v1beta3")]
    [InlineData("v1.30.14", "kubeadm.k8s.io/v1beta3")]
    [InlineData("v1.31.0", "kubeadm.k8s.io/v1beta4")]
    [InlineData("1.31", "kubeadm.k8s.io/v1beta4")]
    [InlineData("v1.35.2", "kubeadm.k8s.io/v1beta4")]
    public void Api_version_switches_at_1_31(string version, string expected) =>
        Assert.Equal(expected, KubeadmRenderer.ApiVersionFor(version));

    [Theory]
    [InlineData("v1.24.17")]
    [InlineData("v1.36.0")]
    [InlineData("v2.0.0")]
    [InlineData("latest")]
    [InlineData("")]
    public void Out_of_range_versions_throw(string version)
    {
        Assert.Throws<ArgumentException>(() => KubeadmRenderer.ApiVersionFor(version));
        var (_, plan, options) = Lab();
        Assert.Throws<ArgumentException>(() => KubeadmRenderer.RenderInit(options with { KubernetesVersion = version }, plan.NodeAddresses[0]));
    }

    [Fact]
    public void Short_versions_become_full_versions_for_kubeadm()
    {
        var (_, plan, options) = Lab();
        var docs = Documents(KubeadmRenderer.RenderInit(options with { KubernetesVersion = "1.32" }, plan.NodeAddresses[0]).Content);
        Assert.Equal("v1.32.0", Scalar(docs[1], "kubernetesVersion"));
    }

    // ---- IPv6 only ----

    private static readonly Regex Ipv4Literal = new(@"(?<![\d.])\d{1,3}(\.\d{1,3}){3}(?![\d.])");

    [Theory]
    [InlineData("v1.30.2")]
    [InlineData("v1.33.0")]
    public void No_ipv4_literal_anywhere(string version)
    {
        var spec = Spec(version, "calico");
        var plan = AddressPlanner.Plan(spec);
        var files = KubernetesConfigs.ForCluster(spec, plan, Token, CaHash).Concat(KubernetesConfigs.ForCluster(spec, plan, Token, null)).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
            Assert.False(Ipv4Literal.IsMatch(file.Content), $"{file.FileName} ({file.NodeName}) contains an IPv4 literal: {Ipv4Literal.Match(file.Content).Value}");
    }

    [Fact]
    public void Every_address_in_kubeadm_files_is_ipv6()
    {
        var spec = Spec();
        var plan = AddressPlanner.Plan(spec);
        var addresses = 0;
        foreach (var file in KubernetesConfigs.ForCluster(spec, plan, Token, CaHash).Where(f => f.Kind == "Kubeadm"))
        foreach (var doc in Documents(file.Content))
        foreach (var scalar in Scalars(doc))
        {
            var text = scalar.Trim('[').Split("]:")[0].Split('/')[0];
            if (System.Net.IPAddress.TryParse(text, out var ip) && text.Contains(':'))
            {
                Assert.Equal(System.Net.Sockets.AddressFamily.InterNetworkV6, ip.AddressFamily);
                addresses++;
            }
        }
        Assert.True(addresses > 10, $"only {addresses} addresses found");
    }

    private static IEnumerable<string> Scalars(YamlNode node) => node switch
    {
        YamlScalarNode s => new[] { s.Value ?? "" },
        YamlSequenceNode q => q.SelectMany(Scalars),
        YamlMappingNode m => m.Children.Values.SelectMany(Scalars),
        _ => Array.Empty<string>(),
    };

    [Fact]
    public void Ipv4_inputs_are_refused()
    {
        var (_, plan, options) = Lab();
        var cp = plan.NodeAddresses[0];
        Assert.Throws<ArgumentException>(() => KubeadmRenderer.RenderInit(options with { ApiServerAddress = "198.51.100.10" }, cp));
        Assert.Throws<ArgumentException>(() => KubeadmRenderer.RenderInit(options with { PodPrefix = "198.18.0.0/16" }, cp));
        Assert.Throws<ArgumentException>(() => KubeadmRenderer.RenderInit(options with { KubeDnsAddress = "198.51.100.10" }, cp));
        Assert.Throws<ArgumentException>(() => KubeadmRenderer.RenderInit(options with { CertSans = new[] { "198.51.100.10" } }, cp));
        Assert.Throws<ArgumentException>(() => KubeletConfigRenderer.Render(new KubeletOptions { ClusterName = "lab", KubeDnsAddress = "198.51.100.10" }));
    }

    // ---- join ----

    [Fact]
    public void Join_pins_the_ca_when_given_and_skips_only_when_not()
    {
        var (_, plan, options) = Lab();
        var pinned = Documents(KubeadmRenderer.RenderJoin(options, plan.NodeAddresses[1], CaHash).Content).Single();
        Assert.Equal("JoinConfiguration", Scalar(pinned, "kind"));
        Assert.Equal($"[{plan.ApiServerAddress}]:6443", Scalar(pinned, "discovery", "bootstrapToken", "apiServerEndpoint"));
        Assert.Equal(Token, Scalar(pinned, "discovery", "bootstrapToken", "token"));
        Assert.Equal(CaHash, ((YamlScalarNode)Assert.IsType<YamlSequenceNode>(At(pinned, "discovery", "bootstrapToken", "caCertHashes"))[0]).Value);
        Assert.False(((YamlMappingNode)At(pinned, "discovery", "bootstrapToken")).Children.ContainsKey(new YamlScalarNode("unsafeSkipCAVerification")));
        Assert.Equal(plan.NodeAddresses[1].IPv6Address, Scalar(Assert.IsType<YamlSequenceNode>(At(pinned, "nodeRegistration", "kubeletExtraArgs"))[0], "value"));

        var unpinned = Documents(KubeadmRenderer.RenderJoin(options, plan.NodeAddresses[1], null).Content).Single();
        Assert.Equal("true", Scalar(unpinned, "discovery", "bootstrapToken", "unsafeSkipCAVerification"));
        Assert.False(((YamlMappingNode)At(unpinned, "discovery", "bootstrapToken")).Children.ContainsKey(new YamlScalarNode("caCertHashes")));
    }

    [Fact]
    public void Ca_hash_is_normalised_or_refused()
    {
        Assert.Equal(CaHash, KubeadmRenderer.NormalizeCaCertHash(CaHash["sha256:".Length..].ToUpperInvariant()));
        Assert.Throws<ArgumentException>(() => KubeadmRenderer.NormalizeCaCertHash("sha256:1234"));
        Assert.Throws<ArgumentException>(() => KubeadmRenderer.NormalizeCaCertHash("md5:" + new string('a', 64)));
    }

    // ---- options and facade ----

    [Theory]
    [InlineData("abcdef.0123456789abcde")]
    [InlineData("ABCDEF.0123456789abcdef")]
    [InlineData("abcdef0123456789abcdef")]
    [InlineData("abcdef.0123456789abcdef\n")]
    public void Malformed_tokens_are_refused(string token)
    {
        var (_, plan, options) = Lab();
        Assert.Throws<ArgumentException>(() => KubeadmRenderer.RenderInit(options with { BootstrapToken = token }, plan.NodeAddresses[0]));
    }

    [Fact]
    public void New_bootstrap_tokens_have_kubeadms_shape()
    {
        for (var i = 0; i < 20; i++)
            Assert.Matches("^[a-z0-9]{6}\\.[a-z0-9]{16}$", KubernetesConfigs.NewBootstrapToken());
        var counter = 0;
        Assert.Equal("abcdef.ghijklmnopqrstuv", KubernetesConfigs.NewBootstrapToken(n => counter++ % n));
        Assert.Throws<ArgumentOutOfRangeException>(() => KubernetesConfigs.NewBootstrapToken(n => n));
    }

    [Fact]
    public void ForCluster_renders_init_joins_and_calico_when_chosen()
    {
        var (spec, plan, _) = Lab();
        var bridge = KubernetesConfigs.ForCluster(spec, plan, Token, CaHash).ToList();
        Assert.Equal(new[] { "lab-node-1", "lab-node-2", "lab-node-3" }, bridge.Select(f => f.NodeName));
        Assert.All(bridge, f => Assert.Equal(("Kubeadm", "kubeadm.yaml", "/kind/kubeadm.conf"), (f.Kind, f.FileName, f.ContainerPath)));
        Assert.Equal("InitConfiguration", Scalar(Documents(bridge[0].Content)[0], "kind"));
        Assert.All(bridge.Skip(1), f => Assert.Equal("JoinConfiguration", Scalar(Documents(f.Content).Single(), "kind")));

        var calicoSpec = Spec(cni: "calico");
        var calico = KubernetesConfigs.ForCluster(calicoSpec, AddressPlanner.Plan(calicoSpec), Token, CaHash).ToList();
        Assert.Equal(new[] { "kubeadm.yaml", "kubeadm.yaml", "kubeadm.yaml", "calico-ippool.yaml", "calico-node-env.yaml", "calico-ipam.json" },
            calico.Select(f => f.FileName));
        Assert.All(calico, f => Assert.Equal("lab", f.ClusterName));
    }

    [Fact]
    public void Unset_spec_fields_take_the_planners_defaults()
    {
        var spec = new DindClusterSpec { ClusterName = "lab", Nodes = 2, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" }, Cni = "" };
        var files = KubernetesConfigs.ForCluster(spec, AddressPlanner.Plan(spec), Token, CaHash).ToList();
        Assert.Equal(new[] { "lab-node-1", "lab-node-2" }, files.Select(f => f.NodeName));
        var cluster = Documents(files[0].Content)[1];
        Assert.Equal((KubeadmRenderer.V1Beta4, SpecDefaults.DefaultKubernetesVersion), (Scalar(cluster, "apiVersion"), Scalar(cluster, "kubernetesVersion")));
    }

    [Fact]
    public void Single_node_clusters_untaint_the_control_plane()
    {
        var (_, plan, options) = Lab(nodes: 1);
        Assert.True(options.ScheduleOnControlPlane);
        var init = Documents(KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content)[0];
        Assert.Empty(Assert.IsType<YamlSequenceNode>(At(init, "nodeRegistration", "taints")));

        var (_, plan3, options3) = Lab(nodes: 3);
        var init3 = Documents(KubeadmRenderer.RenderInit(options3, plan3.NodeAddresses[0]).Content)[0];
        Assert.False(((YamlMappingNode)At(init3, "nodeRegistration")).Children.ContainsKey(new YamlScalarNode("taints")));
    }

    [Fact]
    public void Output_is_deterministic_with_lf_and_a_final_newline()
    {
        var (spec, plan, _) = Lab(cni: "calico");
        var first = KubernetesConfigs.ForCluster(spec, plan, Token, CaHash).Select(f => f.Content).ToList();
        var second = KubernetesConfigs.ForCluster(spec, plan, Token, CaHash).Select(f => f.Content).ToList();
        Assert.Equal(first, second);
        Assert.All(first, text =>
        {
            Assert.DoesNotContain("\r", text);
            Assert.EndsWith("\n", text);
            Assert.False(text.EndsWith("\n\n", StringComparison.Ordinal));
        });
    }

    // ---- Calico ----

    [Fact]
    public void Calico_pool_environment_and_ipam_agree()
    {
        var (spec, plan, _) = Lab(cni: "calico");
        var files = CalicoRenderer.Render(CalicoOptions.From(spec, plan)).ToDictionary(f => f.FileName);

        var pool = Documents(files["calico-ippool.yaml"].Content).Single();
        Assert.Equal(("projectcalico.org/v3", "IPPool"), (Scalar(pool, "apiVersion"), Scalar(pool, "kind")));
        Assert.Equal(plan.PodPrefix, Scalar(pool, "spec", "cidr"));
        Assert.Equal("122", Scalar(pool, "spec", "blockSize"));
        Assert.Equal(("Never", "Never", "all()"), (Scalar(pool, "spec", "ipipMode"), Scalar(pool, "spec", "vxlanMode"), Scalar(pool, "spec", "nodeSelector")));

        var stream = new YamlStream();
        stream.Load(new StringReader(files["calico-node-env.yaml"].Content));
        var env = Assert.IsType<YamlSequenceNode>(stream.Documents.Single().RootNode).Cast<YamlMappingNode>()
            .ToDictionary(m => Scalar(m, "name"), m => Scalar(m, "value"));
        Assert.Equal("true", env["FELIX_IPV6SUPPORT"]);
        Assert.Equal("none", env["IP"]);
        Assert.Equal("autodetect", env["IP6"]);
        Assert.Equal("first-found", env["IP6_AUTODETECTION_METHOD"]);
        Assert.Equal(plan.PodPrefix, env["CALICO_IPV6POOL_CIDR"]);
        Assert.Equal("122", env["CALICO_IPV6POOL_BLOCK_SIZE"]);
        Assert.Equal("false", env["CALICO_IPV6POOL_NAT_OUTGOING"]);
        Assert.Equal("hash", env["CALICO_ROUTER_ID"]);

        using var ipam = JsonDocument.Parse(files["calico-ipam.json"].Content);
        Assert.Equal("calico-ipam", ipam.RootElement.GetProperty("type").GetString());
        Assert.Equal("false", ipam.RootElement.GetProperty("assign_ipv4").GetString());
        Assert.Equal("true", ipam.RootElement.GetProperty("assign_ipv6").GetString());
    }

    [Theory]
    [InlineData(115)]
    [InlineData(129)]
    public void Calico_block_size_outside_116_to_128_is_refused(int blockSize)
    {
        var options = new CalicoOptions { ClusterName = "lab", PoolCidr = "fd00:77:40::/64", BlockSize = blockSize };
        Assert.Throws<ArgumentException>(() => CalicoRenderer.Render(options));
    }

    [Fact]
    public void Calico_block_larger_than_the_pool_is_refused()
    {
        var options = new CalicoOptions { ClusterName = "lab", PoolCidr = "fd00:77:40::/120", BlockSize = 116 };
        Assert.Throws<ArgumentException>(() => CalicoRenderer.Render(options));
    }
}
