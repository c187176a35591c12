namespace Ipv6Dind.Tests.Commands;

/// <summary>
/// Reset-DindCluster, Get-DindKubeconfig, Copy-DindImage, Build-DindImage -KubernetesBinaryPath and New-DindCluster's
/// Kubernetes parameters without a Docker daemon: parameters, -WhatIf, validation first, the Docker error.
/// (The Kubernetes phase itself runs in Ipv6Dind.IntegrationTests against the kubeadm test double.)
/// </summary>
[Collection(DockerHostEnvironment.Name)]
public sealed class KubernetesCmdletTests : IClassFixture<ModuleFixture>
{
    private readonly ModuleSession _ps;
    public KubernetesCmdletTests(ModuleFixture fixture) => _ps = fixture.Session;

    private const string NoDocker = "$env:DOCKER_HOST = 'unix:///run/ipv6dind-tests-no-such-docker.sock'";
    private PsResult WithoutDocker(string script) => _ps.Run($"{NoDocker}; try {{ {script} }} finally {{ $env:DOCKER_HOST = $null }}");

    [Theory]
    [InlineData("Reset-DindCluster lab -WhatIf")]
    [InlineData("Copy-DindImage lab busybox:latest -WhatIf")]
    [InlineData("Get-DindKubeconfig lab -Path ./never-written.conf -WhatIf")]
    [InlineData("Get-DindKubeconfig lab -Merge -SetCurrentContext -WhatIf")]
    [InlineData("New-DindCluster lab -Nodes 2 -NodeImage kindest/node:v1.31.2 -KubernetesVersion v1.31.2 -Cni ptp -TimeoutSec 60 -Dns64Upstream 198.51.100.53 -WhatIf")]
    public void WhatIfChangesNothingAndAsksNothingOfDocker(string script)
    {
        var r = WithoutDocker(script);
        r.AssertSuccess();
        Assert.Empty(r.Output);
        Assert.False(File.Exists("never-written.conf"));
    }

    [Theory]
    [InlineData("Reset-DindCluster 'a;b' -Confirm:$false", "InvalidClusterName")]
    [InlineData("Reset-DindCluster lab -LockTimeoutSec -1 -Confirm:$false", "ParameterArgumentValidationError")]
    [InlineData("New-DindCluster lab -Cni flannel -WhatIf", "ParameterArgumentValidationError")]
    [InlineData("New-DindCluster lab -TimeoutSec 1 -WhatIf", "ParameterArgumentValidationError")]
    [InlineData("Build-DindImage -KubernetesBinaryPath /nonexistent/ipv6dind-kube-bin", "InvalidPath")]
    public void BadInputIsRefusedFirst(string script, string errorId)
    {
        var r = WithoutDocker(script);
        Assert.Empty(r.Output);
        Assert.StartsWith(errorId + ",", r.ErrorId);
    }

    [Fact]
    public void ABinaryDirectoryWithoutKubeletNamesWhatIsMissing()
    {
        var dir = Directory.CreateTempSubdirectory("ipv6dind-kube-bin-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "kubeadm"), "");
            var r = WithoutDocker($"Build-DindImage -KubernetesBinaryPath '{dir.FullName}' -KubernetesVersion v1.31.2");
            Assert.StartsWith("ImageToolMissing,", r.ErrorId);
            Assert.Contains("no kubelet, no kubectl", r.Error.ToString());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("Reset-DindCluster lab -Confirm:$false")]
    [InlineData("Get-DindKubeconfig lab")]
    [InlineData("Copy-DindImage lab busybox:latest")]
    public void DockerUnreachableIsAClearError(string script)
    {
        var r = WithoutDocker(script);
        Assert.Empty(r.Output);
        Assert.StartsWith("DockerUnreachable,", r.ErrorId);
    }

    [Fact]
    public void ResetIsHighImpact()
    {
        var r = _ps.Run("(Get-Command Reset-DindCluster).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact");
        Assert.Equal("High", r.Output.Single().ToString());
    }

    [Fact]
    public void NewCmdletsBindClusterNameByPropertyName()
    {
        foreach (var name in new[] { "Reset-DindCluster", "Get-DindKubeconfig", "Copy-DindImage" })
        {
            var r = _ps.Run($"(Get-Command {name}).Parameters['ClusterName'].ParameterSets.Values | ForEach-Object {{ $_.ValueFromPipelineByPropertyName }}");
            Assert.True(r.Output.Count > 0 && r.Output.All(o => (bool)o.BaseObject), $"{name} does not bind ClusterName by property name");
        }
    }
}
