using System.Formats.Tar;
using System.Reflection;
using System.Text;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Images;

/// <summary>Where an image build looks and keeps things. Defaults suit a Debian host run as root.</summary>
public sealed record ImageBuildSettings
{
    public static ImageBuildSettings Default { get; } = new();

    /// <summary>Holds base-&lt;hash12&gt;.tar (the packed debootstrap) and the scratch root file systems.</summary>
    public string CacheDirectory { get; init; } = "/var/cache/ipv6dind";
    /// <summary>Where debootstrap and tar are looked up (a PATH-style list); null: PATH plus the sbin directories.</summary>
    public string? ToolSearchPath { get; init; }
    /// <summary>apt sources read for the mirror of the suite, first match wins.</summary>
    public IReadOnlyList<string> AptSourceFiles { get; init; } = new[] { "/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list" };
    /// <summary>A mirror URL to use instead of the apt sources.</summary>
    public string? Mirror { get; init; }
    public TimeSpan DebootstrapTimeout { get; init; } = TimeSpan.FromMinutes(20);
    public TimeSpan TarTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Makes sure the role images (dns64, nat64, node) exist, building them offline from Debian packages when missing
/// or when their recipe changed: debootstrap → tar (cached under <see cref="ImageBuildSettings.CacheDirectory"/>) →
/// docker import as the base → one Dockerfile layer of apt packages per role, built with host networking so apt
/// reaches the mirror past the lab's egress guard. What Build-DindImage calls.
/// </summary>
public sealed partial class ImageBuilder
{
    private const string Activity = "Building Ipv6Dind images";

    private readonly IDockerApi _docker;
    private readonly OperationContext _ctx;
    private readonly ImageBuildSettings _settings;

    public ImageBuilder(IDockerApi docker, OperationContext ctx) : this(docker, ctx, ImageBuildSettings.Default) { }

    public ImageBuilder(IDockerApi docker, OperationContext ctx, ImageBuildSettings settings)
    {
        _docker = docker;
        _ctx = ctx;
        _settings = settings;
    }

    /// <summary>The module version in image tags: the core's informational version without its +commit suffix.</summary>
    public static string ModuleVersion { get; } = ReadModuleVersion();

    /// <summary>ipv6dind/&lt;role&gt;:&lt;module version&gt;.</summary>
    public static string ReferenceFor(string role) => $"ipv6dind/{ImageRecipes.Get(role).Role}:{ModuleVersion}";

    /// <summary>The recipe hash a role image carries in its io.ipv6dind.recipe label.</summary>
    public static string RecipeHashFor(string role) =>
        ImageRecipes.Hash(ImageRecipes.Get(role).Dockerfile(ImageRecipes.BaseReference()));

    private static string ReadModuleVersion()
    {
        var informational = typeof(ImageBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var version = informational ?? typeof(ImageBuilder).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        var plus = version.IndexOf('+');
        return plus >= 0 ? version[..plus] : version;
    }

    /// <summary>
    /// Builds what is missing or stale (all of <paramref name="roles"/> with <paramref name="force"/>) and reports
    /// every role: Built false means the image with the same recipe was already there.
    /// </summary>
    public async Task<IReadOnlyList<BuiltImage>> EnsureImagesAsync(IEnumerable<string> roles, bool force)
    {
        var ct = _ctx.Cancellation;
        // Validate every role before doing anything.
        var recipes = roles.Select(ImageRecipes.Get).Distinct().ToList();
        if (recipes.Count == 0) return Array.Empty<BuiltImage>();

        var baseReference = ImageRecipes.BaseReference();
        var results = new Dictionary<string, BuiltImage>();
        var toBuild = new List<(ImageRecipe Recipe, string Dockerfile, string Hash)>();
        Report("Checking images", 0);
        foreach (var recipe in recipes)
        {
            var reference = ReferenceFor(recipe.Role);
            var dockerfile = recipe.Dockerfile(baseReference);
            var hash = ImageRecipes.Hash(dockerfile);
            var existing = await _docker.InspectImageAsync(reference, ct).ConfigureAwait(false);
            if (!force && existing is not null && existing.Labels.TryGetValue(ImageRecipes.RecipeLabel, out var label) && label == hash)
            {
                _ctx.Log.Verbose($"{reference} is up to date (recipe {hash[..12]}).");
                results[recipe.Role] = new BuiltImage(recipe.Role, reference, existing.Id, Built: false);
            }
            else
            {
                _ctx.Log.Verbose(existing is null ? $"{reference} is missing." : force ? $"{reference} is rebuilt (-Rebuild)." : $"{reference} has another recipe; rebuilding.");
                toBuild.Add((recipe, dockerfile, hash));
            }
        }

        if (toBuild.Count > 0)
        {
            // Steps: base, then one per role; percentages follow them.
            var steps = toBuild.Count + 1;
            await EnsureBaseAsync(baseReference, force, steps).ConfigureAwait(false);
            var step = 1;
            foreach (var (recipe, dockerfile, hash) in toBuild)
            {
                var reference = ReferenceFor(recipe.Role);
                Report($"Building {reference}: apt-get install {string.Join(' ', recipe.Packages)}", 100 * step / steps);
                var id = await BuildRoleAsync(recipe, reference, dockerfile, hash).ConfigureAwait(false);
                results[recipe.Role] = new BuiltImage(recipe.Role, reference, id, Built: true);
                step++;
            }
        }

        _ctx.Progress.Report(new DindProgress(Activity, "Done", 100, Completed: true));
        return recipes.Select(r => results[r.Role]).ToList();
    }

    private void Report(string status, int percent)
    {
        _ctx.Log.Verbose(status);
        _ctx.Progress.Report(new DindProgress(Activity, status, percent));
    }

    // ---- base ------------------------------------------------------------------------------------------------

    private async Task EnsureBaseAsync(string baseReference, bool force, int steps)
    {
        var ct = _ctx.Cancellation;
        if (!force && await _docker.InspectImageAsync(baseReference, ct).ConfigureAwait(false) is not null)
        {
            _ctx.Log.Verbose($"{baseReference} is present.");
            return;
        }

        var hash12 = ImageRecipes.BaseHash()[..12];
        var tarball = Path.Combine(_settings.CacheDirectory, $"base-{hash12}.tar");
        if (File.Exists(tarball))
            _ctx.Log.Verbose($"Using the cached root file system {tarball}.");
        else
            await DebootstrapAsync(tarball, hash12, steps).ConfigureAwait(false);

        Report($"Importing {baseReference} from {tarball}", 100 / steps / 2);
        await using var stream = new FileStream(tarball, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        await _docker.ImportImageAsync(stream, baseReference, ct, new SyncLog(_ctx.Log)).ConfigureAwait(false);
    }

    private async Task DebootstrapAsync(string tarball, string hash12, int steps)
    {
        var ct = _ctx.Cancellation;
        var tools = new ToolRunner(_settings.ToolSearchPath ?? ToolRunner.DefaultSearchPath(), _ctx.Log);
        // Tools first: a missing one is the likeliest problem and the cheapest to report.
        tools.Find("debootstrap", "debootstrap");
        tools.Find("tar", "tar");
        if (!Environment.IsPrivilegedProcess)
            throw new DindException(ErrorIds.HostPermissionDenied, DindErrorCategory.PermissionDenied,
                "debootstrap needs root (it creates device nodes and chroots); run Build-DindImage as root.",
                target: "debootstrap", recommendedAction: "Run the command as root (sudo).");
        var mirror = ResolveMirror();

        Directory.CreateDirectory(_settings.CacheDirectory);
        var workspace = new RootfsWorkspace(Path.Combine(_settings.CacheDirectory, $"rootfs-{hash12}-{Guid.NewGuid():N}"[..40]), _ctx.Log);
        var partial = tarball + $".{Environment.ProcessId}.partial";
        try
        {
            Report($"debootstrap {ImageRecipes.Suite} ({ImageRecipes.Variant} + {string.Join(',', ImageRecipes.BasePackages)}) from {mirror}", 0);
            await tools.RunAsync("debootstrap", "debootstrap", ImageRecipes.DebootstrapArguments(workspace.Path, mirror),
                $"debootstrap of {ImageRecipes.Suite} from {mirror}", _settings.DebootstrapTimeout, ct).ConfigureAwait(false);

            foreach (var (path, content, mode) in ImageRecipes.BaseFiles) workspace.WriteFile(path, content, mode);
            foreach (var dir in ImageRecipes.BaseClearedDirectories) workspace.ClearFiles(dir);

            Report($"Packing the root file system into {tarball}", 100 / steps / 3);
            await tools.RunAsync("tar", "tar", ImageRecipes.TarArguments(workspace.Path, partial),
                "packing the root file system with tar", _settings.TarTimeout, ct).ConfigureAwait(false);
            // Renamed only when whole: an interrupted build never leaves a truncated cache behind.
            File.Move(partial, tarball, overwrite: true);
        }
        finally
        {
            if (File.Exists(partial)) File.Delete(partial);
            workspace.Delete();
        }
    }

    private string ResolveMirror()
    {
        if (!string.IsNullOrWhiteSpace(_settings.Mirror)) return _settings.Mirror;
        foreach (var file in _settings.AptSourceFiles)
        {
            if (!File.Exists(file)) continue;
            if (ImageRecipes.MirrorFromSources(File.ReadAllText(file)) is { } mirror) return mirror;
        }
        throw new DindException(ErrorIds.ImageBuildFailed, DindErrorCategory.ObjectNotFound,
            $"No Debian mirror for {ImageRecipes.Suite} is configured in {string.Join(" or ", _settings.AptSourceFiles)}; debootstrap needs one.",
            target: string.Join(", ", _settings.AptSourceFiles),
            recommendedAction: $"Add the {ImageRecipes.Suite} suite to /etc/apt/sources.list.d/debian.sources (URIs: <your mirror>).");
    }

    // ---- roles -----------------------------------------------------------------------------------------------

    private async Task<string> BuildRoleAsync(ImageRecipe recipe, string reference, string dockerfile, string hash)
    {
        using var context = BuildContext(dockerfile, recipe.CopiedFiles);
        return await BuildLabelledAsync(context, reference, recipe.Role, hash,
            $"at apt-get install {string.Join(' ', recipe.Packages)}",
            "Check that the Debian mirror answers (apt-get update on the host) and has these packages for " + ImageRecipes.Suite + ".").ConfigureAwait(false);
    }

    /// <summary>
    /// One image build with the module's labels (recipe hash, role, version), host networking and the mirror in
    /// /etc/hosts so RUN apt-get reaches it past the egress guard; returns the new image's id.
    /// </summary>
    private async Task<string> BuildLabelledAsync(Stream context, string reference, string role, string hash, string failedWhere, string recommendedAction)
    {
        var ct = _ctx.Cancellation;
        var options = new ImageBuildOptions
        {
            Labels = new Dictionary<string, string>
            {
                [ImageRecipes.RecipeLabel] = hash,
                [ImageRecipes.RoleLabel] = role,
                [ImageRecipes.VersionLabel] = ModuleVersion,
            },
            // RUN apt-get reaches the mirror from the host's own stack: the egress guard drops FORWARDed traffic only.
            NetworkMode = "host",
            ExtraHosts = await MirrorHostsAsync().ConfigureAwait(false),
        };
        try
        {
            await _docker.BuildImageAsync(context, reference, options, ct, new SyncLog(_ctx.Log)).ConfigureAwait(false);
        }
        catch (DindException e) when (e.ErrorId == ErrorIds.ImageBuildFailed)
        {
            throw new DindException(ErrorIds.ImageBuildFailed, DindErrorCategory.InvalidOperation,
                $"Building the {role} image ({reference}) failed {failedWhere}: {e.Message}",
                target: reference, inner: e, recommendedAction: recommendedAction);
        }
        var built = await _docker.InspectImageAsync(reference, ct).ConfigureAwait(false)
            ?? throw new DindException(ErrorIds.ImageBuildFailed, DindErrorCategory.InvalidOperation,
                $"The build of {reference} reported success but the image is not there.", target: reference);
        return built.Id;
    }

    /// <summary>
    /// The mirror's name with the addresses the host resolves it to, for the build's /etc/hosts. Needed because the
    /// daemon's --dns (here a lab-only resolver) is what build containers get in resolv.conf, even with host
    /// networking; the lookup itself is the host's, as apt on the host would make it. Best effort: without a
    /// known mirror the build goes with whatever resolv.conf the daemon gives.
    /// </summary>
    internal async Task<IReadOnlyList<string>> MirrorHostsAsync()
    {
        string mirror;
        try { mirror = ResolveMirror(); }
        catch (DindException e)
        {
            _ctx.Log.Verbose($"No mirror host for the build's /etc/hosts: {e.Message}");
            return Array.Empty<string>();
        }
        if (!Uri.TryCreate(mirror, UriKind.Absolute, out var uri) || uri.HostNameType != UriHostNameType.Dns) return Array.Empty<string>();
        try
        {
            var addresses = await System.Net.Dns.GetHostAddressesAsync(uri.DnsSafeHost, _ctx.Cancellation).ConfigureAwait(false);
            var hosts = addresses.Take(4).Select(a => $"{uri.DnsSafeHost}:{a}").ToList();
            _ctx.Log.Verbose($"Build containers resolve {uri.DnsSafeHost} through /etc/hosts: {string.Join(", ", addresses.Take(4))}.");
            return hosts;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new DindException(ErrorIds.ImageBuildFailed, DindErrorCategory.ConnectionError,
                $"The Debian mirror {mirror} cannot be resolved on this host ({e.Message}); apt-get in the image builds needs it.",
                target: mirror, inner: e, recommendedAction: "Check the host's DNS (getent hosts " + uri.DnsSafeHost + ") and the apt sources.");
        }
    }

    /// <summary>
    /// The build context: a tar holding the Dockerfile and the recipe's own files, from memory (nothing from disk is
    /// sent to the daemon). The classic builder's COPY keeps each entry's mode.
    /// </summary>
    internal static MemoryStream BuildContext(string dockerfile, IReadOnlyList<ImageFile>? files = null)
    {
        const UnixFileMode readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        const UnixFileMode executable = readable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content, mode) in new[] { ("Dockerfile", dockerfile, readable) }
                .Concat((files ?? Array.Empty<ImageFile>()).Select(f => (f.ContextName, f.Content, f.Executable ? executable : readable))))
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
                {
                    Mode = mode,
                    ModificationTime = DateTimeOffset.UnixEpoch,
                    DataStream = new MemoryStream(new UTF8Encoding(false).GetBytes(content)),
                });
            }
        }
        tar.Position = 0;
        return tar;
    }

    /// <summary>Build and import output lines to the debug log, in order.</summary>
    private sealed class SyncLog : IProgress<string>
    {
        private readonly IDindLog _log;
        public SyncLog(IDindLog log) => _log = log;
        public void Report(string value) => _log.Debug(value);
    }
}
