using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.IntegrationTests.Faults;

/// <summary>What happens at the chosen call.</summary>
public enum FaultKind
{
    /// <summary>The call fails before it reaches the daemon (or the host command does not run).</summary>
    Fail,
    /// <summary>The call reaches the daemon and does its work, then its answer is lost (a dropped connection).</summary>
    LoseAnswer,
    /// <summary>Ctrl-C arrives during the call: the operation's token is cancelled as the call starts.</summary>
    Cancel,
}

/// <summary>
/// One numbering of every outside call an operation makes - Docker API calls (execs included) and host commands -
/// in the order they start, and the fault to inject at call <see cref="Target"/> (0: none, a clean counting run).
/// The sweep runs operations with parallelism 1, so that call k is the same call in every run.
/// </summary>
public sealed class FaultPlan
{
    private int _count;
    private readonly List<string> _calls = new();

    public FaultPlan(int target = 0, FaultKind kind = FaultKind.Fail, CancellationTokenSource? cancel = null)
    {
        Target = target;
        Kind = kind;
        Cancel = cancel;
    }

    public int Target { get; }
    public FaultKind Kind { get; }
    public CancellationTokenSource? Cancel { get; }
    public int Count => Volatile.Read(ref _count);
    /// <summary>The call at <see cref="Target"/>, once reached.</summary>
    public string? Hit { get; private set; }
    public IReadOnlyList<string> Calls { get { lock (_calls) return _calls.ToList(); } }

    public async Task<T> CallAsync<T>(string what, Func<CancellationToken, Task<T>> next, CancellationToken ct)
    {
        var n = Interlocked.Increment(ref _count);
        lock (_calls) _calls.Add($"{n} {what}");
        if (n != Target) return await next(ct).ConfigureAwait(false);
        Hit = what;
        switch (Kind)
        {
            case FaultKind.Fail:
                throw new DindException(ErrorIds.DockerApiError, DindErrorCategory.InvalidOperation, $"Injected failure at call {n} ({what}).", what);
            case FaultKind.LoseAnswer:
                await next(ct).ConfigureAwait(false);
                throw new DindException(ErrorIds.DockerUnreachable, DindErrorCategory.ConnectionError, $"Injected lost answer at call {n} ({what}): the call was done, its answer lost.", what);
            default:
                Cancel!.Cancel();
                return await next(ct).ConfigureAwait(false);
        }
    }

    public Task CallAsync(string what, Func<CancellationToken, Task> next, CancellationToken ct) =>
        CallAsync<bool>(what, async t => { await next(t).ConfigureAwait(false); return true; }, ct);
}

/// <summary>A Docker API whose every call goes through a <see cref="FaultPlan"/> (test code only).</summary>
public sealed class SweepDockerApi : IDockerApi
{
    private readonly IDockerApi _inner;
    private readonly FaultPlan _plan;

    public SweepDockerApi(IDockerApi inner, FaultPlan plan)
    {
        _inner = inner;
        _plan = plan;
    }

    public string Endpoint => _inner.Endpoint;

    private static string Short(string id) => id.Length > 12 && id.All(char.IsAsciiHexDigitLower) ? id[..12] : id;

    public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken ct) => _plan.CallAsync("GetDaemonInfo", t => _inner.GetDaemonInfoAsync(t), ct);
    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => _plan.CallAsync("ListNetworks", t => _inner.ListNetworksAsync(labels, t), ct);
    public Task<string> CreateNetworkAsync(NetworkSpec spec, CancellationToken ct) => _plan.CallAsync($"CreateNetwork {spec.Name}", t => _inner.CreateNetworkAsync(spec, t), ct);
    public Task RemoveNetworkAsync(string idOrName, CancellationToken ct) => _plan.CallAsync($"RemoveNetwork {Short(idOrName)}", t => _inner.RemoveNetworkAsync(idOrName, t), ct);
    public Task<IReadOnlyList<ContainerInfo>> ListContainersAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => _plan.CallAsync("ListContainers", t => _inner.ListContainersAsync(labels, t), ct);
    public Task<ContainerInfo?> InspectContainerAsync(string idOrName, CancellationToken ct) => _plan.CallAsync($"InspectContainer {Short(idOrName)}", t => _inner.InspectContainerAsync(idOrName, t), ct);
    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct) => _plan.CallAsync($"CreateContainer {spec.Name}", t => _inner.CreateContainerAsync(spec, t), ct);
    public Task StartContainerAsync(string id, CancellationToken ct) => _plan.CallAsync($"StartContainer {Short(id)}", t => _inner.StartContainerAsync(id, t), ct);
    public Task StopContainerAsync(string id, TimeSpan timeout, CancellationToken ct) => _plan.CallAsync($"StopContainer {Short(id)}", t => _inner.StopContainerAsync(id, timeout, t), ct);
    public Task RemoveContainerAsync(string idOrName, CancellationToken ct) => _plan.CallAsync($"RemoveContainer {Short(idOrName)}", t => _inner.RemoveContainerAsync(idOrName, t), ct);
    public Task PutFileAsync(string id, string path, string content, int mode, CancellationToken ct) => _plan.CallAsync($"PutFile {Short(id)} {path}", t => _inner.PutFileAsync(id, path, content, mode, t), ct);
    public Task<string?> GetFileAsync(string id, string path, CancellationToken ct) => _plan.CallAsync($"GetFile {Short(id)} {path}", t => _inner.GetFileAsync(id, path, t), ct);
    public Task<bool> PathExistsAsync(string id, string path, CancellationToken ct) => _plan.CallAsync($"PathExists {Short(id)} {path}", t => _inner.PathExistsAsync(id, path, t), ct);
    public Task SaveImagesAsync(IReadOnlyList<string> references, Stream destination, CancellationToken ct) => _plan.CallAsync("SaveImages", t => _inner.SaveImagesAsync(references, destination, t), ct);
    public Task<string> GetLogsAsync(string id, CancellationToken ct) => _plan.CallAsync($"GetLogs {Short(id)}", t => _inner.GetLogsAsync(id, t), ct);
    public Task<ExecResult> ExecAsync(string id, IReadOnlyList<string> argv, string? stdin, IReadOnlyDictionary<string, string>? environment, CancellationToken ct) =>
        _plan.CallAsync($"Exec {Short(id)} {string.Join(' ', argv.Take(3))}", t => _inner.ExecAsync(id, argv, stdin, environment, t), ct);
    public Task<ExecResult> ExecWithInputAsync(string id, IReadOnlyList<string> argv, Stream stdin, CancellationToken ct) =>
        _plan.CallAsync($"Exec {Short(id)} {string.Join(' ', argv.Take(3))} <stream", t => _inner.ExecWithInputAsync(id, argv, stdin, t), ct);
    public Task<string> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) => _plan.CallAsync($"CreateVolume {name}", t => _inner.CreateVolumeAsync(name, labels, t), ct);
    public Task<IReadOnlyList<string>> ListVolumesAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => _plan.CallAsync("ListVolumes", t => _inner.ListVolumesAsync(labels, t), ct);
    public Task RemoveVolumeAsync(string name, CancellationToken ct) => _plan.CallAsync($"RemoveVolume {name}", t => _inner.RemoveVolumeAsync(name, t), ct);
    public Task<ImageInfo?> InspectImageAsync(string reference, CancellationToken ct) => _plan.CallAsync($"InspectImage {reference}", t => _inner.InspectImageAsync(reference, t), ct);
    public Task ImportImageAsync(Stream rootfsTar, string reference, CancellationToken ct, IProgress<string>? progress = null) => _plan.CallAsync($"ImportImage {reference}", t => _inner.ImportImageAsync(rootfsTar, reference, t, progress), ct);
    public Task BuildImageAsync(Stream contextTar, string reference, ImageBuildOptions options, CancellationToken ct, IProgress<string>? progress = null) => _plan.CallAsync($"BuildImage {reference}", t => _inner.BuildImageAsync(contextTar, reference, options, t, progress), ct);
    public Task RemoveImageAsync(string reference, CancellationToken ct) => _plan.CallAsync($"RemoveImage {reference}", t => _inner.RemoveImageAsync(reference, t), ct);

    public void Dispose() { }
}

/// <summary>Host commands (ip6tables, ip) through the same <see cref="FaultPlan"/>.</summary>
public sealed class SweepHostRunner : IHostCommandRunner
{
    private readonly FaultPlan _plan;
    public SweepHostRunner(FaultPlan plan) => _plan = plan;

    public Task<ExecResult> RunAsync(string file, IReadOnlyList<string> arguments, string? stdin, TimeSpan timeout, CancellationToken ct) =>
        _plan.CallAsync($"host {Path.GetFileName(file)} {string.Join(' ', arguments.Take(6))}", t => HostCommandRunner.Instance.RunAsync(file, arguments, stdin, timeout, t), ct);
}
