using Ipv6Dind;

namespace Ipv6Dind.Tests.Commands;

public sealed class ConfigCmdletTests : IClassFixture<ModuleFixture>, IDisposable
{
    private readonly ModuleSession _ps;
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-configs-").FullName;

    public ConfigCmdletTests(ModuleFixture fixture) => _ps = fixture.Session;

    public void Dispose() => Directory.Delete(_dir, true);

    private const string Spec = "New-DindClusterSpec lab -Nodes 3 -Subnet fd00:77::/48 -Dns64Upstream 198.51.100.53 -SkipHostCheck";

    [Fact]
    public void KubeadmConfigForEveryNodeAsObjects()
    {
        var r = _ps.Run($"{Spec} | New-KubeadmConfig -Token abcdef.0123456789abcdef");
        r.AssertSuccess();
        var configs = r.All<RenderedConfig>().ToList();
        Assert.Equal(new[] { "lab-node-1", "lab-node-2", "lab-node-3" }, configs.Select(c => c.NodeName));
        Assert.Contains("kind: InitConfiguration", configs[0].Content);
        Assert.Contains("maxPerCore: 0", configs[0].Content);
        Assert.Contains("kind: JoinConfiguration", configs[1].Content);
        Assert.Contains("kubeadm.k8s.io/v1beta4", configs[0].Content);
    }

    [Fact]
    public void KubeadmVersionSwitchesAt131()
    {
        var r = _ps.Run("New-DindClusterSpec lab -SkipHostCheck -KubernetesVersion v1.30.2 | New-KubeadmConfig");
        Assert.Contains("kubeadm.k8s.io/v1beta3", r.All<RenderedConfig>().Single().Content);
    }

    [Fact]
    public void NodeNameFiltersAndAnUnknownNodeIsAnError()
    {
        var r = _ps.Run($"{Spec} | New-KubeadmConfig -NodeName lab-node-2");
        Assert.Equal("lab-node-2", r.Single<RenderedConfig>().NodeName);
        var bad = _ps.Run($"{Spec} | New-KubeadmConfig -NodeName lab-node-9");
        Assert.StartsWith("NodeNotFound,", bad.ErrorId);
    }

    [Theory]
    [InlineData("-Token 'not-a-token'", "InvalidBootstrapToken")]
    [InlineData("-CaCertHash 'sha256:xyz'", "InvalidCaCertHash")]
    public void BadKubeadmInputs(string args, string errorId)
    {
        var r = _ps.Run($"{Spec} | New-KubeadmConfig {args}");
        Assert.Empty(r.Output);
        Assert.StartsWith(errorId + ",", r.ErrorId);
    }

    [Fact]
    public void WhatIfWritesNothing()
    {
        var r = _ps.Run($"{Spec} | New-KubeadmConfig -OutputDirectory '{_dir}' -WhatIf");
        r.AssertSuccess();
        Assert.Empty(r.Output);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void WritesFilesAndRefusesToOverwriteWithoutForce()
    {
        var r = _ps.Run($"{Spec} | New-KubeadmConfig -OutputDirectory '{_dir}'");
        r.AssertSuccess();
        var files = r.All<FileInfo>().Select(f => f.Name).ToList();
        Assert.Equal(new[] { "lab-node-1-kubeadm.yaml", "lab-node-2-kubeadm.yaml", "lab-node-3-kubeadm.yaml" }, files);
        Assert.Contains("InitConfiguration", File.ReadAllText(Path.Combine(_dir, "lab-node-1-kubeadm.yaml")));

        var again = _ps.Run($"{Spec} | New-KubeadmConfig -OutputDirectory '{_dir}'");
        Assert.StartsWith("ConfigFileExists,", again.ErrorId);
        var forced = _ps.Run($"{Spec} | New-KubeadmConfig -OutputDirectory '{_dir}' -Force");
        forced.AssertSuccess();
        Assert.Equal(3, forced.Output.Count);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories).Concat(Directory.GetFiles(_dir, ".*")));
    }

    [Fact]
    public void NdppdConfigNamesTheUplinkAndBothRules()
    {
        var r = _ps.Run($"{Spec} | New-NdppdConfig -UplinkInterface ens3");
        var text = r.Single<RenderedConfig>().Content;
        Assert.Contains("proxy ens3", text);
        Assert.Contains("rule fd00:77:0:40::/64", text);
        Assert.Contains("rule fd00:77:0:30::/112", text);
        Assert.Contains("auto", text);
        Assert.Contains("static", text);
    }

    [Fact]
    public void NdppdRefusesAHostileInterfaceName()
    {
        var r = _ps.Run($"{Spec} | New-NdppdConfig -UplinkInterface 'eth0 {{ }}; x'");
        Assert.Empty(r.Output);
        Assert.StartsWith("InvalidInterfaceName,", r.ErrorId);
    }

    [Fact]
    public void CalicoConfigCarriesPoolAndBlockSize()
    {
        var r = _ps.Run("New-DindClusterSpec lab -Subnet fd00:77::/48 -Cni calico -CalicoBlockSize 120 -SkipHostCheck | New-CalicoConfig");
        r.AssertSuccess();
        var all = string.Join("\n", r.All<RenderedConfig>().Select(c => c.Content));
        Assert.Contains("fd00:77:0:40::/64", all);
        Assert.Contains("blockSize: 120", all);
        Assert.Contains("FELIX_IPV6SUPPORT", all);
        Assert.Contains("assign_ipv6", all);
    }
}
