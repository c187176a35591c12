namespace Ipv6Dind.Core.Docker;

/// <summary>
/// The lab's view of Docker under Ctrl-C: a change that has started is let finish, bounded by its own time, and the
/// stop is honoured before the next call. The daemon does not know when a client gives up: a request cut off
/// mid-way (a create, a removal, a start, a route batch) is still carried out, a moment later - after the
/// operation's rollback has looked. The rollback can only undo what it knows, so the answer must come back.
/// <list type="bullet">
/// <item>settled: creates, starts, stops, removals, file uploads, and execs of the configuration tools (ip, ip6tables,
/// iptables, sysctl, tee), which finish in milliseconds;</item>
/// <item>cancellable as given: reads (nothing to undo), and every other exec (kubeadm, systemctl, dig, a user's
/// Invoke-DindCommand), which may run for minutes and whose late end changes nothing the rollback keeps;</item>
/// <item>image import, build and save are the image cmdlets' (cancellable as given).</item>
/// </list>
/// The fault sweep of tests/Ipv6Dind.Lab.Tests/FaultSweepTests.cs (kind CancelLate) carries a cut-off request out after
/// the operation returned, at every call.
/// </summary>
public sealed class SettlingDockerApi : IDockerApi
{
    /// <summary>How long a started change may take to finish after a stop (a daemon that takes longer is not answering).</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(30);

    private static readonly HashSet<string> ConfigurationTools = new(StringComparer.Ordinal) { "ip", "ip6tables", "iptables", "sysctl", "tee" };

    private readonly IDockerApi _inner;

    private SettlingDockerApi(IDockerApi inner) => _inner = inner;

    /// <summary><paramref name="docker"/> with its changes settled (itself when it already is).</summary>
    public static IDockerApi Wrap(IDockerApi docker) => docker as SettlingDockerApi ?? new SettlingDockerApi(docker);

    public string Endpoint => _inner.Endpoint;

    private static async Task<T> SettledAsync<T>(CancellationToken ct, Func<CancellationToken, Task<T>> change)
    {
        ct.ThrowIfCancellationRequested();
        using var bounded = new CancellationTokenSource(SettleTime);
        return await change(bounded.Token).ConfigureAwait(false);
    }

    private static Task SettledAsync(CancellationToken ct, Func<CancellationToken, Task> change) =>
        SettledAsync(ct, async t => { await change(t).ConfigureAwait(false); return true; });

    public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken ct) => _inner.GetDaemonInfoAsync(ct);
    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => _inner.ListNetworksAsync(labels, ct);
    public Task<string> CreateNetworkAsync(NetworkSpec spec, CancellationToken ct) => SettledAsync(ct, t => _inner.CreateNetworkAsync(spec, t));
    public Task RemoveNetworkAsync(string idOrName, CancellationToken ct) => SettledAsync(ct, t => _inner.RemoveNetworkAsync(idOrName, t));
    public Task<IReadOnlyList<ContainerInfo>> ListContainersAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => _inner.ListContainersAsync(labels, ct);
    public Task<ContainerInfo?> InspectContainerAsync(string idOrName, CancellationToken ct) => _inner.InspectContainerAsync(idOrName, ct);
    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct) => SettledAsync(ct, t => _inner.CreateContainerAsync(spec, t));
    public Task StartContainerAsync(string id, CancellationToken ct) => SettledAsync(ct, t => _inner.StartContainerAsync(id, t));
    public Task StopContainerAsync(string id, TimeSpan timeout, CancellationToken ct) => SettledAsync(ct, t => _inner.StopContainerAsync(id, timeout, t));
    public Task RemoveContainerAsync(string idOrName, CancellationToken ct) => SettledAsync(ct, t => _inner.RemoveContainerAsync(idOrName, t));
    public Task PutFileAsync(string id, string path, string content, int mode, CancellationToken ct) => SettledAsync(ct, t => _inner.PutFileAsync(id, path, content, mode, t));
    public Task<string?> GetFileAsync(string id, string path, CancellationToken ct) => _inner.GetFileAsync(id, path, ct);
    public Task<bool> PathExistsAsync(string id, string path, CancellationToken ct) => _inner.PathExistsAsync(id, path, ct);
    public Task<string> GetLogsAsync(string id, CancellationToken ct) => _inner.GetLogsAsync(id, ct);

    public Task<ExecResult> ExecAsync(string id, IReadOnlyList<string> argv, string? stdin, IReadOnlyDictionary<string, string>? environment, CancellationToken ct) =>
        argv.Count > 0 && ConfigurationTools.Contains(argv[0])
            ? SettledAsync(ct, t => _inner.ExecAsync(id, argv, stdin, environment, t))
            : _inner.ExecAsync(id, argv, stdin, environment, ct);

    public Task<ExecResult> ExecWithInputAsync(string id, IReadOnlyList<string> argv, Stream stdin, CancellationToken ct) => _inner.ExecWithInputAsync(id, argv, stdin, ct);
    public Task<string> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) => SettledAsync(ct, t => _inner.CreateVolumeAsync(name, labels, t));
    public Task<IReadOnlyList<string>> ListVolumesAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => _inner.ListVolumesAsync(labels, ct);
    public Task RemoveVolumeAsync(string name, CancellationToken ct) => SettledAsync(ct, t => _inner.RemoveVolumeAsync(name, t));
    public Task<ImageInfo?> InspectImageAsync(string reference, CancellationToken ct) => _inner.InspectImageAsync(reference, ct);
    public Task ImportImageAsync(Stream rootfsTar, string reference, CancellationToken ct, IProgress<string>? progress = null) => _inner.ImportImageAsync(rootfsTar, reference, ct, progress);
    public Task BuildImageAsync(Stream contextTar, string reference, ImageBuildOptions options, CancellationToken ct, IProgress<string>? progress = null) => _inner.BuildImageAsync(contextTar, reference, options, ct, progress);
    public Task RemoveImageAsync(string reference, CancellationToken ct) => SettledAsync(ct, t => _inner.RemoveImageAsync(reference, t));
    public Task SaveImagesAsync(IReadOnlyList<string> references, Stream destination, CancellationToken ct) => _inner.SaveImagesAsync(references, destination, ct);

    /// <summary>The lab does not own the client it was given: disposing the view leaves it open.</summary>
    public void Dispose() { }
}
