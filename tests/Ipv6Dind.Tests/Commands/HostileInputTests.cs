using System.Management.Automation;
using Ipv6Dind;

namespace Ipv6Dind.Tests.Commands;

/// <summary>
/// Hostile names, node names, image references, prefixes, resolvers, probes and paths fed to every exported cmdlet
/// that takes one: each is refused with its validation error id and the parameter named, before Docker is asked
/// (DOCKER_HOST points at a socket that does not exist, so reaching Docker would show as DockerUnreachable), and
/// nothing is written (the cmdlets run in an empty folder that stays empty). Values are handed over as PowerShell
/// variables, so the test's own quoting never gets in the way of the hostile text.
/// </summary>
[Collection(DockerHostEnvironment.Name)]
public sealed class HostileInputTests : IClassFixture<ModuleFixture>, IDisposable
{
    private readonly ModuleSession _ps;
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-hostile-").FullName;
    private readonly string _work;
    private readonly string _bin;

    public HostileInputTests(ModuleFixture fixture)
    {
        _ps = fixture.Session;
        _work = Directory.CreateDirectory(Path.Combine(_dir, "work")).FullName;
        // Stand-ins for kubeadm, kubelet and kubectl: Build-DindImage -KubernetesVersion is judged after they are found.
        _bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        foreach (var tool in new[] { "kubeadm", "kubelet", "kubectl" }) File.WriteAllText(Path.Combine(_bin, tool), "");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string NoDocker = "$env:DOCKER_HOST = 'unix:///run/ipv6dind-tests-no-such-docker.sock'";
    private const string Spec = "(New-DindClusterSpec lab -Nodes 2 -Subnet fd00:77::/48 -Dns64Upstream 198.51.100.53 -SkipHostCheck)";

    /// <summary>Shell and path metacharacters, control characters, look-alikes, option-looking and very long text.</summary>
    private static readonly string[] Hostile =
    {
        "lab'", "lab\"x", "a;b", "lab; rm -rf /", "$(id)", "lab$(touch pwned)", "`id`", "lab`nx", "lab\nrm -rf /", "lab\r\n", "lab\0",
        "../lab", "../../etc/passwd", "/etc/passwd", "-lab", "--help", "lаb" /* Cyrillic а */, "ｌａｂ", "lab\u202e", "a b", "*;id",
        new string('a', 5000),
    };

    private static readonly string[] HostileNodeNames = Hostile.Concat(new[]
    {
        "lab-node-1;id", "lab-node-1\n", "lab-node-1 ", "lab-node-0", "lab-node-01", "other-node-1", "lab-dns64", "lab-node-../1",
    }).ToArray();

    private static readonly string[] HostileImages = Hostile.Concat(new[]
    {
        "nginx;id", "nginx:1.27; rm -rf /", "nginx\n", "Nginx", "nginx@sha256:abc", "--output=/tmp/x", "nginx:-x", "ngіnx",
    }).ToArray();

    private static readonly string[] HostilePrefixes = Hostile.Concat(new[] { "fd00:77::/48; id", "fd00:77::/48\nx", "fd00:77::/48 -x", "$(echo fd00::/48)" }).ToArray();

    private static readonly string[] HostileUpstreams = Hostile.Concat(new[] { "198.51.100.53; id", "198.51.100.53\nx", "198.51.100.53:53", "127.0.0.1" }).ToArray();

    private static readonly string[] HostileAddresses = Hostile.Concat(new[] { "198.51.100.1; id", "198.51.100.1\nx", "198.51.100.1/24", "64:ff9b::1%eth0" }).ToArray();

    private static readonly string[] HostileProbeNames = Hostile.Where(h => h is not ("-lab" or "--help")).Concat(new[] { "-f/etc/shadow", "+short", "@198.51.100.1", "-lab" }).ToArray();

    private static readonly string[] HostileUrls = Hostile.Concat(new[] { "-o/etc/passwd", "--config=/x", "file:///etc/passwd", "http://x/ -o /etc/passwd", "http://x/\n" }).ToArray();

    /// <summary>Paths are the caller's to choose ('..', absolute, quotes are fine); control characters and over-long ones are not.</summary>
    private static readonly string[] HostilePaths = { "logs\nrm -rf /", "logs\0", "lo\u001b[31mgs", "lo\rgs", "/" + new string('a', 5000), "   " };

    /// <summary>Kubernetes versions: never spliced anywhere, refused unless they are a version.</summary>
    private static readonly string[] HostileVersions = Hostile.Where(h => h.Length < 100).Concat(new[] { "1.31; id", "v1.31\nx", "v1.٣١" }).ToArray();

    /// <summary>(cmdlet, parameter) → the script (the value is $v), the error id, and the hostile values for it.</summary>
    public static readonly TheoryData<string, string, string, string> Cases = new()
    {
        // Cluster names.
        { "New-DindCluster", "ClusterName", "New-DindCluster $v -NetworkOnly -Dns64Upstream 198.51.100.53", "InvalidClusterName" },
        { "New-DindClusterSpec", "ClusterName", "New-DindClusterSpec $v -SkipHostCheck", "InvalidClusterName" },
        { "Import-DindClusterSpec", "ClusterName", "Import-DindClusterSpec -FromKdcEnvironment -Environment @{} -ClusterName $v -SkipHostCheck", "InvalidClusterName" },
        { "Get-DindCluster", "ClusterName", "Get-DindCluster $v", "InvalidClusterName" },
        { "Remove-DindCluster", "ClusterName", "Remove-DindCluster $v -Confirm:$false", "InvalidClusterName" },
        { "Reset-DindCluster", "ClusterName", "Reset-DindCluster $v -Confirm:$false", "InvalidClusterName" },
        { "Start-DindCluster", "ClusterName", "Start-DindCluster $v", "InvalidClusterName" },
        { "Stop-DindCluster", "ClusterName", "Stop-DindCluster $v", "InvalidClusterName" },
        { "Test-DindCluster", "ClusterName", "Test-DindCluster $v", "InvalidClusterName" },
        { "Get-DindNode", "ClusterName", "Get-DindNode $v", "InvalidClusterName" },
        { "Add-DindNode", "ClusterName", "Add-DindNode $v", "InvalidClusterName" },
        { "Remove-DindNode", "ClusterName", "Remove-DindNode $v lab-node-1 -Confirm:$false", "InvalidClusterName" },
        { "Get-DindRoute", "ClusterName", "Get-DindRoute $v", "InvalidClusterName" },
        { "Sync-DindRoute", "ClusterName", "Sync-DindRoute $v", "InvalidClusterName" },
        { "Sync-DindRoute -Host", "ClusterName", "Sync-DindRoute $v -Host", "InvalidClusterName" },
        { "Invoke-DindCommand", "ClusterName", "Invoke-DindCommand $v lab-node-1 true", "InvalidClusterName" },
        { "Get-Dns64", "ClusterName", "Get-Dns64 $v", "InvalidClusterName" },
        { "Set-Dns64", "ClusterName", "Set-Dns64 $v -AllowAaaa", "InvalidClusterName" },
        { "Set-Nat64Prefix", "ClusterName", "Set-Nat64Prefix $v -Nat64Prefix fd00:77:64:ff9b::/96", "InvalidClusterName" },
        { "Get-Nat64Mapping", "ClusterName", "Get-Nat64Mapping $v", "InvalidClusterName" },
        { "Export-DindLog", "ClusterName", "Export-DindLog $v", "InvalidClusterName" },
        { "Get-DindKubeconfig", "ClusterName", "Get-DindKubeconfig $v", "InvalidClusterName" },
        { "Get-DindKubeconfig -Path", "ClusterName", "Get-DindKubeconfig $v -Path kubeconfig", "InvalidClusterName" },
        { "Copy-DindImage", "ClusterName", "Copy-DindImage $v nginx:1.27", "InvalidClusterName" },
        { "Repair-ConntrackHashsize", "ClusterName", "Repair-ConntrackHashsize -ClusterName $v", "InvalidClusterName" },

        // Node names ("<cluster>-node-<n>").
        { "Get-DindNode", "NodeName", "Get-DindNode lab $v", "InvalidNodeName" },
        { "Remove-DindNode", "NodeName", "Remove-DindNode lab $v -Confirm:$false", "InvalidNodeName" },
        { "Invoke-DindCommand", "NodeName", "Invoke-DindCommand lab $v true", "InvalidNodeName" },
        { "Get-DindRoute", "NodeName", "Get-DindRoute lab $v", "InvalidNodeName" },
        { "Sync-DindRoute", "NodeName", "Sync-DindRoute lab $v", "InvalidNodeName" },
        { "Copy-DindImage", "NodeName", "Copy-DindImage lab nginx:1.27 -NodeName $v", "InvalidNodeName" },
        { "New-KubeadmConfig", "NodeName", $"{Spec} | New-KubeadmConfig -NodeName $v", "InvalidNodeName" },

        // Image references.
        { "Copy-DindImage", "Image", "Copy-DindImage lab $v", "InvalidImageReference" },
        { "New-DindCluster", "NodeImage", "New-DindCluster lab -NetworkOnly -Dns64Upstream 198.51.100.53 -NodeImage $v", "InvalidNodeImage" },
        { "New-DindClusterSpec", "NodeImage", "New-DindClusterSpec lab -SkipHostCheck -NodeImage $v", "InvalidNodeImage" },

        // Prefixes.
        { "New-DindCluster", "Subnet", "New-DindCluster lab -NetworkOnly -Dns64Upstream 198.51.100.53 -Subnet $v", "InvalidSubnet" },
        { "New-DindCluster", "Nat64Prefix", "New-DindCluster lab -NetworkOnly -Dns64Upstream 198.51.100.53 -Nat64Prefix $v", "InvalidNat64Prefix" },
        { "New-DindClusterSpec", "ManagementPrefix", "New-DindClusterSpec lab -SkipHostCheck -ManagementPrefix $v", "InvalidManagementPrefix" },
        { "New-DindClusterSpec", "PodPrefix", "New-DindClusterSpec lab -SkipHostCheck -PodPrefix $v", "InvalidPodPrefix" },
        { "New-DindClusterSpec", "ServicePrefix", "New-DindClusterSpec lab -SkipHostCheck -ServicePrefix $v", "InvalidServicePrefix" },
        { "New-DindClusterSpec", "Nat64Pool", "New-DindClusterSpec lab -SkipHostCheck -Nat64Pool $v", "InvalidNat64Pool" },
        { "Set-Nat64Prefix", "Nat64Prefix", "Set-Nat64Prefix lab -Nat64Prefix $v", "InvalidNat64Prefix" },
        { "ConvertTo-Nat64Address", "Nat64Prefix", "ConvertTo-Nat64Address 198.51.100.1 -Nat64Prefix $v", "InvalidNat64Prefix" },
        { "ConvertFrom-Nat64Address", "Nat64Prefix", "ConvertFrom-Nat64Address 64:ff9b::c633:6401 -Nat64Prefix $v", "InvalidNat64Prefix" },
        { "Split-Ipv6Prefix", "Prefix", "Split-Ipv6Prefix $v -SubnetLength 64", "InvalidPrefix" },
        { "Enable-DockerIpv6", "FixedCidrV6", "Enable-DockerIpv6 $v -ConfigPath daemon.json -PidFile none.pid -DockerVersion 20.10.24 -Confirm:$false", "InvalidDockerIpv6Prefix" },
        { "Set-DockerIpv6Prefix", "DelegatedPrefix", "Set-DockerIpv6Prefix $v -ConfigPath daemon.json -PidFile none.pid -DockerVersion 20.10.24 -Confirm:$false", "InvalidDockerIpv6Prefix" },

        // Addresses and resolvers.
        { "New-DindCluster", "Dns64Upstream", "New-DindCluster lab -NetworkOnly -Dns64Upstream $v", "InvalidDns64Upstream" },
        { "New-DindClusterSpec", "Dns64Upstream", "New-DindClusterSpec lab -SkipHostCheck -Dns64Upstream $v", "InvalidDns64Upstream" },
        { "Set-Dns64", "Dns64Upstream", "Set-Dns64 lab -Dns64Upstream 198.51.100.53,$v", "InvalidDns64Upstream" },
        { "ConvertTo-Nat64Address", "IPv4Address", "ConvertTo-Nat64Address $v", "InvalidIPv4Address" },
        { "New-DindClusterSpec", "Subnet", "New-DindClusterSpec lab -SkipHostCheck -Subnet $v", "InvalidSubnet" },
        { "New-DindClusterSpec", "Nat64Prefix", "New-DindClusterSpec lab -SkipHostCheck -Nat64Prefix $v", "InvalidNat64Prefix" },
        { "ConvertFrom-Nat64Address", "IPv6Address", "ConvertFrom-Nat64Address $v", "InvalidIPv6Address" },
        { "New-NdppdConfig", "UplinkInterface", $"{Spec} | New-NdppdConfig -UplinkInterface $v", "InvalidInterfaceName" },

        // Probe targets (arguments of dig and curl in a node).
        { "Test-DindCluster", "ProbeName", "Test-DindCluster lab -ProbeName $v", "InvalidProbeName" },
        { "Test-DindCluster", "AaaaProbeName", "Test-DindCluster lab -AaaaProbeName $v", "InvalidProbeName" },
        { "Test-DindCluster", "ProbeUrl", "Test-DindCluster lab -ProbeUrl $v", "InvalidProbeUrl" },

        // Kubernetes inputs.
        { "New-DindCluster", "KubernetesVersion", "New-DindCluster lab -Dns64Upstream 198.51.100.53 -KubernetesVersion $v", "InvalidKubernetesVersion" },
        { "New-DindClusterSpec", "KubernetesVersion", "New-DindClusterSpec lab -SkipHostCheck -KubernetesVersion $v", "InvalidKubernetesVersion" },
        { "Build-DindImage", "KubernetesVersion", "Build-DindImage -KubernetesBinaryPath $bin -KubernetesVersion $v -Confirm:$false", "UnsupportedKubernetesVersion" },
        { "New-KubeadmConfig", "Token", $"{Spec} | New-KubeadmConfig -Token $v", "InvalidBootstrapToken" },
        { "New-KubeadmConfig", "CaCertHash", $"{Spec} | New-KubeadmConfig -CaCertHash $v", "InvalidCaCertHash" },

        // Paths.
        { "Export-DindLog", "Path", "Export-DindLog lab -Path $v", "InvalidPath" },
        { "New-DindCluster", "CalicoManifest", "New-DindCluster lab -Dns64Upstream 198.51.100.53 -Cni calico -CalicoManifest $v", "InvalidPath" },
        { "New-DindClusterSpec", "CalicoManifest", "New-DindClusterSpec lab -SkipHostCheck -Cni calico -CalicoManifest $v", "InvalidPath" },
        { "Get-DindKubeconfig", "Path", "Get-DindKubeconfig lab -Path $v", "InvalidPath" },
        { "Build-DindImage", "KubernetesBinaryPath", "Build-DindImage -KubernetesBinaryPath $v -Confirm:$false", "InvalidPath" },
        { "Export-DindClusterSpec", "Path", $"{Spec} | Export-DindClusterSpec -Path $v", "InvalidPath" },
        { "Import-DindClusterSpec", "Path", "Import-DindClusterSpec -Path $v -SkipHostCheck", "InvalidPath" },
        { "New-KubeadmConfig", "OutputDirectory", $"{Spec} | New-KubeadmConfig -OutputDirectory $v", "InvalidPath" },
        { "New-NdppdConfig", "OutputDirectory", $"{Spec} | New-NdppdConfig -OutputDirectory $v", "InvalidPath" },
        { "New-CalicoConfig", "OutputDirectory", "New-DindClusterSpec lab -Subnet fd00:77::/48 -Cni calico -SkipHostCheck | New-CalicoConfig -OutputDirectory $v", "InvalidPath" },
        { "Enable-DockerIpv6", "ConfigPath", "Enable-DockerIpv6 fd00:d0c:1::/64 -ConfigPath $v -PidFile none.pid -DockerVersion 20.10.24 -Confirm:$false", "InvalidPath" },
        { "Enable-DockerIpv6", "PidFile", "Enable-DockerIpv6 fd00:d0c:1::/64 -ConfigPath daemon.json -PidFile $v -DockerVersion 20.10.24 -Confirm:$false", "InvalidPath" },
        { "Enable-DockerIpv6", "DaemonLogPath", "Enable-DockerIpv6 fd00:d0c:1::/64 -ConfigPath daemon.json -PidFile none.pid -DaemonLogPath $v -DockerVersion 20.10.24 -Confirm:$false", "InvalidPath" },
        { "Set-DockerIpv6Prefix", "ConfigPath", "Set-DockerIpv6Prefix 2001:db8:77::/56 -ConfigPath $v -PidFile none.pid -DockerVersion 20.10.24 -Confirm:$false", "InvalidPath" },
    };

    private string[] ValuesFor(string parameter, string errorId) => errorId switch
    {
        "InvalidNodeName" => HostileNodeNames,
        "InvalidImageReference" or "InvalidNodeImage" => HostileImages,
        "InvalidPath" => HostilePaths,
        "InvalidDns64Upstream" => HostileUpstreams,
        "InvalidIPv4Address" or "InvalidIPv6Address" => HostileAddresses,
        "InvalidProbeName" => HostileProbeNames,
        "InvalidProbeUrl" => HostileUrls,
        "InvalidKubernetesVersion" or "UnsupportedKubernetesVersion" => HostileVersions,
        "InvalidBootstrapToken" or "InvalidCaCertHash" or "InvalidInterfaceName" => Hostile,
        _ when parameter.Contains("Prefix", StringComparison.Ordinal) || parameter is "Subnet" or "Nat64Pool" or "FixedCidrV6" => HostilePrefixes,
        _ => Hostile,
    };

    /// <summary>A value as a failure message can show it: control characters escaped, cut after 60 characters.</summary>
    private static string Show(string value)
    {
        var cut = value.Length > 60 ? value[..60] + "…" : value;
        return string.Concat(cut.Select(c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format ? $"\\u{(int)c:x4}" : c.ToString()));
    }

    private PsResult Run(string script, string value) =>
        _ps.Run($"{NoDocker}; $here = $ExecutionContext.SessionState.Path.CurrentLocation.Path; $null = $ExecutionContext.SessionState.Path.SetLocation($work); " +
            $"try {{ {script} }} finally {{ $null = $ExecutionContext.SessionState.Path.SetLocation($here); $env:DOCKER_HOST = $null }}",
            new Dictionary<string, object?> { ["v"] = value, ["work"] = _work, ["bin"] = _bin });

    [Theory]
    [MemberData(nameof(Cases))]
    public void HostileValuesAreRefusedBeforeDockerIsAsked(string cmdlet, string parameter, string script, string errorId)
    {
        var failures = new List<string>();
        // The error may name the parameter by an alias (a core validator shared with spec files says Name, Prefix, Interface).
        var aliases = _ps.Run($"(Get-Command {cmdlet}).Parameters['{parameter}'].Aliases").Output.Select(o => o.ToString()).ToHashSet(StringComparer.Ordinal);
        foreach (var value in ValuesFor(parameter, errorId))
        {
            var r = Run(script, value);
            var shown = Show(value);
            if (r.Terminating is null && r.Errors.Count == 0) { failures.Add($"'{shown}': accepted"); continue; }
            var id = r.ErrorId ?? "";
            var error = r.Error;
            // The parameter the error names, or one of its aliases (New-NdppdConfig's renderer names its option Interface).
            var named = error.Exception is DindException d ? d.ParameterName : null;
            if (!id.StartsWith(errorId + ",", StringComparison.Ordinal) || (named != parameter && !aliases.Contains(named ?? "")))
                failures.Add($"'{shown}': {id} (parameter {named ?? "?"}): {Show(error.ToString())}");
            if (r.Output.Count > 0) failures.Add($"'{shown}': wrote {r.Output.Count} object(s)");
        }
        Assert.True(Directory.GetFileSystemEntries(_work).Length == 0, $"{cmdlet} -{parameter} created {string.Join(", ", Directory.GetFileSystemEntries(_work))}");
        Assert.True(failures.Count == 0, $"{cmdlet} -{parameter}:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void ValidValuesGetPastValidationToDocker()
    {
        // The other side of the rules: with good values the same cmdlets reach Docker (and fail there, as there is none).
        foreach (var script in new[]
        {
            "Get-DindNode lab lab-node-*", "Invoke-DindCommand lab lab-node-12 printf '%s' 'a; rm -rf /' '$(id)'", "Copy-DindImage lab registry.example:5000/team/app:v2 -NodeName lab-node-1",
            "Get-DindCluster 'it-*'", "Test-DindCluster lab -ProbeName www.example.test -ProbeUrl http://www.example.test/", "Set-Dns64 lab -Dns64Upstream 2001:db8::53",
            "Export-DindLog lab -Path '../lab logs; $(id)'",
        })
        {
            var r = Run(script, "");
            Assert.True(r.ErrorId?.StartsWith("DockerUnreachable,", StringComparison.Ordinal), $"{script}: {r.ErrorId} {r.Terminating?.Message}");
        }
        Assert.Empty(Directory.GetFileSystemEntries(_work));
    }

    [Fact]
    public void WhatIfRefusesHostileNamesToo()
    {
        // Validation comes before ShouldProcess: -WhatIf does not print a plan for a name that could never be used.
        foreach (var script in new[] { "Remove-DindCluster $v -WhatIf", "Start-DindCluster $v -WhatIf", "Export-DindLog $v -WhatIf", "Add-DindNode $v -WhatIf", "Reset-DindCluster $v -WhatIf" })
        {
            var r = Run(script, "../../tmp/x; id");
            Assert.StartsWith("InvalidClusterName,", r.ErrorId);
        }
    }

    [Fact]
    public void MessagesShowHostileValuesEscapedAndCut()
    {
        var r = Run("Stop-DindCluster $v", "lab\u001b]0;pwned\u0007\n" + new string('x', 10_000));
        var message = r.Error.Exception.Message;
        Assert.StartsWith("ClusterName: ", message);
        Assert.DoesNotContain('\u001b', message);
        Assert.DoesNotContain('\n', message);
        Assert.True(message.Length < 600, $"{message.Length} characters");
    }

    [Fact]
    public void EveryNameTypeParameterOfEveryExportedCmdletIsCovered()
    {
        // String parameters of the exported cmdlets, less common parameters; each is either fed hostile values above or
        // listed here with the reason it is not a name, prefix, image, path or probe.
        var exempt = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Invoke-DindCommand -Command"] = "the argv itself: passed to the node as a list, one string per argument (LeastPrivilegeTests checks it arrives intact)",
            ["Invoke-DindCommand -InputText"] = "bytes for the program's standard input",
            ["Build-DindImage -Role"] = "ValidateSet",
            ["New-DindCluster -Cni"] = "ValidateSet",
            ["New-DindClusterSpec -Cni"] = "checked by the spec rules (InvalidCni)",
            ["Enable-DockerIpv6 -DaemonCommand"] = "the daemon's argv, passed as separate arguments after a fixed script",
            ["Set-DockerIpv6Prefix -DaemonCommand"] = "the daemon's argv, passed as separate arguments after a fixed script",
            ["Enable-DockerIpv6 -DockerHost"] = "an endpoint URI parsed by DockerEndpoint (DockerHostInvalid)",
            ["Set-DockerIpv6Prefix -DockerHost"] = "an endpoint URI parsed by DockerEndpoint (DockerHostInvalid)",
            ["Enable-DockerIpv6 -DockerVersion"] = "parsed as a version; only compared",
            ["Set-DockerIpv6Prefix -DockerVersion"] = "parsed as a version; only compared",
            ["Set-DockerIpv6Prefix -PidFile"] = "the same base-class check as Enable-DockerIpv6 -PidFile",
            ["Set-DockerIpv6Prefix -DaemonLogPath"] = "the same base-class check as Enable-DockerIpv6 -DaemonLogPath",
        };
        var covered = ((IEnumerable<object[]>)Cases).Select(c => $"{((string)c[0]).Split(' ')[0]} -{c[1]}").ToHashSet(StringComparer.Ordinal);
        var r = _ps.Run("""
            $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
            Get-Command -Module Ipv6Dind | ForEach-Object {
                $cmd = $_
                $cmd.Parameters.Values | Where-Object { $_.Name -notin $common -and ($_.ParameterType -eq [string] -or $_.ParameterType -eq [string[]]) } |
                    ForEach-Object { "$($cmd.Name) -$($_.Name)" }
            }
            """);
        r.AssertSuccess();
        var all = r.Output.Select(o => o.ToString()).ToList();
        Assert.True(all.Count > 40, $"only {all.Count} string parameters found");
        var missing = all.Where(p => !covered.Contains(p) && !exempt.ContainsKey(p)).ToList();
        Assert.True(missing.Count == 0, "string parameters without hostile-input cases:\n" + string.Join("\n", missing));
    }
}
