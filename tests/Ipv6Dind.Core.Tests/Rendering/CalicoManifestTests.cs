using System.Runtime.CompilerServices;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Rendering;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Tests.Rendering;

/// <summary>New-DindCluster -Cni calico: the user's calico.yaml made IPv6-only (what the public "Kubernetes on IPv6 only" guide does by hand).</summary>
public class CalicoManifestTests
{
    private static string Fixture([CallerFilePath] string self = "") =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(self)!, "..", "..", "doubles", "calico", "calico.yaml"));

    private static CalicoOptions Options()
    {
        var spec = new DindClusterSpec { ClusterName = "lab", Nodes = 3, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" }, Cni = "calico" };
        return CalicoOptions.From(spec, AddressPlanner.Plan(spec));
    }

    private static PreparedCalicoManifest Prepare(string yaml) => CalicoManifest.Prepare(yaml, Options(), "calico.yaml");

    private static List<YamlMappingNode> Documents(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    private static YamlMappingNode Doc(string yaml, string kind, string name) =>
        Documents(yaml).Single(d => ((YamlScalarNode)d["kind"]).Value == kind && ((YamlScalarNode)((YamlMappingNode)d["metadata"])["name"]).Value == name);

    private static Dictionary<string, YamlNode> CalicoNodeEnv(string yaml)
    {
        var ds = Doc(yaml, "DaemonSet", "calico-node");
        var container = ((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)ds["spec"])["template"])["spec"])["containers"])
            .Children.Cast<YamlMappingNode>().Single(c => ((YamlScalarNode)c["name"]).Value == "calico-node");
        return ((YamlSequenceNode)container["env"]).Children.Cast<YamlMappingNode>()
            .ToDictionary(v => ((YamlScalarNode)v["name"]).Value!, v => v.Children.TryGetValue(new YamlScalarNode("value"), out var value) ? value : v["valueFrom"]);
    }

    [Fact]
    public void The_prepared_manifest_matches_its_golden_file()
    {
        Golden.Match("calico/calico-ipv6.yaml", Prepare(Fixture()).Content);
    }

    [Fact]
    public void Calico_node_gets_the_ipv6_only_environment_and_keeps_the_rest()
    {
        var env = CalicoNodeEnv(Prepare(Fixture()).Content);
        string Value(string name) => ((YamlScalarNode)env[name]).Value!;
        Assert.Equal("true", Value("FELIX_IPV6SUPPORT"));           // was "false" in the manifest
        Assert.Equal("none", Value("IP"));                           // was "autodetect"
        Assert.Equal("autodetect", Value("IP6"));
        Assert.Equal("first-found", Value("IP6_AUTODETECTION_METHOD"));
        Assert.Equal(Options().PoolCidr, Value("CALICO_IPV6POOL_CIDR"));
        Assert.Equal("122", Value("CALICO_IPV6POOL_BLOCK_SIZE"));
        Assert.Equal("false", Value("CALICO_IPV6POOL_NAT_OUTGOING"));
        Assert.Equal("hash", Value("CALICO_ROUTER_ID"));
        Assert.Equal("Never", Value("CALICO_IPV4POOL_IPIP"));        // was "Always"
        Assert.Equal("Never", Value("CALICO_IPV4POOL_VXLAN"));
        Assert.False(env.ContainsKey("CALICO_IPV4POOL_CIDR"));       // no IPv4 pool
        // What the lab does not own stays as the manifest had it.
        Assert.Equal("k8s,bgp", Value("CLUSTER_TYPE"));
        Assert.Equal("ACCEPT", Value("FELIX_DEFAULTENDPOINTTOHOSTACTION"));
        Assert.IsType<YamlMappingNode>(env["NODENAME"]);               // valueFrom kept
        Assert.Equal(1, env.Keys.Count(k => k == "IP"));
    }

    [Fact]
    public void The_cni_config_assigns_ipv6_only_and_keeps_its_placeholders()
    {
        var prepared = Prepare(Fixture());
        var cni = ((YamlScalarNode)((YamlMappingNode)Doc(prepared.Content, "ConfigMap", "calico-config")["data"])["cni_network_config"]).Value!;
        Assert.Contains("\"ipam\": {\"type\":\"calico-ipam\",\"assign_ipv4\":\"false\",\"assign_ipv6\":\"true\"}", cni);
        Assert.Contains("\"mtu\": __CNI_MTU__,", cni);                 // the install-cni container fills these in
        Assert.Contains("__KUBERNETES_NODE_NAME__", cni);
        Assert.Contains("\"type\": \"portmap\"", cni);
        Assert.Contains(prepared.Changes, c => c.StartsWith("calico-config cni_network_config:"));
    }

    [Fact]
    public void Every_image_of_every_pod_template_is_listed_once()
    {
        Assert.Equal(new[] { "ipv6dind-test/calico-cni:v3.28.0", "ipv6dind-test/calico-node:v3.28.0", "ipv6dind-test/calico-kube-controllers:v3.28.0" },
            Prepare(Fixture()).Images);
    }

    [Fact]
    public void Every_document_is_kept_in_order()
    {
        var kinds = Documents(Prepare(Fixture()).Content).Select(d => ((YamlScalarNode)d["kind"]).Value).ToList();
        Assert.Equal(new[] { "ConfigMap", "CustomResourceDefinition", "ServiceAccount", "DaemonSet", "Deployment" }, kinds);
    }

    [Fact]
    public void Preparing_twice_changes_nothing_more()
    {
        var once = Prepare(Fixture()).Content;
        Assert.Equal(once, Prepare(once).Content);
    }

    [Theory]
    [InlineData("kind: [", "is not valid YAML")]
    [InlineData("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n", "has no DaemonSet calico-node")]
    [InlineData("apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata:\n  name: default\n", "operator install")]
    public void What_is_not_a_calico_manifest_install_is_refused_by_name(string yaml, string problem)
    {
        var ex = Assert.Throws<DindException>(() => Prepare(yaml));
        Assert.Equal(ErrorIds.InvalidCalicoManifest, ex.ErrorId);
        Assert.Equal("CalicoManifest", ex.ParameterName);
        Assert.Contains(problem, ex.Message);
        Assert.StartsWith("CalicoManifest: calico.yaml ", ex.Message);
    }

    [Fact]
    public void Host_local_ipam_is_refused()
    {
        var yaml = Fixture().Replace("\"type\": \"calico-ipam\"", "\"type\": \"host-local\"");
        var ex = Assert.Throws<DindException>(() => Prepare(yaml));
        Assert.Contains("does not use calico-ipam", ex.Message);
    }

    [Fact]
    public void A_manifest_without_calico_config_is_refused()
    {
        var yaml = Fixture().Replace("name: calico-config\n  namespace", "name: something-else\n  namespace");
        var ex = Assert.Throws<DindException>(() => Prepare(yaml));
        Assert.Contains("has no ConfigMap calico-config", ex.Message);
    }
}
