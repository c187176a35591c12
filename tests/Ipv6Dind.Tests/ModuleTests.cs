using System.Management.Automation;
using System.Management.Automation.Language;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Ipv6Dind.Tests;

/// <summary>The module as a whole: manifest, conventions every cmdlet follows, dependency isolation, shipped scripts.</summary>
public sealed class ModuleTests : IClassFixture<ModuleFixture>
{
    private readonly ModuleSession _ps;
    public ModuleTests(ModuleFixture fixture) => _ps = fixture.Session;

    private List<CmdletInfo> Cmdlets()
    {
        var r = _ps.Run("Get-Command -Module Ipv6Dind -CommandType Cmdlet");
        r.AssertSuccess();
        return r.All<CmdletInfo>().ToList();
    }

    private static readonly HashSet<string> ApprovedVerbs = new(
        new[] { typeof(VerbsCommon), typeof(VerbsData), typeof(VerbsLifecycle), typeof(VerbsDiagnostic), typeof(VerbsCommunications), typeof(VerbsSecurity), typeof(VerbsOther) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Select(f => (string)f.GetValue(null)!));

    [Fact]
    public void ManifestIsValidAndMatchesTheBuildVersion()
    {
        var r = _ps.Run($"Test-ModuleManifest -Path '{Repo.ModuleManifest}'");
        r.AssertSuccess();
        var info = r.Single<PSModuleInfo>();
        var props = File.ReadAllText(Path.Combine(Repo.Root, "Directory.Build.props"));
        var version = Regex.Match(props, "<VersionPrefix>([^<]+)</VersionPrefix>").Groups[1].Value;
        Assert.Equal(version, info.Version.ToString(3));
        Assert.Equal(new Version(7, 4), info.PowerShellVersion);
        Assert.Contains("Core", info.CompatiblePSEditions);
        Assert.NotEmpty(info.Tags);
        Assert.False(string.IsNullOrWhiteSpace(info.ReleaseNotes));
    }

    [Fact]
    public void ManifestExportsExactlyTheCmdletsTheAssemblyHas()
    {
        var exported = Cmdlets().Select(c => c.Name).OrderBy(n => n).ToList();
        var classes = Assembly.LoadFrom(Path.Combine(Repo.Root, "out", "Ipv6Dind", "bin", "Ipv6Dind.dll")).GetExportedTypes()
            .Select(t => t.GetCustomAttribute<CmdletAttribute>())
            .Where(a => a is not null)
            .Select(a => $"{a!.VerbName}-{a.NounName}")
            .OrderBy(n => n).ToList();
        Assert.Equal(classes, exported);
        Assert.True(exported.Count >= 10);
    }

    [Fact]
    public void EveryCmdletUsesAnApprovedVerbAndDeclaresItsOutputType()
    {
        foreach (var cmdlet in Cmdlets())
        {
            Assert.True(ApprovedVerbs.Contains(cmdlet.Verb), $"{cmdlet.Name}: '{cmdlet.Verb}' is not an approved verb");
            Assert.True(cmdlet.OutputType.Count > 0, $"{cmdlet.Name} declares no [OutputType]");
            Assert.All(cmdlet.OutputType, t => Assert.NotNull(t.Type));
        }
    }

    [Fact]
    public void CmdletsThatWriteFilesSupportShouldProcess()
    {
        foreach (var cmdlet in Cmdlets().Where(c => c.Parameters.ContainsKey("OutputDirectory") || c.Verb == "Export"))
            Assert.True(cmdlet.Parameters.ContainsKey("WhatIf") && cmdlet.Parameters.ContainsKey("Confirm"), $"{cmdlet.Name} writes files without ShouldProcess");
    }

    [Fact]
    public void PublicTypesComeOnlyFromTheModelOrTheFramework()
    {
        // Parameter and output types are part of the API and must load in PowerShell's default context:
        // never the isolated core, never a third-party assembly (Docker.DotNet, YamlDotNet, IPNetwork2, …).
        foreach (var cmdlet in Cmdlets())
        {
            var types = cmdlet.Parameters.Values.Select(p => p.ParameterType).Concat(cmdlet.OutputType.Select(o => o.Type!));
            foreach (var type in types)
            {
                var element = type.IsArray ? type.GetElementType()! : type;
                var assembly = element.Assembly.GetName().Name!;
                Assert.True(assembly is "Ipv6Dind.Model" or "System.Private.CoreLib" or "System.Management.Automation" or "System.Runtime" || assembly.StartsWith("System.", StringComparison.Ordinal),
                    $"{cmdlet.Name} exposes {type.FullName} from {assembly}");
            }
        }
    }

    [Fact]
    public void CoreDependenciesLoadInTheModulesOwnContext()
    {
        // Import-DindClusterSpec needs YamlDotNet; after it ran, YamlDotNet and the core must live in the
        // "Ipv6Dind" load context, not in the default one where pwsh and other modules load theirs.
        var dir = Directory.CreateTempSubdirectory("ipv6dind-alc-").FullName;
        try
        {
            var file = Path.Combine(dir, "s.yaml");
            _ps.Run($"New-DindClusterSpec lab -SkipHostCheck | Export-DindClusterSpec '{file}'; Import-DindClusterSpec '{file}' -SkipHostCheck").AssertSuccess();
            var r = _ps.Run("[AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -in 'YamlDotNet','Ipv6Dind.Core','System.Net.IPNetwork','Ipv6Dind','Ipv6Dind.Model' } | ForEach-Object { $_.GetName().Name + '=' + [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name }");
            r.AssertSuccess();
            var contexts = r.Output.Select(o => o.ToString()!).ToList();
            Assert.Contains("YamlDotNet=Ipv6Dind", contexts);
            Assert.Contains("Ipv6Dind.Core=Ipv6Dind", contexts);
            Assert.Contains("System.Net.IPNetwork=Ipv6Dind", contexts);
            Assert.Contains("Ipv6Dind=Default", contexts);
            Assert.Contains("Ipv6Dind.Model=Default", contexts);
            Assert.DoesNotContain("YamlDotNet=Default", contexts);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AboutTopicIsThere()
    {
        var r = _ps.Run("Get-Help about_Ipv6Dind | ForEach-Object { \"$_\" }");
        r.AssertSuccess();
        var text = string.Join("\n", r.Output.Select(o => o.ToString()));
        Assert.Contains("DNS64", text);
        Assert.Contains("conntrack", text);
    }

    public static IEnumerable<object[]> ShippedScripts() =>
        new[] { "build.ps1" }
            .Concat(Directory.EnumerateFiles(Path.Combine(Repo.Root, "examples"), "*.ps1", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(Repo.Root, p)))
            .Concat(Directory.EnumerateFiles(Path.Combine(Repo.Root, "tests", "pester"), "*.ps1", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(Repo.Root, p)))
            .Select(p => new object[] { p });

    [Theory]
    [MemberData(nameof(ShippedScripts))]
    public void EveryShippedScriptParses(string relativePath)
    {
        Parser.ParseFile(Path.Combine(Repo.Root, relativePath), out _, out var errors);
        Assert.True(errors.Length == 0, $"{relativePath}: " + string.Join("; ", errors.Select(e => $"line {e.Extent.StartLineNumber}: {e.Message}")));
    }

    [Fact]
    public void ThereAreShippedScriptsToCheck()
    {
        Assert.Contains(ShippedScripts(), s => ((string)s[0]).StartsWith("examples"));
        Assert.Contains(ShippedScripts(), s => ((string)s[0]).StartsWith("tests"));
    }
}
