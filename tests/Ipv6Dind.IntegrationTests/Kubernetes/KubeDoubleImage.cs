using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Images;

namespace Ipv6Dind.IntegrationTests.Kubernetes;

/// <summary>
/// The TEST DOUBLE image: the product's node image plus stand-ins for kubeadm, kubelet, kubectl and ctr from
/// tests/doubles/kubernetes (copied beside the test assembly by the project file). Built through the same
/// <see cref="IDockerApi.BuildImageAsync"/> as the product's images, with host networking and the mirror in
/// /etc/hosts so apt reaches the Debian mirror; tagged by a hash of the folder's files and the base image, so a
/// second run finds it. Never pushed, never shipped: it exists only for tests.
/// </summary>
public static class KubeDoubleImage
{
    public const string Repository = "ipv6dind-test/kube-double";
    public const string TestDoubleLabel = "io.ipv6dind.test-double";

    /// <summary>What /kind/version says unless a test writes another (the Dockerfile's KUBERNETES_VERSION default).</summary>
    public const string DefaultVersion = "v1.31.2";

    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>tests/doubles/kubernetes as copied into the test output.</summary>
    public static string SourceDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "doubles", "kubernetes");

    /// <summary>
    /// The image reference, building it first when no image with this hash exists. Makes sure the base node image
    /// exists too (a cache check when it does).
    /// </summary>
    /// <param name="baseImage">
    /// The image the double layer goes on: by default the module's network node image; the Kubernetes lab tests pass
    /// the product's kubernetes-node image (systemd, containerd), built from the doubles' scripts directory.
    /// </param>
    /// <summary>
    /// The product's kubernetes-node image (real systemd and containerd) built from the doubles' scripts through
    /// Build-DindImage -KubernetesBinaryPath's code, with the double layer on top: what the Kubernetes lab tests run.
    /// </summary>
    public static async Task<string> EnsureKubernetesNodeAsync(IDockerApi docker)
    {
        using var held = await HoldAsync(CancellationToken.None);
        var ctx = new OperationContext(CancellationToken.None, new Progress<DindProgress>(), NullLog.Instance);
        var product = await new ImageBuilder(docker, ctx).EnsureKubernetesNodeImageAsync(
            Path.Combine(SourceDirectory, "scripts"), DefaultVersion, force: false);
        return await EnsureHeldAsync(docker, CancellationToken.None, product.Reference);
    }

    public static async Task<string> EnsureAsync(IDockerApi docker, CancellationToken ct, string? baseImage = null)
    {
        using var held = await HoldAsync(ct);
        return await EnsureHeldAsync(docker, ct, baseImage);
    }

    /// <summary>
    /// The images are built once for all test processes: tests/run runs the fault sweep in a process of its own
    /// beside the other tests, and both build these images on first use. <see cref="Gate"/> orders this process's
    /// callers; an exclusive open of a lock file in a root-only folder (flock, which .NET takes for FileShare.None)
    /// orders the processes; the second finds the image built.
    /// </summary>
    private static async Task<IDisposable> HoldAsync(CancellationToken ct)
    {
        await Gate.WaitAsync(ct);
        try
        {
            Directory.CreateDirectory(LockFolder);
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(30);
            while (true)
            {
                try
                {
                    var file = new FileStream(Path.Combine(LockFolder, "kube-double-image.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                    return new Held(file);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
                }
            }
        }
        catch
        {
            Gate.Release();
            throw;
        }
    }

    private const string LockFolder = "/run/ipv6dind-tests";

    private sealed class Held(FileStream file) : IDisposable
    {
        public void Dispose()
        {
            file.Dispose();
            Gate.Release();
        }
    }

    private static async Task<string> EnsureHeldAsync(IDockerApi docker, CancellationToken ct, string? baseImage)
    {
        var builder = new ImageBuilder(docker, new OperationContext(ct, new Progress<DindProgress>(), NullLog.Instance));
        if (baseImage is null)
        {
            baseImage = ImageBuilder.ReferenceFor("node");
            await builder.EnsureImagesAsync(new[] { "node" }, force: false);
        }
        var baseId = (await docker.InspectImageAsync(baseImage, ct))?.Id
            ?? throw new InvalidOperationException($"The base image {baseImage} of the kubeadm double is missing.");
        var files = SourceFiles();
        var hash = Hash(files, baseImage + "@" + baseId);
        var reference = $"{Repository}:{hash[..16]}";
        if (await docker.InspectImageAsync(reference, ct) is not null) return reference;

        using var context = Context(files);
        await docker.BuildImageAsync(context, reference, new ImageBuildOptions
        {
            BuildArgs = new Dictionary<string, string> { ["BASE"] = baseImage, ["KUBERNETES_VERSION"] = DefaultVersion },
            // The node image's recipe label would otherwise be inherited and describe the wrong recipe.
            Labels = new Dictionary<string, string> { [TestDoubleLabel] = "true", [ImageRecipes.RecipeLabel] = hash },
            NetworkMode = "host",
            ExtraHosts = await builder.MirrorHostsAsync(),
        }, ct);
        return reference;
    }

    /// <summary>(path relative to the folder with '/' separators, bytes), sorted, without Python byte-code.</summary>
    private static IReadOnlyList<(string Path, byte[] Content)> SourceFiles()
    {
        if (!Directory.Exists(SourceDirectory))
            throw new DirectoryNotFoundException($"{SourceDirectory} is missing; the test project copies tests/doubles/kubernetes there.");
        return Directory.EnumerateFiles(SourceDirectory, "*", SearchOption.AllDirectories)
            .Select(f => (Path: Path.GetRelativePath(SourceDirectory, f).Replace('\\', '/'), File: f))
            .Where(f => !f.Path.Contains("__pycache__") && !f.Path.EndsWith(".pyc", StringComparison.Ordinal))
            .OrderBy(f => f.Path, StringComparer.Ordinal)
            .Select(f => (f.Path, File.ReadAllBytes(f.File)))
            .ToList();
    }

    private static string Hash(IReadOnlyList<(string Path, byte[] Content)> files, string baseImage)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(baseImage + "\n" + DefaultVersion + "\n"));
        foreach (var (path, content) in files)
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"{path}\n{content.Length}\n"));
            sha.AppendData(content);
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    private static MemoryStream Context(IReadOnlyList<(string Path, byte[] Content)> files)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (path, content) in files)
            {
                var executable = path.StartsWith("scripts/", StringComparison.Ordinal);
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path)
                {
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead
                        | (executable ? UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute : 0),
                    ModificationTime = DateTimeOffset.UnixEpoch,
                    DataStream = new MemoryStream(content),
                });
            }
        }
        tar.Position = 0;
        return tar;
    }
}
