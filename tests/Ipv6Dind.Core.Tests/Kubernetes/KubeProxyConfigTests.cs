using Ipv6Dind.Core.Kubernetes;

namespace Ipv6Dind.Core.Tests.Kubernetes;

/// <summary>
/// Reading and setting conntrack.maxPerCore in kube-proxy's config.conf, against what kubeadm 1.31 stores in ConfigMap
/// kube-system/kube-proxy (reconstructed from the v1alpha1 type: every field, most null or zero; see the fake API
/// server's FakeKubeProxy, which serves the same file).
/// </summary>
public sealed class KubeProxyConfigTests
{
    private static readonly string Kubeadm = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "kube-proxy", "kubeadm-1.31-config.conf"));

    private const string Header = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n";

    [Fact]
    public void Kubeadms_default_leaves_maxPerCore_null_which_is_kube_proxys_32768()
    {
        Assert.Contains("  maxPerCore: null\n", Kubeadm);
        Assert.Equal(32768, KubeProxyConfig.MaxPerCore(Kubeadm));
    }

    [Theory]
    [InlineData("conntrack:\n  maxPerCore: 0\n  min: null\n", 0)]
    [InlineData("conntrack:\n  maxPerCore: 8192\n", 8192)]
    [InlineData("conntrack:\n  min: 131072\n", 32768)]          // key absent
    [InlineData("conntrack:\n  maxPerCore:\n", 32768)]          // empty value
    [InlineData("conntrack:\n  maxPerCore: ~\n", 32768)]
    [InlineData("conntrack: null\n", 32768)]                     // section null
    [InlineData("conntrack: {}\n", 32768)]
    [InlineData("mode: iptables\n", 32768)]                      // no section
    public void MaxPerCore_reads_the_value_or_kube_proxys_default(string body, int expected) =>
        Assert.Equal(expected, KubeProxyConfig.MaxPerCore(Header + body));

    [Fact]
    public void Setting_zero_in_kubeadms_default_changes_that_one_value_and_nothing_else()
    {
        var fixedConfig = KubeProxyConfig.WithZeroMaxPerCore(Kubeadm);

        // The same text, key for key and quote for quote, but for the one value.
        Assert.Equal(Kubeadm.Replace("  maxPerCore: null\n", "  maxPerCore: 0\n"), fixedConfig);
        Assert.Equal(0, KubeProxyConfig.MaxPerCore(fixedConfig));
        // Twice is once.
        Assert.Equal(fixedConfig, KubeProxyConfig.WithZeroMaxPerCore(fixedConfig));
    }

    [Fact]
    public void An_explicit_value_is_replaced_in_place()
    {
        var config = Header + "conntrack:\n  maxPerCore: 32768\n  min: 131072\n  tcpEstablishedTimeout: 24h0m0s\nmode: iptables\n";
        Assert.Equal(config.Replace("maxPerCore: 32768", "maxPerCore: 0"), KubeProxyConfig.WithZeroMaxPerCore(config));
    }

    [Fact]
    public void A_config_without_a_conntrack_section_gets_one_where_kubeadm_would_have_written_it()
    {
        const string config = """
            apiVersion: kubeproxy.config.k8s.io/v1alpha1
            bindAddress: '::'
            clusterCIDR: fd00:77:2::/64
            detectLocalMode: ClusterCIDR
            kind: KubeProxyConfiguration
            mode: iptables

            """;
        const string expected = """
            apiVersion: kubeproxy.config.k8s.io/v1alpha1
            bindAddress: '::'
            clusterCIDR: fd00:77:2::/64
            conntrack:
              maxPerCore: 0
            detectLocalMode: ClusterCIDR
            kind: KubeProxyConfiguration
            mode: iptables

            """;
        Assert.Equal(expected, KubeProxyConfig.WithZeroMaxPerCore(config));
        Assert.Equal(0, KubeProxyConfig.MaxPerCore(expected));
    }

    [Fact]
    public void A_null_section_becomes_a_mapping_in_place_and_unsorted_or_unknown_fields_survive()
    {
        var config = "kind: KubeProxyConfiguration\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nconntrack: null\n"
            + "featureGates:\n  SomeFutureGate: true\nfutureSection:\n  nested:\n  - 1\n  - two\n  text: \"quoted\"\nzz: last\n";
        var expected = config.Replace("conntrack: null\n", "conntrack:\n  maxPerCore: 0\n");
        Assert.Equal(expected, KubeProxyConfig.WithZeroMaxPerCore(config));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("   \n", "is empty")]
    [InlineData("apiVersion: [kubeproxy\n", "not valid YAML")]
    [InlineData("kind: KubeProxyConfiguration\nkind: KubeProxyConfiguration\n", "not valid YAML")]
    [InlineData("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n---\nkind: Other\n", "second YAML document")]
    [InlineData("- apiVersion\n- kind\n", "top level is a list")]
    [InlineData("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n", "kind 'KubeletConfiguration'")]
    [InlineData("apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\n", "apiVersion 'kubeproxy.config.k8s.io/v1alpha2'")]
    [InlineData("kind: KubeProxyConfiguration\n", "apiVersion ''")]
    [InlineData(Header + "conntrack:\n- maxPerCore\n", "conntrack is a list")]
    public void A_config_that_is_not_kube_proxys_fails_with_KubeProxyConfigInvalid(string config, string problem)
    {
        AssertInvalid(() => KubeProxyConfig.MaxPerCore(config, "lab's config.conf"), problem);
        AssertInvalid(() => KubeProxyConfig.WithZeroMaxPerCore(config, "lab's config.conf"), problem);
    }

    [Theory]
    [InlineData("lots", "conntrack.maxPerCore is 'lots', not a whole number")]
    [InlineData("'0'", "quoted text")]
    [InlineData("99999999999", "not a whole number")]
    [InlineData("[1, 2]", "conntrack.maxPerCore is a list")]
    public void A_value_that_is_not_a_whole_number_cannot_be_read_but_is_replaced_by_zero(string value, string problem)
    {
        var config = Header + $"conntrack:\n  maxPerCore: {value}\n  min: 131072\n";
        AssertInvalid(() => KubeProxyConfig.MaxPerCore(config, "lab's config.conf"), problem);
        Assert.Equal(Header + "conntrack:\n  maxPerCore: 0\n  min: 131072\n", KubeProxyConfig.WithZeroMaxPerCore(config));
    }

    private static void AssertInvalid(Action call, string problem)
    {
        var e = Assert.Throws<DindException>(call);
        Assert.Equal(ErrorIds.KubeProxyConfigInvalid, e.ErrorId);
        Assert.Contains(e.Category, new[] { DindErrorCategory.InvalidData, DindErrorCategory.ParserError });
        Assert.StartsWith("lab's config.conf", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.Contains("kubectl -n kube-system edit configmap kube-proxy", e.RecommendedAction);
        Assert.NotNull(e.Target);
    }
}
