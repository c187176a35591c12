using Ipv6Dind.TestSupport;
using System.Collections.Concurrent;
using System.Diagnostics;
using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Bench;

/// <summary>
/// Times every call made through it, per method (execs per command: "Exec ip", "Exec tee", …): how many, the sum
/// of their durations (overlapping when calls run in parallel) and the span from the first start to the last end,
/// relative to <see cref="Reset"/>. Only for the bench's "where does the time go"; the counts of record come from
/// the core's <see cref="CountingDockerApi"/> wrapped around this one.
/// </summary>
public sealed class TimingDockerApi : IDockerApi
{
    private readonly IDockerApi _inner;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private ConcurrentQueue<Call> _timeline = new();
    private Stopwatch _clock = Stopwatch.StartNew();

    public TimingDockerApi(IDockerApi inner) => _inner = inner;

    public sealed class Entry
    {
        private readonly object _gate = new();
        public int Count { get; private set; }
        public double SumMs { get; private set; }
        public double FirstStartMs { get; private set; } = double.MaxValue;
        public double LastEndMs { get; private set; }

        internal Entry Copy()
        {
            lock (_gate) return new Entry { Count = Count, SumMs = SumMs, FirstStartMs = FirstStartMs, LastEndMs = LastEndMs };
        }

        internal void Add(double startMs, double endMs)
        {
            lock (_gate)
            {
                Count++;
                SumMs += endMs - startMs;
                FirstStartMs = Math.Min(FirstStartMs, startMs);
                LastEndMs = Math.Max(LastEndMs, endMs);
            }
        }
    }

    /// <summary>Method (or "Exec &lt;argv[0]&gt;") → timings since the last <see cref="Reset"/> (a copy: later calls do not change it).</summary>
    public IReadOnlyDictionary<string, Entry> Entries => _entries.ToDictionary(kv => kv.Key, kv => kv.Value.Copy(), StringComparer.Ordinal);

    /// <summary>One call: what, and when it started and ended (ms since <see cref="Reset"/>).</summary>
    public readonly record struct Call(string Key, double StartMs, double EndMs);

    /// <summary>Every call since the last <see cref="Reset"/>, in the order they ended.</summary>
    public IReadOnlyList<Call> Timeline => _timeline.ToArray();

    /// <summary>Milliseconds since the last <see cref="Reset"/>, on the clock of the timings.</summary>
    public double Now => _clock.Elapsed.TotalMilliseconds;

    public void Reset()
    {
        _entries.Clear();
        _timeline = new ConcurrentQueue<Call>();
        _clock = Stopwatch.StartNew();
    }

    private async Task<T> Time<T>(string key, Func<Task<T>> call)
    {
        var clock = _clock;
        var timeline = _timeline;
        var start = clock.Elapsed.TotalMilliseconds;
        try { return await call().ConfigureAwait(false); }
        finally
        {
            var end = clock.Elapsed.TotalMilliseconds;
            if (ReferenceEquals(clock, _clock))
            {
                _entries.GetOrAdd(key, _ => new Entry()).Add(start, end);
                timeline.Enqueue(new Call(key, start, end));
            }
        }
    }

    private Task Time(string key, Func<Task> call) => Time(key, async () => { await call().ConfigureAwait(false); return true; });

    public string Endpoint => _inner.Endpoint;
    public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken ct) => Time("GetDaemonInfo", () => _inner.GetDaemonInfoAsync(ct));
    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => Time("ListNetworks", () => _inner.ListNetworksAsync(labels, ct));
    public Task<string> CreateNetworkAsync(NetworkSpec spec, CancellationToken ct) => Time("CreateNetwork", () => _inner.CreateNetworkAsync(spec, ct));
    public Task RemoveNetworkAsync(string idOrName, CancellationToken ct) => Time("RemoveNetwork", () => _inner.RemoveNetworkAsync(idOrName, ct));
    public Task<IReadOnlyList<ContainerInfo>> ListContainersAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => Time("ListContainers", () => _inner.ListContainersAsync(labels, ct));
    public Task<ContainerInfo?> InspectContainerAsync(string idOrName, CancellationToken ct) => Time("InspectContainer", () => _inner.InspectContainerAsync(idOrName, ct));
    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct) => Time("CreateContainer", () => _inner.CreateContainerAsync(spec, ct));
    public Task StartContainerAsync(string id, CancellationToken ct) => Time("StartContainer", () => _inner.StartContainerAsync(id, ct));
    public Task StopContainerAsync(string id, TimeSpan timeout, CancellationToken ct) => Time("StopContainer", () => _inner.StopContainerAsync(id, timeout, ct));
    public Task RemoveContainerAsync(string idOrName, CancellationToken ct) => Time("RemoveContainer", () => _inner.RemoveContainerAsync(idOrName, ct));
    public Task PutFileAsync(string id, string path, string content, int mode, CancellationToken ct) => Time("PutFile", () => _inner.PutFileAsync(id, path, content, mode, ct));
    public Task<string?> GetFileAsync(string id, string path, CancellationToken ct) => Time("GetFile", () => _inner.GetFileAsync(id, path, ct));
    public Task<bool> PathExistsAsync(string id, string path, CancellationToken ct) => Time("PathExists", () => _inner.PathExistsAsync(id, path, ct));
    public Task SaveImagesAsync(IReadOnlyList<string> references, Stream destination, CancellationToken ct) => Time("SaveImages", () => _inner.SaveImagesAsync(references, destination, ct));
    public Task<string> GetLogsAsync(string id, CancellationToken ct) => Time("GetLogs", () => _inner.GetLogsAsync(id, ct));
    public Task<ExecResult> ExecAsync(string id, IReadOnlyList<string> argv, string? stdin, IReadOnlyDictionary<string, string>? environment, CancellationToken ct) =>
        Time("Exec " + (argv.Count > 0 ? argv[0] : "?"), () => _inner.ExecAsync(id, argv, stdin, environment, ct));
    public Task<ExecResult> ExecWithInputAsync(string id, IReadOnlyList<string> argv, Stream stdin, CancellationToken ct) =>
        Time("Exec " + (argv.Count > 0 ? argv[0] : "?"), () => _inner.ExecWithInputAsync(id, argv, stdin, ct));
    public Task<string> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) => Time("CreateVolume", () => _inner.CreateVolumeAsync(name, labels, ct));
    public Task<IReadOnlyList<string>> ListVolumesAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => Time("ListVolumes", () => _inner.ListVolumesAsync(labels, ct));
    public Task RemoveVolumeAsync(string name, CancellationToken ct) => Time("RemoveVolume", () => _inner.RemoveVolumeAsync(name, ct));
    public Task<ImageInfo?> InspectImageAsync(string reference, CancellationToken ct) => Time("InspectImage", () => _inner.InspectImageAsync(reference, ct));
    public Task ImportImageAsync(Stream rootfsTar, string reference, CancellationToken ct, IProgress<string>? progress = null) => Time("ImportImage", () => _inner.ImportImageAsync(rootfsTar, reference, ct, progress));
    public Task BuildImageAsync(Stream contextTar, string reference, ImageBuildOptions options, CancellationToken ct, IProgress<string>? progress = null) => Time("BuildImage", () => _inner.BuildImageAsync(contextTar, reference, options, ct, progress));
    public Task RemoveImageAsync(string reference, CancellationToken ct) => Time("RemoveImage", () => _inner.RemoveImageAsync(reference, ct));

    public void Dispose() => _inner.Dispose();
}
