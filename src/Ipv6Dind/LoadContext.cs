using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace Ipv6Dind;

/// <summary>
/// Keeps the core's third-party dependencies (Docker.DotNet, YamlDotNet, KubernetesClient, IPNetwork2) out of
/// PowerShell's default load context, where another module or pwsh itself may have loaded other versions.
///
/// Layout: bin/Ipv6Dind.dll and bin/Ipv6Dind.Model.dll load in the default context (cmdlets, and the output
/// types that format views and scripts see); bin/deps/ holds Ipv6Dind.Core.dll and its dependencies, loaded in
/// the "Ipv6Dind" context. When the cmdlets first touch a core type, the default context fails to find
/// Ipv6Dind.Core and asks <see cref="Resolve"/>, which answers from the isolated context. Inside it, everything
/// found in deps/ loads privately; everything else (the BCL, Ipv6Dind.Model) falls back to the default context.
/// (The pattern of jborean93/PSOpenAD's LoadContext.cs.)
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly string BinDir = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!;

    public void OnImport() => AssemblyLoadContext.Default.Resolving += Resolve;

    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= Resolve;

    private static Assembly? Resolve(AssemblyLoadContext defaultContext, AssemblyName name)
    {
        if (name.Name == "Ipv6Dind.Core")
            return IsolatedLoadContext.Instance.LoadFromAssemblyName(name);
        // The shared output types sit beside this assembly; PowerShell does not probe module folders for us.
        if (name.Name == "Ipv6Dind.Model")
        {
            var path = Path.Combine(BinDir, "Ipv6Dind.Model.dll");
            return File.Exists(path) ? defaultContext.LoadFromAssemblyPath(path) : null;
        }
        return null;
    }

    private sealed class IsolatedLoadContext : AssemblyLoadContext
    {
        public static readonly IsolatedLoadContext Instance = new(Path.Combine(BinDir, "deps"));

        private readonly string _depsDir;

        private IsolatedLoadContext(string depsDir) : base("Ipv6Dind", isCollectible: false) => _depsDir = depsDir;

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            var path = Path.Combine(_depsDir, assemblyName.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }
}
