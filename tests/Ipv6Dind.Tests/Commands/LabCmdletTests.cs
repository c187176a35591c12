using Ipv6Dind;

namespace Ipv6Dind.Tests.Commands;

/// <summary>
/// The lab cmdlets without a Docker daemon: parameters, -WhatIf, validation before Docker is asked, and the
/// error when Docker cannot be reached. (Bring-up itself is tested against the real daemon in Ipv6Dind.IntegrationTests.)
/// </summary>
[Collection(DockerHostEnvironment.Name)]
public sealed class LabCmdletTests : IClassFixture<ModuleFixture>
{
    private readonly ModuleSession _ps;
    public LabCmdletTests(ModuleFixture fixture) => _ps = fixture.Session;

    private const string NoDocker = "$env:DOCKER_HOST = 'unix:///run/ipv6dind-tests-no-such-docker.sock'";
    private PsResult WithoutDocker(string script) => _ps.Run($"{NoDocker}; try {{ {script} }} finally {{ $env:DOCKER_HOST = $null }}");

    [Fact]
    public void WhatIfShowsThePlanAndAsksNothingOfDocker()
    {
        var r = WithoutDocker("New-DindCluster lab -Nodes 3 -NetworkOnly -Dns64Upstream 198.51.100.53 -WhatIf");
        r.AssertSuccess();
        Assert.Empty(r.Output);
    }

    [Theory]
    [InlineData("New-DindCluster 'Bad Name' -NetworkOnly", "InvalidClusterName")]
    [InlineData("New-DindCluster lab -NetworkOnly -Nat64Prefix fd00:77:64::/80", "InvalidNat64PrefixLength")]
    [InlineData("New-DindCluster lab -NetworkOnly -Nodes 2000", "NodeCountExceedsBridgePorts")]
    [InlineData("New-DindCluster lab -NetworkOnly -Dns64Upstream 127.0.0.1", "InvalidDns64Upstream")]
    [InlineData("Remove-DindCluster 'a;b' -Confirm:$false", "InvalidClusterName")]
    [InlineData("Set-Nat64Prefix lab -Nat64Prefix fd00:77:64::/80 -Confirm:$false", "InvalidNat64PrefixLength")]
    public void BadInputIsRefusedBeforeDockerIsAsked(string script, string errorId)
    {
        var r = WithoutDocker(script);
        Assert.Empty(r.Output);
        Assert.StartsWith(errorId + ",", r.ErrorId);
    }

    [Theory]
    [InlineData("New-DindCluster lab -NetworkOnly -Dns64Upstream 198.51.100.53")]
    [InlineData("Get-DindCluster")]
    [InlineData("Test-DindCluster lab")]
    [InlineData("Remove-DindCluster lab -Confirm:$false")]
    public void DockerUnreachableIsAClearError(string script)
    {
        var r = WithoutDocker(script);
        Assert.Empty(r.Output);
        Assert.StartsWith("DockerUnreachable,", r.ErrorId);
        Assert.Contains("ipv6dind-tests-no-such-docker.sock", r.Error.ToString());
        Assert.Equal(System.Management.Automation.ErrorCategory.ConnectionError, r.Error.CategoryInfo.Category);
    }

    [Fact]
    public void RemoveIsHighImpactAndHonoursWhatIf()
    {
        var r = WithoutDocker("Remove-DindCluster lab -WhatIf");
        r.AssertSuccess();
        var cmd = _ps.Run("(Get-Command Remove-DindCluster).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact");
        Assert.Equal("High", cmd.Output.Single().ToString());
    }

    [Fact]
    public void LabCmdletsBindClusterNameFromObjectsByPropertyName()
    {
        foreach (var name in new[] { "Get-DindNode", "Get-DindRoute", "Sync-DindRoute", "Test-DindCluster", "Start-DindCluster", "Stop-DindCluster", "Get-Dns64", "Set-Dns64", "Get-Nat64Mapping", "Add-DindNode", "Remove-DindNode", "Export-DindLog", "Invoke-DindCommand", "Set-Nat64Prefix" })
        {
            var r = _ps.Run($"(Get-Command {name}).Parameters['ClusterName'].ParameterSets.Values | ForEach-Object {{ $_.ValueFromPipelineByPropertyName }}");
            Assert.True(r.Output.Count > 0 && r.Output.All(o => (bool)o.BaseObject), $"{name} does not bind ClusterName by property name");
        }
    }
}
