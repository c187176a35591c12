using System.Reflection;
using System.Runtime.Loader;
using Ipv6Dind.FakeKubeApi;

namespace Ipv6Dind.Kubernetes.Tests;

/// <summary>
/// KubernetesClient as the module loads it: Ipv6Dind.Core and its dependencies from out/Ipv6Dind/bin/deps in a
/// load context of their own (the pattern of src/Ipv6Dind/LoadContext.cs), the BCL and Ipv6Dind.Model from the
/// default one. A dependency the build does not copy to deps/, or one that resolves by name in the default
/// context, fails here.
/// </summary>
public sealed class LoadContextTests
{
    private sealed class DepsContext(string depsDir) : AssemblyLoadContext("Ipv6Dind-test", isCollectible: false)
    {
        protected override Assembly? Load(AssemblyName assemblyName)
        {
            var path = Path.Combine(depsDir, assemblyName.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }

    private static string DepsDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ipv6Dind.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return Path.Combine(dir.FullName, "out", "Ipv6Dind", "bin", "deps");
    }

    [Fact]
    public async Task KubernetesClient_works_from_the_modules_own_load_context()
    {
        var deps = DepsDir();
        Assert.True(File.Exists(Path.Combine(deps, "KubernetesClient.dll")), $"{deps} has no KubernetesClient.dll; build src/Ipv6Dind first");
        await using var fake = await FakeKubeApiServer.StartWithNodesAsync(["lab-control-plane", "lab-worker"]);
        var context = new DepsContext(deps);

        var core = context.LoadFromAssemblyPath(Path.Combine(deps, "Ipv6Dind.Core.dll"));
        var factory = core.GetType("Ipv6Dind.Core.Kubernetes.KubernetesApiFactory", throwOnError: true)!;
        var api = (IDisposable)factory.GetMethod("FromKubeconfig")!.Invoke(null, [fake.ClientCertificateKubeconfig, null, null])!;
        using (api)
        {
            var task = (Task)api.GetType().GetMethod("GetNodesAsync")!.Invoke(api, [CancellationToken.None])!;
            await task;
            var nodes = (System.Collections.ICollection)task.GetType().GetProperty("Result")!.GetValue(task)!;
            Assert.Equal(2, nodes.Count);

            var wait = (Task)api.GetType().GetMethod("WaitForReadyAsync")!.Invoke(api,
                [new[] { "lab-control-plane", "lab-worker" }, TimeSpan.FromSeconds(20), null, CancellationToken.None])!;
            await wait;
            var configure = (Task<bool>)api.GetType().GetMethod("ConfigureCoreDnsAsync")!.Invoke(api, [".:53 {\n    forward . fd00:77:1::100\n}\n", CancellationToken.None])!;
            Assert.True(await configure);
        }

        var loadedHere = AssemblyLoadContext.GetLoadContext(core.GetType("Ipv6Dind.Core.Kubernetes.Kubeconfig")!.Assembly)!;
        Assert.Same(context, loadedHere);
        Assert.Contains(context.Assemblies, a => a.GetName().Name == "KubernetesClient");
        Assert.Contains(context.Assemblies, a => a.GetName().Name == "YamlDotNet");
        // The output types stay in the default context, as in the module.
        Assert.DoesNotContain(context.Assemblies, a => a.GetName().Name == "Ipv6Dind.Model");
    }
}
