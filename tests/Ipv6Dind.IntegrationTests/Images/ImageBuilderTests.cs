using Ipv6Dind.TestSupport;
using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Images;
using Ipv6Dind.IntegrationTests.Docker;
using Xunit.Abstractions;

namespace Ipv6Dind.IntegrationTests.Images;

/// <summary>
/// The offline image build against the real daemon. The collection fixture has already made sure the role images
/// exist (a cold build takes about two minutes; later runs hit the cache). Tests that must not touch the real cache
/// point the builder at a scratch cache directory and a scratch tool path.
/// </summary>
[Collection("docker")]
public sealed class ImageBuilderTests
{
    private readonly DockerFixture _f;
    private readonly ITestOutputHelper _out;

    public ImageBuilderTests(DockerFixture fixture, ITestOutputHelper output)
    {
        _f = fixture;
        _out = output;
    }

    [Fact]
    public async Task Second_ensure_reports_every_role_cached_with_its_recipe_label()
    {
        var log = new ListLog();
        var progress = new ListProgress();
        var counting = new CountingDockerApi(_f.Api);
        var sw = Stopwatch.StartNew();
        var images = await new ImageBuilder(counting, new OperationContext(default, progress, log))
            .EnsureImagesAsync(new[] { "node", "dns64", "nat64", "node" }, force: false);
        _out.WriteLine($"warm EnsureImagesAsync: {sw.Elapsed.TotalMilliseconds:0} ms, {counting.Total} Docker calls; fixture's: {_f.ImageBuildTime.TotalSeconds:0.0} s");

        Assert.Equal(new[] { "node", "dns64", "nat64" }, images.Select(i => i.Role));
        Assert.All(images, i => Assert.False(i.Built));
        // Cached means only looked at: one inspect per role, nothing built or imported.
        Assert.Equal(3, counting.Total);
        Assert.Equal(3, counting.Calls["InspectImage"]);
        foreach (var image in images)
        {
            Assert.Equal($"ipv6dind/{image.Role}:{ImageBuilder.ModuleVersion}", image.Reference);
            Assert.Equal(ImageBuilder.ReferenceFor(image.Role), image.Reference);
            var inspected = await _f.Api.InspectImageAsync(image.Reference, default);
            Assert.NotNull(inspected);
            Assert.Equal(inspected.Id, image.Id);
            Assert.Equal(ImageBuilder.RecipeHashFor(image.Role), inspected.Labels[ImageRecipes.RecipeLabel]);
            Assert.Equal(image.Role, inspected.Labels[ImageRecipes.RoleLabel]);
            Assert.Equal(ImageBuilder.ModuleVersion, inspected.Labels[ImageRecipes.VersionLabel]);
        }
        Assert.Matches(@"^\d+\.\d+\.\d+", ImageBuilder.ModuleVersion);
        Assert.Contains(log.Lines, l => l.Contains("is up to date"));
        Assert.True(progress.Items.Last().Completed);
    }

    [Fact]
    public async Task Role_images_carry_their_tools_and_keep_daemons_from_starting_in_builds()
    {
        var checks = new (string Role, string[] Argv)[]
        {
            ("dns64", new[] { "sh", "-c", "command -v named && named -v && command -v dig" }),
            ("nat64", new[] { "sh", "-c", "command -v tayga && command -v ip && command -v iptables" }),
            ("node", new[] { "sh", "-c", "test -x /usr/lib/cni/bridge && test -x /usr/lib/cni/host-local && for t in ip ping curl dig ps modprobe iptables; do command -v $t || exit 1; done" }),
        };
        foreach (var (role, argv) in checks)
        {
            var name = $"{_f.Cluster}-img-{role}";
            try
            {
                var id = await _f.Api.CreateContainerAsync(new ContainerSpec(name, ImageBuilder.ReferenceFor(role), _f.Labels)
                {
                    // No network: the image's own files are what is checked. The image's CMD keeps it up.
                    Network = "none",
                    Init = true,
                }, default);
                await _f.Api.StartContainerAsync(id, default);
                var result = await _f.Api.ExecAsync(id, argv, null, null, default);
                Assert.True(result.Succeeded, $"{role}: {result.StandardOutput}{result.StandardError}");
                var policy = await _f.Api.GetFileAsync(id, "/usr/sbin/policy-rc.d", default);
                Assert.Contains("exit 101", policy);
            }
            finally
            {
                await _f.Api.RemoveContainerAsync(name, default);
            }
        }
    }

    [Fact]
    public async Task Missing_debootstrap_is_ImageToolMissing_and_touches_nothing()
    {
        var tools = Directory.CreateTempSubdirectory("ipv6dind-it-tools-");
        var cache = Directory.CreateTempSubdirectory("ipv6dind-it-cache-");
        try
        {
            var before = await _f.Api.InspectImageAsync(ImageBuilder.ReferenceFor("node"), default);
            var settings = new ImageBuildSettings { ToolSearchPath = tools.FullName, CacheDirectory = cache.FullName };
            // Force: skip the image caches, and the scratch cache has no tarball, so debootstrap would be needed.
            var e = await Assert.ThrowsAsync<DindException>(() =>
                new ImageBuilder(_f.Api, OperationContext.None, settings).EnsureImagesAsync(new[] { "node" }, force: true));

            Assert.Equal(ErrorIds.ImageToolMissing, e.ErrorId);
            Assert.Equal(DindErrorCategory.NotInstalled, e.Category);
            Assert.Equal("debootstrap", e.Target);
            Assert.Contains("apt-get install debootstrap", e.Message);
            Assert.Contains(tools.FullName, e.Message);
            Assert.Empty(cache.EnumerateFileSystemInfos());
            Assert.Equal(before?.Id, (await _f.Api.InspectImageAsync(ImageBuilder.ReferenceFor("node"), default))?.Id);
        }
        finally
        {
            tools.Delete(true);
            cache.Delete(true);
        }
    }

    [Fact]
    public async Task Failing_debootstrap_is_ImageBuildFailed_with_its_last_lines_and_leaves_no_scratch()
    {
        var tools = Directory.CreateTempSubdirectory("ipv6dind-it-tools-");
        var cache = Directory.CreateTempSubdirectory("ipv6dind-it-cache-");
        try
        {
            // A stand-in debootstrap that fails the way a missing package does.
            WriteScript(Path.Combine(tools.FullName, "debootstrap"),
                "#!/bin/sh\necho \"I: Retrieving InRelease\"\necho \"E: Couldn't find these debs: no-such-package\" >&2\nexit 1\n");
            var settings = new ImageBuildSettings { ToolSearchPath = $"{tools.FullName}:/usr/bin:/bin", CacheDirectory = cache.FullName, Mirror = "http://mirror.invalid/debian" };
            var e = await Assert.ThrowsAsync<DindException>(() =>
                new ImageBuilder(_f.Api, OperationContext.None, settings).EnsureImagesAsync(new[] { "node" }, force: true));

            Assert.Equal(ErrorIds.ImageBuildFailed, e.ErrorId);
            Assert.Contains("debootstrap", e.Message);
            Assert.Contains("exited with 1", e.Message);
            Assert.Contains("E: Couldn't find these debs: no-such-package", e.Message);
            Assert.Empty(cache.EnumerateFileSystemInfos());
        }
        finally
        {
            tools.Delete(true);
            cache.Delete(true);
        }
    }

    [Fact]
    public async Task Cancelling_kills_debootstrap_and_its_children()
    {
        var tools = Directory.CreateTempSubdirectory("ipv6dind-it-tools-");
        var cache = Directory.CreateTempSubdirectory("ipv6dind-it-cache-");
        var marker = Random.Shared.Next(100_000, 999_999).ToString();
        try
        {
            // A stand-in that forks a child (as debootstrap forks dpkg) and waits.
            WriteScript(Path.Combine(tools.FullName, "debootstrap"), $"#!/bin/sh\nsleep {marker}1 &\nsleep {marker}2\n");
            var settings = new ImageBuildSettings { ToolSearchPath = $"{tools.FullName}:/usr/bin:/bin", CacheDirectory = cache.FullName, Mirror = "http://mirror.invalid/debian" };
            using var cts = new CancellationTokenSource();
            var ctx = new OperationContext(cts.Token, new ListProgress(), NullLog.Instance);
            var build = new ImageBuilder(_f.Api, ctx, settings).EnsureImagesAsync(new[] { "node" }, force: true);

            for (var i = 0; i < 100 && SleepersWith(marker).Count < 2; i++) await Task.Delay(50);
            Assert.Equal(2, SleepersWith(marker).Count);
            var sw = Stopwatch.StartNew();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => build);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
            Assert.Empty(SleepersWith(marker));
            Assert.Empty(cache.EnumerateFileSystemInfos());
        }
        finally
        {
            foreach (var pid in SleepersWith(marker)) { try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } }
            tools.Delete(true);
            cache.Delete(true);
        }
    }

    [Fact]
    public async Task Build_failure_surfaces_the_daemons_error_and_last_lines()
    {
        var reference = $"ipv6dind-it/{_f.Cluster}:fail";
        var dockerfile = $"FROM {ImageRecipes.BaseReference()}\nRUN echo about to fail && apt-get install -y --no-install-recommends no-such-package-ipv6dind\n";
        using var context = ImageBuilder.BuildContext(dockerfile);
        var lines = new List<string>();
        var e = await Assert.ThrowsAsync<DindException>(() => _f.Api.BuildImageAsync(context, reference,
            new ImageBuildOptions { NetworkMode = "none", Labels = _f.Labels }, default, new SyncProgress(lines.Add)));

        Assert.Equal(ErrorIds.ImageBuildFailed, e.ErrorId);
        Assert.Contains("returned a non-zero code", e.Message);
        Assert.Contains("Unable to locate package no-such-package-ipv6dind", e.Message);
        Assert.DoesNotContain("\u001b[", e.Message);
        Assert.Contains(lines, l => l.Contains("about to fail"));
        Assert.Null(await _f.Api.InspectImageAsync(reference, default));
    }

    [Fact]
    public async Task Build_and_import_then_remove_twice()
    {
        var built = $"ipv6dind-it/{_f.Cluster}:built";
        var imported = $"ipv6dind-it/{_f.Cluster}:imported";
        try
        {
            using (var context = ImageBuilder.BuildContext($"FROM {ImageRecipes.BaseReference()}\nRUN echo built > /built\n"))
                await _f.Api.BuildImageAsync(context, built, new ImageBuildOptions { NetworkMode = "none", Labels = _f.Labels }, default);
            var image = await _f.Api.InspectImageAsync(built, default);
            Assert.NotNull(image);
            Assert.Contains(built, image.Tags);
            Assert.Equal(_f.Cluster, image.Labels[DockerFixture.LabelKey]);

            // A one-file root file system through the import endpoint (the base image goes the same way).
            using (var rootfs = new MemoryStream())
            {
                using (var writer = new TarWriter(rootfs, TarEntryFormat.Pax, leaveOpen: true))
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "hello.txt") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("hi\n")) });
                rootfs.Position = 0;
                var lines = new List<string>();
                await _f.Api.ImportImageAsync(rootfs, imported, default, new SyncProgress(lines.Add));
                Assert.Contains(lines, l => l.StartsWith("sha256:", StringComparison.Ordinal));
            }
            Assert.NotNull(await _f.Api.InspectImageAsync(imported, default));

            // Not a tar at all: the daemon's refusal arrives as an error, not as an image.
            using var garbage = new MemoryStream(Encoding.UTF8.GetBytes("this is not a tar archive"));
            var e = await Assert.ThrowsAsync<DindException>(() => _f.Api.ImportImageAsync(garbage, $"ipv6dind-it/{_f.Cluster}:garbage", default));
            Assert.Equal(ErrorIds.DockerApiError, e.ErrorId);
        }
        finally
        {
            await _f.Api.RemoveImageAsync(built, default);
            await _f.Api.RemoveImageAsync(built, default);
            await _f.Api.RemoveImageAsync(imported, default);
            await _f.Api.RemoveImageAsync($"ipv6dind-it/{_f.Cluster}:garbage", default);
        }
        Assert.Null(await _f.Api.InspectImageAsync(built, default));
        Assert.Null(await _f.Api.InspectImageAsync(imported, default));
    }

    [Fact]
    public async Task Unknown_role_is_rejected_before_anything_happens()
    {
        var counting = new CountingDockerApi(_f.Api);
        var e = await Assert.ThrowsAsync<DindException>(() =>
            new ImageBuilder(counting, OperationContext.None).EnsureImagesAsync(new[] { "node", "kubelet" }, force: false));
        Assert.Equal(ErrorIds.ImageNotFound, e.ErrorId);
        Assert.Equal(DindErrorCategory.InvalidArgument, e.Category);
        Assert.Equal("kubelet", e.Target);
        Assert.Contains("dns64, nat64, node", e.Message);
        Assert.Equal(0, counting.Total);
        Assert.Throws<DindException>(() => ImageBuilder.ReferenceFor("kubelet"));
    }

    private static void WriteScript(string path, string text)
    {
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Pids of our stand-in's sleeps, found by their unique argument in /proc/*/cmdline.</summary>
    private static List<int> SleepersWith(string marker)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (cmdline.Length >= 2 && cmdline[0].EndsWith("sleep", StringComparison.Ordinal) && cmdline[1].StartsWith(marker, StringComparison.Ordinal))
                    pids.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return pids;
    }

    private sealed class ListLog : IDindLog
    {
        public List<string> Lines { get; } = new();
        public void Verbose(string message) { lock (Lines) Lines.Add(message); }
        public void Warning(string message) { lock (Lines) Lines.Add(message); }
        public void Debug(string message) { }
    }

    private sealed class ListProgress : IProgress<DindProgress>
    {
        public List<DindProgress> Items { get; } = new();
        public void Report(DindProgress value) { lock (Items) Items.Add(value); }
    }

    private sealed class SyncProgress : IProgress<string>
    {
        private readonly Action<string> _report;
        public SyncProgress(Action<string> report) => _report = report;
        public void Report(string value) { lock (this) _report(value); }
    }
}

/// <summary>Pure: the recipe texts and the apt sources parser (no daemon).</summary>
public sealed class ImageRecipeTests
{
    [Fact]
    public void Mirror_comes_from_the_deb822_paragraph_of_the_suite()
    {
        const string sources = """
            Types: deb
            # http://snapshot.example/archive/debian/20250520T000000Z
            URIs: http://deb.example.org/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: http://security.example.org/debian-security
            Suites: bookworm-security
            Components: main
            """;
        Assert.Equal("http://deb.example.org/debian", ImageRecipes.MirrorFromSources(sources));
        Assert.Equal("http://security.example.org/debian-security", ImageRecipes.MirrorFromSources(sources, "bookworm-security"));
        Assert.Null(ImageRecipes.MirrorFromSources(sources, "trixie"));
        Assert.Null(ImageRecipes.MirrorFromSources("Types: deb-src\nURIs: http://x/debian\nSuites: bookworm\n"));
        Assert.Null(ImageRecipes.MirrorFromSources("Types: deb\nURIs: http://x/debian\nSuites: bookworm\nEnabled: no\n"));
    }

    [Fact]
    public void Mirror_comes_from_a_one_line_sources_list()
    {
        const string list = """
            # deb http://commented.example/debian bookworm main
            deb-src http://src.example/debian bookworm main
            deb [arch=amd64 signed-by=/usr/share/keyrings/debian.gpg] http://list.example/debian bookworm main contrib
            """;
        Assert.Equal("http://list.example/debian", ImageRecipes.MirrorFromSources(list));
    }

    [Fact]
    public void Recipes_name_the_packages_and_hash_deterministically()
    {
        Assert.Equal(new[] { "dns64", "nat64", "node" }, ImageRecipes.Roles);
        var dockerfile = ImageRecipes.Get("dns64").Dockerfile("ipv6dind/base:abc");
        Assert.StartsWith("# Ipv6Dind dns64 image", dockerfile);
        Assert.Contains("FROM ipv6dind/base:abc\n", dockerfile);
        Assert.Contains("apt-get install -y --no-install-recommends bind9 bind9-dnsutils", dockerfile);
        Assert.Contains("rm -rf /var/lib/apt/lists/*", dockerfile);
        Assert.Contains("containernetworking-plugins", ImageRecipes.Node.Packages);
        Assert.Contains("tayga", ImageRecipes.Nat64.Packages);

        Assert.Equal(ImageRecipes.BaseHash(), ImageRecipes.Hash(ImageRecipes.BaseRecipeText()));
        Assert.Matches("^ipv6dind/base:[0-9a-f]{12}$", ImageRecipes.BaseReference());
        Assert.Matches("^[0-9a-f]{64}$", ImageBuilder.RecipeHashFor("node"));
        Assert.NotEqual(ImageBuilder.RecipeHashFor("node"), ImageBuilder.RecipeHashFor("dns64"));
        Assert.Contains("--variant=minbase --include=iproute2,iputils-ping,curl,bind9-dnsutils,procps,iptables,netbase bookworm <rootfs> <mirror>", ImageRecipes.BaseRecipeText());
        Assert.Equal(
            new[] { "--variant=minbase", "--include=iproute2,iputils-ping,curl,bind9-dnsutils,procps,iptables,netbase", "bookworm", "/r", "http://m/debian" },
            ImageRecipes.DebootstrapArguments("/r", "http://m/debian"));
    }
}
