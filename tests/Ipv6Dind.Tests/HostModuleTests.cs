using Ipv6Dind.Host;

namespace Ipv6Dind.Tests;

/// <summary>The module's cmdlets through the console host, as README commands and cron run them.</summary>
public sealed class HostModuleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-hostmod-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Run(string script, string stdin = "")
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = HostProgram.Run(["-Module", Repo.ModuleManifest, "-Command", script], new StringReader(stdin), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void PlanPrintsAsATable()
    {
        var (code, output, _) = Run("New-DindClusterSpec lab -Nodes 2 -Subnet fd00:77::/48 -Dns64Upstream 198.51.100.53 -SkipHostCheck | Get-DindAddressPlan");
        Assert.Equal(0, code);
        // Grouped by cluster; a node's address and pod prefix on two lines (80 columns: Ipv6Dind.Format.ps1xml).
        Assert.Matches(@"ClusterName: lab\s+Role\s+Name\s+IPAddress / Prefix", output);
        Assert.Matches(@"ControlPlane\s+lab-node-1\s+fd00:77:0:10::1001\s+fd00:77:0:40:1::/80", output);
    }

    [Fact]
    public void InvalidInputExitsNonZeroWithTheIdAndWhatWouldBeValid()
    {
        var (code, _, error) = Run("New-DindClusterSpec lab -Nat64Prefix fd00:77:64::/80 -SkipHostCheck");
        Assert.Equal(1, code);
        Assert.Contains("New-DindClusterSpec", error);
        Assert.Contains("Nat64Prefix: /80 is not an RFC 6052 prefix length", error);
        Assert.Contains("InvalidNat64PrefixLength", error);
    }

    [Fact]
    public void WhatIfIsShownAndNothingIsWritten()
    {
        var (code, output, _) = Run($"New-DindClusterSpec lab -SkipHostCheck | New-KubeadmConfig -OutputDirectory '{_dir}' -WhatIf");
        Assert.Equal(0, code);
        Assert.Contains("What if: Performing the operation \"Write Kubeadm configuration\" on target", output);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void ConfirmPromptIsAnsweredFromStdin()
    {
        var path = Path.Combine(_dir, "lab.yaml");
        var (code, output, _) = Run($"New-DindClusterSpec lab -SkipHostCheck | Export-DindClusterSpec '{path}' -Confirm", stdin: "n\n");
        Assert.Equal(0, code);
        Assert.Contains("Are you sure you want to perform this action?", output);
        Assert.False(File.Exists(path));
        (code, _, _) = Run($"New-DindClusterSpec lab -SkipHostCheck | Export-DindClusterSpec '{path}' -Confirm", stdin: "y\n");
        Assert.Equal(0, code);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void VerboseLinesTellWhatIsDone()
    {
        var (code, _, error) = Run("New-DindClusterSpec lab -Subnet fd00:77::/48 -SkipHostCheck -Verbose");
        Assert.Equal(0, code);
        Assert.Contains("VERBOSE: Cluster 'lab': subnet fd00:77::/48", error);
    }
}
