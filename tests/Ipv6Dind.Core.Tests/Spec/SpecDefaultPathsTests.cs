using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Core.Tests.Spec;

/// <summary>
/// Defaults are applied once, at planning (SpecDefaults.Complete through SpecBuilder.Resolve): New-DindCluster with
/// its parameters and New-DindClusterSpec piped into New-DindCluster start from the same effective spec. The inputs
/// below are what each cmdlet builds from default parameters (src/Ipv6Dind/Commands/NewDindClusterCommand.cs and
/// NewDindClusterSpecCommand.cs): unset values stay empty for planning to fill in.
/// </summary>
public class SpecDefaultPathsTests
{
    private static readonly PlanEnvironment Environment = new() { HostResolvers = new[] { "198.51.100.53" } };

    private static DindClusterSpec NewDindClusterInput(string name, int nodes) => new()
    {
        ClusterName = name, Nodes = nodes, Subnet = "", Nat64Prefix = "", Dns64Upstream = Array.Empty<string>(), AllowAaaa = false,
        NodeImage = "", KubernetesVersion = "", Cni = "", CalicoBlockSize = SpecDefaults.DefaultCalicoBlockSize, CalicoManifest = "",
    };

    private static DindClusterSpec NewDindClusterSpecInput(string name, int nodes) => new()
    {
        ClusterName = name, Nodes = nodes, Subnet = "", ManagementPrefix = "", PodPrefix = "",
        PodNodePrefixLength = SpecDefaults.DefaultPodNodePrefixLength, ServicePrefix = "", Nat64Prefix = "", Nat64Pool = "",
        Dns64Upstream = Array.Empty<string>(), AllowAaaa = false, Cni = "", CalicoBlockSize = SpecDefaults.DefaultCalicoBlockSize,
        CalicoManifest = "", KubernetesVersion = "", NodeImage = "",
    };

    [Theory]
    [InlineData("lab", 1)]
    [InlineData("demo", 3)]
    public void BothCmdletsPlanTheSameSpecFromDefaults(string name, int nodes)
    {
        var viaNewDindCluster = SpecBuilder.Resolve(NewDindClusterInput(name, nodes), Environment);
        var viaNewDindClusterSpec = SpecBuilder.Resolve(NewDindClusterSpecInput(name, nodes), Environment);
        Assert.Equal(SpecYaml.Serialize(viaNewDindClusterSpec), SpecYaml.Serialize(viaNewDindCluster));
        Assert.Equal(SpecDefaults.DefaultCni, viaNewDindCluster.Cni);
        // And the address plans agree too.
        static IEnumerable<string> Rows(DindClusterSpec spec) =>
            AddressPlanner.Rows(AddressPlanner.Plan(spec, Environment)).Select(r => $"{r.Role} {r.Name} {r.IPAddress} {r.Prefix}");
        Assert.Equal(Rows(viaNewDindClusterSpec), Rows(viaNewDindCluster));
    }

    [Fact]
    public void ASpecWithTheDefaultCniLeavesTheChoiceToTheNodeImage()
    {
        // New-DindClusterSpec's resolved spec says bridge whether -Cni bridge was given or not; piped into
        // New-DindCluster it is judged as the default, as New-DindCluster without -Cni is.
        var resolved = SpecBuilder.Resolve(NewDindClusterSpecInput("lab", 1), Environment);
        Assert.True(SpecDefaults.IsDefaultCni(resolved.Cni));
        Assert.True(SpecDefaults.IsDefaultCni(""));
        Assert.True(SpecDefaults.IsDefaultCni(" Bridge "));
        Assert.False(SpecDefaults.IsDefaultCni("ptp"));
        Assert.False(SpecDefaults.IsDefaultCni("calico"));
    }

    [Fact]
    public void ASpecWithTheDefaultKubernetesVersionLeavesTheChoiceToTheNodeImage()
    {
        // New-DindClusterSpec fills in the default version; piped into New-DindCluster it must not be taken for a
        // user's choice (New-DindCluster warns only when a spec asks for a version the node image does not have).
        var resolved = SpecBuilder.Resolve(NewDindClusterSpecInput("lab", 1), Environment);
        Assert.Equal(SpecDefaults.DefaultKubernetesVersion, resolved.KubernetesVersion);
        Assert.True(SpecDefaults.IsDefaultKubernetesVersion(resolved.KubernetesVersion));
        Assert.True(SpecDefaults.IsDefaultKubernetesVersion(""));
        Assert.True(SpecDefaults.IsDefaultKubernetesVersion(" " + SpecDefaults.DefaultKubernetesVersion.TrimStart('v')));
        Assert.False(SpecDefaults.IsDefaultKubernetesVersion("v1.31.2"));
    }
}
