using System.Collections.Concurrent;

using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.TestSupport;

/// <summary>
/// Counts the calls made through it, per method, for the bench's "number of Docker API calls and execs" and for
/// tests that pin how chatty an operation is (one batch exec per node, not one per route). Thread-safe; counts a
/// call when it starts, whether or not it succeeds.
/// </summary>
public sealed class CountingDockerApi : IDockerApi
{
    private readonly IDockerApi _inner;
    private readonly bool _ownsInner;
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

    public CountingDockerApi(IDockerApi inner, bool ownsInner = false)
    {
        _inner = inner;
        _ownsInner = ownsInner;
    }

    public string Endpoint => _inner.Endpoint;

    /// <summary>Method name (without "Async") → calls so far.</summary>
    public IReadOnlyDictionary<string, int> Calls => new Dictionary<string, int>(_calls);
    /// <summary>Every call, execs included.</summary>
    public int Total => _calls.Values.Sum();
    public int Execs => _calls.TryGetValue("Exec", out var n) ? n : 0;
    /// <summary>Calls other than execs.</summary>
    public int ApiCalls => Total - Execs;

    public void Reset() => _calls.Clear();

    private void Hit(string method) => _calls.AddOrUpdate(method, 1, (_, n) => n + 1);

    public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken ct) { Hit("GetDaemonInfo"); return _inner.GetDaemonInfoAsync(ct); }
    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) { Hit("ListNetworks"); return _inner.ListNetworksAsync(labels, ct); }
    public Task<string> CreateNetworkAsync(NetworkSpec spec, CancellationToken ct) { Hit("CreateNetwork"); return _inner.CreateNetworkAsync(spec, ct); }
    public Task RemoveNetworkAsync(string idOrName, CancellationToken ct) { Hit("RemoveNetwork"); return _inner.RemoveNetworkAsync(idOrName, ct); }
    public Task<IReadOnlyList<ContainerInfo>> ListContainersAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) { Hit("ListContainers"); return _inner.ListContainersAsync(labels, ct); }
    public Task<ContainerInfo?> InspectContainerAsync(string idOrName, CancellationToken ct) { Hit("InspectContainer"); return _inner.InspectContainerAsync(idOrName, ct); }
    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct) { Hit("CreateContainer"); return _inner.CreateContainerAsync(spec, ct); }
    public Task StartContainerAsync(string id, CancellationToken ct) { Hit("StartContainer"); return _inner.StartContainerAsync(id, ct); }
    public Task StopContainerAsync(string id, TimeSpan timeout, CancellationToken ct) { Hit("StopContainer"); return _inner.StopContainerAsync(id, timeout, ct); }
    public Task RemoveContainerAsync(string idOrName, CancellationToken ct) { Hit("RemoveContainer"); return _inner.RemoveContainerAsync(idOrName, ct); }
    public Task PutFileAsync(string id, string path, string content, int mode, CancellationToken ct) { Hit("PutFile"); return _inner.PutFileAsync(id, path, content, mode, ct); }
    public Task<string?> GetFileAsync(string id, string path, CancellationToken ct) { Hit("GetFile"); return _inner.GetFileAsync(id, path, ct); }
    public Task<bool> PathExistsAsync(string id, string path, CancellationToken ct) { Hit("PathExists"); return _inner.PathExistsAsync(id, path, ct); }
    public Task SaveImagesAsync(IReadOnlyList<string> references, Stream destination, CancellationToken ct) { Hit("SaveImages"); return _inner.SaveImagesAsync(references, destination, ct); }
    public Task<string> GetLogsAsync(string id, CancellationToken ct) { Hit("GetLogs"); return _inner.GetLogsAsync(id, ct); }
    public Task<ExecResult> ExecAsync(string id, IReadOnlyList<string> argv, string? stdin, IReadOnlyDictionary<string, string>? environment, CancellationToken ct) { Hit("Exec"); return _inner.ExecAsync(id, argv, stdin, environment, ct); }
    public Task<ExecResult> ExecWithInputAsync(string id, IReadOnlyList<string> argv, Stream stdin, CancellationToken ct) { Hit("Exec"); return _inner.ExecWithInputAsync(id, argv, stdin, ct); }
    public Task<string> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) { Hit("CreateVolume"); return _inner.CreateVolumeAsync(name, labels, ct); }
    public Task<IReadOnlyList<string>> ListVolumesAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) { Hit("ListVolumes"); return _inner.ListVolumesAsync(labels, ct); }
    public Task RemoveVolumeAsync(string name, CancellationToken ct) { Hit("RemoveVolume"); return _inner.RemoveVolumeAsync(name, ct); }
    public Task<ImageInfo?> InspectImageAsync(string reference, CancellationToken ct) { Hit("InspectImage"); return _inner.InspectImageAsync(reference, ct); }
    public Task ImportImageAsync(Stream rootfsTar, string reference, CancellationToken ct, IProgress<string>? progress = null) { Hit("ImportImage"); return _inner.ImportImageAsync(rootfsTar, reference, ct, progress); }
    public Task BuildImageAsync(Stream contextTar, string reference, ImageBuildOptions options, CancellationToken ct, IProgress<string>? progress = null) { Hit("BuildImage"); return _inner.BuildImageAsync(contextTar, reference, options, ct, progress); }
    public Task RemoveImageAsync(string reference, CancellationToken ct) { Hit("RemoveImage"); return _inner.RemoveImageAsync(reference, ct); }

    public void Dispose()
    {
        if (_ownsInner) _inner.Dispose();
    }
}
