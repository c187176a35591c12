using Ipv6Dind;

namespace Ipv6Dind.Tests.Commands;

public sealed class SpecFileCmdletTests : IClassFixture<ModuleFixture>, IDisposable
{
    private readonly ModuleSession _ps;
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-spec-").FullName;

    public SpecFileCmdletTests(ModuleFixture fixture) => _ps = fixture.Session;
    public void Dispose() => Directory.Delete(_dir, true);

    private string P(string name) => Path.Combine(_dir, name);
    private static string SpecData(string name) => Path.Combine(Repo.Root, "tests", "Ipv6Dind.Core.Tests", "TestData", "spec", name);

    [Fact]
    public void ExportThenImportGivesTheSameSpecAndTheSameFile()
    {
        var r = _ps.Run($"New-DindClusterSpec lab -Nodes 3 -Subnet fd00:77::/48 -Dns64Upstream 198.51.100.53,2001:db8::53 -AllowAaaa -Cni calico -CalicoManifest ./calico.yaml -SkipHostCheck | Export-DindClusterSpec '{P("lab.yaml")}' -PassThru");
        r.AssertSuccess();
        Assert.Equal(P("lab.yaml"), r.Single<FileInfo>().FullName);
        var imported = _ps.Run($"Import-DindClusterSpec '{P("lab.yaml")}' -SkipHostCheck");
        imported.AssertSuccess();
        var spec = imported.Single<DindClusterSpec>();
        Assert.Equal(("lab", 3, true, "calico"), (spec.ClusterName, spec.Nodes, spec.AllowAaaa, spec.Cni));
        Assert.Equal(new[] { "198.51.100.53", "2001:db8::53" }, spec.Dns64Upstream);
        // A relative manifest path is recorded as the full path it had where the spec was made.
        Assert.True(Path.IsPathFullyQualified(spec.CalicoManifest) && spec.CalicoManifest.EndsWith("/calico.yaml", StringComparison.Ordinal), spec.CalicoManifest);
        Assert.Contains("calicoManifest: ", File.ReadAllText(P("lab.yaml")));
        _ps.Run($"Import-DindClusterSpec '{P("lab.yaml")}' -SkipHostCheck | Export-DindClusterSpec '{P("again.yaml")}'").AssertSuccess();
        Assert.Equal(File.ReadAllText(P("lab.yaml")), File.ReadAllText(P("again.yaml")));
    }

    [Fact]
    public void ExportHonoursWhatIfAndNoClobber()
    {
        _ps.Run($"New-DindClusterSpec lab -SkipHostCheck | Export-DindClusterSpec '{P("w.yaml")}' -WhatIf").AssertSuccess();
        Assert.False(File.Exists(P("w.yaml")));
        File.WriteAllText(P("w.yaml"), "keep");
        var r = _ps.Run($"New-DindClusterSpec lab -SkipHostCheck | Export-DindClusterSpec '{P("w.yaml")}' -NoClobber");
        Assert.StartsWith("SpecFileExists,", r.ErrorId);
        Assert.Equal("keep", File.ReadAllText(P("w.yaml")));
    }

    [Fact]
    public void TwoSpecsIntoOneFileIsAnError()
    {
        var r = _ps.Run($"(New-DindClusterSpec a -SkipHostCheck), (New-DindClusterSpec b -SkipHostCheck) | Export-DindClusterSpec '{P("two.yaml")}'");
        Assert.StartsWith("SpecFileOneClusterOnly,", r.ErrorId);
        Assert.Contains("name: a", File.ReadAllText(P("two.yaml")));
    }

    [Fact]
    public void ImportsKubeadmDindClusterVariablesLikeTheSeed()
    {
        var r = _ps.Run("Import-DindClusterSpec -FromKdcEnvironment -SkipHostCheck -Environment @{ IP_MODE = 'ipv6'; DIND_SUBNET = 'fd00:77::'; SERVICE_CIDR = 'fd00:77:30::/110'; DNS64_PREFIX = 'fd00:77:64:ff9b::'; REMOTE_DNS64_V4SERVER = '198.51.100.53'; BUILD_KUBEADM = 'y' }");
        r.AssertSuccess();
        var spec = r.Single<DindClusterSpec>();
        Assert.Equal("fd00:77::/64", spec.ManagementPrefix);
        Assert.Equal("fd00:77:30::/110", spec.ServicePrefix);
        Assert.Equal("fd00:77:64:ff9b::/96", spec.Nat64Prefix);
        Assert.Equal(new[] { "198.51.100.53" }, spec.Dns64Upstream);
        Assert.Contains(r.Warnings, w => w.Contains("BUILD_KUBEADM"));
    }

    [Fact]
    public void KdcIpv4ModeIsRefused()
    {
        var r = _ps.Run("Import-DindClusterSpec -FromKdcEnvironment -SkipHostCheck -Environment @{ IP_MODE = 'ipv4' }");
        Assert.Empty(r.Output);
        Assert.StartsWith("SpecValueUnsupported,", r.ErrorId);
    }

    [Fact]
    public void ImportsALazyjackConfigByDetectingItsFormat()
    {
        var r = _ps.Run($"Import-DindClusterSpec '{SpecData("lazyjack-config.yaml")}' -Name lj -SkipHostCheck");
        r.AssertSuccess();
        var spec = r.Single<DindClusterSpec>();
        Assert.Equal("lj", spec.ClusterName);
        Assert.True(spec.Nodes >= 2);
    }

    [Fact]
    public void ImportsAKindConfigByDetectingItsFormatAndWarnsForWhatItDoesNotHonour()
    {
        var r = _ps.Run($"Import-DindClusterSpec '{SpecData("kind-every-field.yaml")}' -SkipHostCheck");
        r.AssertSuccess();
        var spec = r.Single<DindClusterSpec>();
        Assert.Equal(("app-1-cluster", 3, "kindest/node:v1.33.1", "fd00:10:244::/56", 64), (spec.ClusterName, spec.Nodes, spec.NodeImage, spec.PodPrefix, spec.PodNodePrefixLength));
        Assert.True(spec.FeatureGates["CSIMigration"]);
        Assert.Equal(new[] { 1, 2, 3 }, spec.NodeSettings.Select(n => n.Node));
        Assert.Equal(9, r.Warnings.Count);
        Assert.Contains(r.Warnings, w => w.Contains("kind-every-field.yaml:21: networking.kubeProxyMode 'nftables': not carried"));

        // The spec file keeps what the kind config brought.
        _ps.Run($"Import-DindClusterSpec '{SpecData("kind-every-field.yaml")}' -Format Kind -ClusterName lab -SkipHostCheck -WarningAction SilentlyContinue | Export-DindClusterSpec '{P("kind.yaml")}'").AssertSuccess();
        var again = _ps.Run($"Import-DindClusterSpec '{P("kind.yaml")}' -SkipHostCheck");
        again.AssertSuccess();
        Assert.Empty(again.Warnings);
        Assert.Equal(("lab", 3), (again.Single<DindClusterSpec>().ClusterName, again.Single<DindClusterSpec>().NodeSettings.Count));
    }

    [Theory]
    [InlineData("kind-dual.yaml", "Auto", "SpecValueUnsupported")]
    [InlineData("kind-ipv4.yaml", "Kind", "SpecValueUnsupported")]
    [InlineData("kind-no-ip-family.yaml", "Auto", "SpecValueUnsupported")]
    [InlineData("kind-two-control-planes.yaml", "Auto", "SpecValueUnsupported")]
    [InlineData("lazyjack-config.yaml", "Kind", "SpecFileInvalid")]
    public void KindConfigsIpv6DindCannotBuildAreRefused(string file, string format, string errorId)
    {
        var r = _ps.Run($"Import-DindClusterSpec '{SpecData(file)}' -Format {format} -SkipHostCheck");
        Assert.Empty(r.Output);
        Assert.StartsWith(errorId + ",", r.ErrorId);
    }

    [Theory]
    [InlineData("missing.yaml", null, "SpecFileNotFound")]
    [InlineData("junk.yaml", "just: text\n", "SpecFileInvalid")]
    [InlineData("unknown.yaml", "apiVersion: ipv6dind.io/v1alpha1\nkind: DindCluster\nmetadata:\n  name: lab\nspec:\n  nodez: 3\n", "SpecFieldUnknown")]
    [InlineData("badnat.yaml", "apiVersion: ipv6dind.io/v1alpha1\nkind: DindCluster\nmetadata:\n  name: lab\nspec:\n  nat64Prefix: fd00:77:64::/80\n", "InvalidNat64PrefixLength")]
    public void BadFilesGetTheirErrorIds(string name, string? content, string errorId)
    {
        if (content is not null) File.WriteAllText(P(name), content);
        var r = _ps.Run($"Import-DindClusterSpec '{P(name)}' -SkipHostCheck");
        Assert.Empty(r.Output);
        Assert.StartsWith(errorId + ",", r.ErrorId);
    }

    [Fact]
    public void ImportBindsFullNameFromTheFileSystemPipeline()
    {
        _ps.Run($"New-DindClusterSpec lab -SkipHostCheck | Export-DindClusterSpec '{P("p.yaml")}'").AssertSuccess();
        var r = _ps.Run($"[System.IO.FileInfo]::new('{P("p.yaml")}') | Import-DindClusterSpec -SkipHostCheck");
        r.AssertSuccess();
        Assert.Equal("lab", r.Single<DindClusterSpec>().ClusterName);
    }
}
