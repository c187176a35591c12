using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Core.Tests.Lab;

/// <summary>The pure parts of the lab: route batches, stale-route detection, probe configs, host rule parsing.</summary>
public class LabPlanningTests
{
    private static AddressPlan Plan(int nodes = 3) => AddressPlanner.Plan(new DindClusterSpec
    {
        ClusterName = "lab", Nodes = nodes, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" },
    });

    [Fact]
    public void OneBatchPerNodeDropsIpv4AndRoutesEveryOtherPodPrefixAndNat64()
    {
        var plan = Plan();
        var batch = LabContainers.RouteBatch(plan, plan.NodeAddresses[1]);
        Assert.Equal(
            "address flush dev eth0 to 0.0.0.0/0\n" +
            "route replace fd00:77:0:40:1::/80 via fd00:77:0:10::1001 dev eth0\n" +
            "route replace fd00:77:0:40:3::/80 via fd00:77:0:10::1003 dev eth0\n" +
            "route replace fd00:77:0:64::/96 via fd00:77:0:10::200 dev eth0\n", batch);
    }

    [Theory]
    [InlineData(0, 1500)]
    [InlineData(1500, 1500)]
    [InlineData(9000, 9000)]
    public void OneMtuReachesTheNetworkTaygasDeviceAndThePodInterfaces(int specMtu, int expected)
    {
        var spec = SpecDefaults.Complete(new DindClusterSpec
        {
            ClusterName = "lab", Nodes = 2, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" }, Mtu = specMtu,
        });
        Assert.Equal(expected, spec.Mtu);
        var plan = AddressPlanner.Plan(spec);
        Assert.Equal(expected, plan.Mtu);

        // tayga sizes its packets by its device's MTU when it starts: the image's start script makes the device with
        // the plan's MTU first (src/Ipv6Dind.Core/Images/ImageRecipes.cs).
        var nat64 = LabContainers.Nat64(spec, plan, "ipv6dind/nat64");
        Assert.Equal(new[] { Core.Images.ImageRecipes.Nat64Start, LabContainers.Nat64Config, LabContainers.Nat64Device, expected.ToString() }, nat64.Command);
        foreach (var node in plan.NodeAddresses)
            foreach (var cni in new[] { "bridge", "ptp" })
                Assert.Contains($"\"mtu\": {expected}", Core.Rendering.CniRenderer.Render(Core.Rendering.CniOptions.From(plan, node, cni)).Content);
    }

    [Fact]
    public void TheNat64StartScriptMakesTheDeviceWithTheMtuBeforeTaygaRuns()
    {
        var recipe = Core.Images.ImageRecipes.Nat64;
        var file = Assert.Single(recipe.CopiedFiles);
        Assert.Equal(Core.Images.ImageRecipes.Nat64Start, file.Path);
        Assert.True(file.Executable);
        var lines = file.Content.Split('\n');
        int At(string start) => Array.FindIndex(lines, l => l.Contains(start, StringComparison.Ordinal));
        Assert.True(At("--mktun") < At("mtu \"$mtu\"") && At("mtu \"$mtu\"") < At("exec tayga -n"), file.Content);
        // The Dockerfile copies it in and carries its hash: a changed script changes the recipe and rebuilds the image.
        var dockerfile = recipe.Dockerfile("ipv6dind/base:abc");
        Assert.Contains($"COPY ipv6dind-nat64 {Core.Images.ImageRecipes.Nat64Start}\n", dockerfile);
        Assert.Contains(Core.Images.ImageRecipes.Hash(file.Content), dockerfile);
        Assert.DoesNotContain("COPY", Core.Images.ImageRecipes.Dns64.Dockerfile("ipv6dind/base:abc"));
    }

    [Fact]
    public void RoutePlanningIsLinearPerNode()
    {
        var plan = Plan(500);
        Assert.Equal(500, LabContainers.PlannedRoutes(plan, plan.NodeAddresses[0]).Count()); // 499 pods + NAT64
    }

    [Fact]
    public void StaleRoutesAreOursOnlyAndNeverTheDefault()
    {
        var plan = Plan(2);
        var table = string.Join('\n',
            "fd00:77:0:10::/64 dev eth0 proto kernel metric 256 pref medium",
            "fd00:77:0:40:2::/80 via fd00:77:0:10::1002 dev eth0 metric 1024 pref medium",
            "fd00:77:0:40:3::/80 via fd00:77:0:10::1003 dev eth0 metric 1024 pref medium",   // a removed node
            "fd00:77:0:65::/96 via fd00:77:0:10::200 dev eth0 metric 1024 pref medium",      // an old NAT64 prefix
            "fd00:77:0:64::/96 via fd00:77:0:10::200 dev eth0 metric 1024 pref medium",
            "2001:db8:99::/48 via fe80::1 dev eth0 metric 1024 pref medium",                  // not ours
            "default via fd00:77:0:10::1 dev eth0 metric 1024 pref medium");
        Assert.Equal(new[] { "fd00:77:0:40:3::/80", "fd00:77:0:65::/96" }, LabContainers.StaleRoutes(plan, plan.NodeAddresses[0], table).OrderBy(x => x));
        var batch = LabContainers.RouteBatch(plan, plan.NodeAddresses[0], new[] { "fd00:77:0:65::/96" });
        Assert.Contains("route del fd00:77:0:65::/96\n", batch);
    }

    [Fact]
    public void ANodeGoneWithoutRemoveDindNodeIsNamedFromTheOthersStaleRoutes()
    {
        var spec = SpecDefaults.Complete(new DindClusterSpec { ClusterName = "lab", Nodes = 3, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" } }, PlanEnvironment.Empty);
        var plan = DindLab.EffectivePlan(spec, new HashSet<int> { 1, 2 });     // node 3's container is gone
        DindRoute Stale(string node, string destination, string gateway) =>
            new() { ClusterName = "lab", NodeName = node, Destination = destination, Gateway = gateway, Kind = DindRoute.StaleKind, Present = true };
        var routes = new[]
        {
            new DindRoute { ClusterName = "lab", NodeName = "lab-node-1", Destination = "fd00:77:0:40:2::/80", Gateway = "fd00:77:0:10::1002", Kind = "Pod", Present = true },
            Stale("lab-node-1", "fd00:77:0:40:3::/80", "fd00:77:0:10::1003"),
            Stale("lab-node-2", "fd00:77:0:40:3::/80", "fd00:77:0:10::1003"),
            Stale("lab-node-2", "fd00:77:0:65::/96", "fd00:77:0:10::200"),       // an old NAT64 prefix: not a node
        };
        var check = Assert.Single(LabTester.VanishedNodes("lab", spec, plan, routes));
        Assert.Equal(("lab-node-3", "ContainerRunning", CheckStatus.Fail), (check.Target, check.Check, check.Status));
        Assert.Contains("lab-node-1, lab-node-2 still route its pods (fd00:77:0:40:3::/80) via fd00:77:0:10::1003", check.Detail);
        Assert.Contains("Sync-DindRoute -ClusterName lab", check.Remedy);

        // A node beyond the spec's count (added by Add-DindNode, then docker rm'd) is named too.
        var grown = new[] { Stale("lab-node-1", "fd00:77:0:40:7::/80", "fd00:77:0:10::1007") };
        Assert.Equal("lab-node-7", Assert.Single(LabTester.VanishedNodes("lab", spec, plan, grown)).Target);
        Assert.Empty(LabTester.VanishedNodes("lab", spec, plan, routes.Take(1).ToList()));
    }

    [Fact]
    public void ProbePluginConfigIsTheListsFirstPluginWithNameAndVersion()
    {
        var plan = Plan(2);
        var conflist = Ipv6Dind.Core.Rendering.CniRenderer.Render(Ipv6Dind.Core.Rendering.CniOptions.From(plan, plan.NodeAddresses[0], "bridge")).Content;
        using var doc = System.Text.Json.JsonDocument.Parse(PodProbe.PluginConfig(conflist));
        Assert.Equal("bridge", doc.RootElement.GetProperty("type").GetString());
        Assert.Equal("ipv6dind", doc.RootElement.GetProperty("name").GetString());
        Assert.Equal("1.0.0", doc.RootElement.GetProperty("cniVersion").GetString());
        Assert.Equal("fd00:77:0:40:1::/80", doc.RootElement.GetProperty("ipam").GetProperty("ranges")[0][0].GetProperty("subnet").GetString());
    }

    [Fact]
    public void ProbeTakesTheLastAddressOfTheNodesPodPrefixOnly()
    {
        var plan = Plan(2);
        var conflist = Ipv6Dind.Core.Rendering.CniRenderer.Render(Ipv6Dind.Core.Rendering.CniOptions.From(plan, plan.NodeAddresses[0], "ptp")).Content;
        var address = PodProbe.ProbeAddress(plan.NodeAddresses[0].PodPrefix);
        Assert.Equal("fd00:77:0:40:1:ffff:ffff:ffff", address);
        using var doc = System.Text.Json.JsonDocument.Parse(PodProbe.PluginConfig(conflist, address));
        var range = doc.RootElement.GetProperty("ipam").GetProperty("ranges")[0][0];
        Assert.Equal("ptp", doc.RootElement.GetProperty("type").GetString());
        Assert.Equal("fd00:77:0:40:1::/80", range.GetProperty("subnet").GetString());
        Assert.Equal((address, address), (range.GetProperty("rangeStart").GetString(), range.GetProperty("rangeEnd").GetString()));
        Assert.Equal("fd00:77:0:40:1::1", range.GetProperty("gateway").GetString());
    }

    [Fact]
    public void HostRulesParseFromIp6tablesSaveWithExactComments()
    {
        var save = string.Join('\n',
            "*nat",
            ":POSTROUTING ACCEPT [0:0]",
            "-A POSTROUTING -s fd00:77:0:10::/64 ! -d fd00:77:0:10::/64 -m comment --comment ipv6dind:lab -j MASQUERADE",
            "-A POSTROUTING -s fd00:78:0:10::/64 -m comment --comment ipv6dind:lab2 -j MASQUERADE",
            "COMMIT",
            "*filter",
            "-A FORWARD -d fd00:77:0:10::/64 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"ipv6dind:lab\" -j ACCEPT",
            "-A FORWARD -o eth0 -m comment --comment \"someone else's rule\" -j DROP",
            "COMMIT");
        var rules = HostFirewall.Parse(save).ToList();
        Assert.Equal(4, rules.Count);
        var lab = rules.Where(r => r.Comment == "ipv6dind:lab").ToList();
        Assert.Equal(2, lab.Count);
        Assert.Equal(("nat", "POSTROUTING"), (lab[0].Table, lab[0].Chain));
        Assert.Equal(("filter", "FORWARD"), (lab[1].Table, lab[1].Chain));
        Assert.Contains("someone else's rule", rules.Select(r => r.Comment));
        var comment = LabNames.HostRuleComment("lab", "0123456789abcdef0123");
        Assert.Equal("ipv6dind/cluster/lab/0123456789ab", comment);
        Assert.Equal(3, HostFirewall.AaaaModeRules(comment, "fd00:77:0:10::/64").Count);
        Assert.All(HostFirewall.AaaaModeRules(comment, "fd00:77:0:10::/64"), r => Assert.Equal(comment, r.Comment));
    }

    [Fact]
    public void ClusterRulesAndTheDaemonsOwnRulesLiveInDisjointNamespaces()
    {
        // A cluster named like the daemon's rule (0.3 tagged both "ipv6dind:<x>") can no longer share its comment.
        foreach (var name in new[] { "docker-ipv6", "daemon", "lab" })
        {
            var comment = LabNames.HostRuleComment(name, "feedfacecafe0000");
            Assert.NotEqual(DockerIpv6Prefix.MasqueradeComment, comment);
            Assert.NotEqual(DockerIpv6Prefix.LegacyMasqueradeComment, comment);
            Assert.False(DockerIpv6Prefix.MasqueradeComment.StartsWith(LabNames.HostRuleClusterPrefix(name), StringComparison.Ordinal));
        }
        Assert.StartsWith("ipv6dind/daemon/", DockerIpv6Prefix.MasqueradeComment);
    }

    [Fact]
    public void NatMapParses()
    {
        var map = DindLab.ParseDynamicMap("lab", "198.18.5.130\tfd00:77:0:10::1001\t1763900000\n# comment\ngarbage\n198.18.5.131 FD00:77:0:10::1002 1763900100\n");
        Assert.Equal(2, map.Count);
        Assert.Equal(("198.18.5.130", "fd00:77:0:10::1001"), (map[0].IPv4Address, map[0].IPv6Address));
        Assert.Equal("fd00:77:0:10::1002", map[1].IPv6Address);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1763900000), map[0].LastUse);
    }

    [Fact]
    public void EffectivePlanFollowsTheNodesThatExist()
    {
        var spec = SpecDefaults.Complete(new DindClusterSpec { ClusterName = "lab", Nodes = 2, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" } });
        var plan = DindLab.EffectivePlan(spec, new HashSet<int> { 1, 3, 4 });
        Assert.Equal(new[] { 1, 3, 4 }, plan.NodeAddresses.Select(n => n.Index));
        Assert.Equal("fd00:77:0:40:4::/80", plan.NodeAddresses[2].PodPrefix);
    }

    [Fact]
    public void CalicoNodeReadyPassesPerNodeWithARunningReadyPodAndNamesWhatIsWrongOtherwise()
    {
        var plan = Plan(3);
        var pods = new[]
        {
            new Ipv6Dind.Core.Kubernetes.KubePodStatus("kube-system", "calico-node-a1", "Running", true, "lab-node-1", new[] { "fd00:77:0:10::1001" }, null, null),
            new Ipv6Dind.Core.Kubernetes.KubePodStatus("kube-system", "calico-node-b2", "Pending", false, "lab-node-2", Array.Empty<string>(), "ErrImagePull", "pull access denied for calico/node"),
        };
        var results = LabTester.CalicoNodes("lab", plan, pods).ToList();
        Assert.Equal(new[] { "lab-node-1", "lab-node-2", "lab-node-3" }, results.Select(r => r.Target));
        Assert.All(results, r => Assert.Equal("CalicoNodeReady", r.Check));
        Assert.Equal(new[] { CheckStatus.Pass, CheckStatus.Fail, CheckStatus.Fail }, results.Select(r => r.Status));
        Assert.Equal("calico-node pod calico-node-b2 is Pending, not Ready: ErrImagePull pull access denied for calico/node", results[1].Detail);
        Assert.Equal("no calico-node pod on this node", results[2].Detail);
        Assert.Contains("Copy-DindImage lab", results[2].Remedy);
    }
}
