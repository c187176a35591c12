using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.TestSupport;

/// <summary>
/// One call through <see cref="FaultInjectingDockerApi"/>: the method (without "Async"), its 1-based number among
/// the calls of that method (<see cref="Ordinal"/>) and its arguments.
/// </summary>
public sealed record DockerCall(string Method, int Ordinal, IReadOnlyList<object?> Arguments)
{
    /// <summary>Its 1-based number among all calls, of every method, in the order they started.</summary>
    public int Sequence { get; init; }

    /// <summary>The first argument as a string (container id, network or image name), when it is one.</summary>
    public string? Target => Arguments.Count > 0 ? Arguments[0] switch
    {
        string s => s,
        ContainerSpec c => c.Name,
        NetworkSpec n => n.Name,
        _ => null,
    } : null;
}

/// <summary>
/// Test code (tests/Ipv6Dind.TestSupport; the shipped assemblies never reference it): wraps a real driver and makes chosen calls fail, so tests can prove that
/// a failure at step N rolls back steps 1..N-1 and that error records name the step. Nothing constructs it
/// outside tests; with no rule added it only passes calls through.
/// </summary>
public sealed class FaultInjectingDockerApi : IDockerApi
{
    private readonly IDockerApi _inner;
    private readonly bool _ownsInner;
    private readonly Dictionary<string, int> _ordinals = new(StringComparer.Ordinal);
    private readonly List<(Func<DockerCall, bool> When, Func<DockerCall, Exception> Error, bool Once, bool AfterCall)> _rules = new();
    private readonly List<(Func<DockerCall, bool> When, Action<DockerCall> Action, bool Once)> _hooks = new();
    private readonly List<DockerCall> _calls = new();
    private readonly object _gate = new();

    public FaultInjectingDockerApi(IDockerApi inner, bool ownsInner = false)
    {
        _inner = inner;
        _ownsInner = ownsInner;
    }

    /// <summary>The endpoint it claims to talk to (a remote-looking tcp:// one, say); null: the inner driver's.</summary>
    public string? ReportedEndpoint { get; init; }

    public string Endpoint => ReportedEndpoint ?? _inner.Endpoint;

    /// <summary>Calls that were failed on purpose, in order.</summary>
    public IReadOnlyList<DockerCall> Injected { get { lock (_gate) return _injected.ToList(); } }
    private readonly List<DockerCall> _injected = new();

    /// <summary>Every call so far, in the order they started (<see cref="DockerCall.Sequence"/> 1, 2, …), failed ones included.</summary>
    public IReadOnlyList<DockerCall> Calls { get { lock (_gate) return _calls.ToList(); } }

    /// <summary>How many calls have started, of every method.</summary>
    public int CallCount { get { lock (_gate) return _calls.Count; } }

    /// <summary>Fails the <paramref name="sequence"/>th call (1-based) of any method: the k of a sweep over every call.</summary>
    public FaultInjectingDockerApi FailCall(int sequence, Func<DockerCall, Exception>? error = null)
    {
        if (sequence < 1) throw new ArgumentOutOfRangeException(nameof(sequence), "Calls are counted from 1.");
        return FailWhen(call => call.Sequence == sequence, error, once: true);
    }

    /// <summary>
    /// Cancels <paramref name="source"/> as the <paramref name="sequence"/>th call (of any method) starts, then lets the
    /// call go on with its own token: Ctrl-C arriving during that call.
    /// </summary>
    public FaultInjectingDockerApi CancelAtCall(int sequence, CancellationTokenSource source)
    {
        if (sequence < 1) throw new ArgumentOutOfRangeException(nameof(sequence), "Calls are counted from 1.");
        return BeforeCall(call => call.Sequence == sequence, _ => source.Cancel());
    }

    /// <summary>
    /// Ctrl-C as the <paramref name="sequence"/>th call starts (<see cref="CancelAtCall"/>), where the request is already
    /// on its way: when the call was given the cancelled token, the caller gets OperationCanceledException at once and
    /// the daemon carries the request out only later - when the test calls <see cref="FinishLateCallsAsync"/>, after the
    /// operation (and its rollback) returned. A call given a token of its own waits for its answer as usual.
    /// </summary>
    public FaultInjectingDockerApi CancelAtCallAndFinishLate(int sequence, CancellationTokenSource source)
    {
        CancelAtCall(sequence, source);
        lock (_gate) _late.Add(sequence);
        return this;
    }

    /// <summary>
    /// The faults of a sweep over a run whose calls come in no fixed order (steps side by side): the call is the first
    /// one that <paramref name="which"/> picks, not the kth. <paramref name="which"/> is asked once per call, in order.
    /// </summary>
    public FaultInjectingDockerApi FailCall(Func<DockerCall, bool> which) => FailWhen(which, once: true);

    /// <inheritdoc cref="FailCall(Func{DockerCall, bool})"/>
    public FaultInjectingDockerApi LoseAnswerOfCall(Func<DockerCall, bool> which)
    {
        lock (_gate) _rules.Add((which, DefaultError, true, true));
        return this;
    }

    /// <inheritdoc cref="FailCall(Func{DockerCall, bool})"/>
    public FaultInjectingDockerApi CancelAtCall(Func<DockerCall, bool> which, CancellationTokenSource source, bool finishLate = false) =>
        BeforeCall(which, call =>
        {
            if (finishLate) lock (_gate) _late.Add(call.Sequence);
            source.Cancel();
        });

    /// <summary>
    /// How long each call takes on its way to the daemon (the in-memory daemon answers at once, so steps side by side
    /// would hardly ever overlap without it).
    /// </summary>
    public TimeSpan Latency { get; init; }

    private readonly HashSet<int> _late = new();
    private readonly List<Func<Task>> _deferred = new();

    /// <summary>Carries out the requests whose answers were cut off, in order; what they fail at (the object is gone) is ignored.</summary>
    public async Task<int> FinishLateCallsAsync()
    {
        List<Func<Task>> deferred;
        lock (_gate)
        {
            deferred = _deferred.ToList();
            _deferred.Clear();
        }
        foreach (var call in deferred)
        {
            try { await call().ConfigureAwait(false); }
            catch (Exception e) when (e is DindException or OperationCanceledException) { }
        }
        return deferred.Count;
    }

    /// <summary>Runs <paramref name="action"/> as a matching call starts, before the fault rules and the call itself (outside the lock).</summary>
    public FaultInjectingDockerApi BeforeCall(Func<DockerCall, bool> predicate, Action<DockerCall> action, bool once = true)
    {
        lock (_gate) _hooks.Add((predicate, action, once));
        return this;
    }

    /// <summary>Fails the <paramref name="n"/>th call (1-based) of <paramref name="method"/> ("CreateContainer", "Exec", …).</summary>
    public FaultInjectingDockerApi FailNth(string method, int n, Func<DockerCall, Exception>? error = null)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), "Calls are counted from 1.");
        return FailWhen(call => call.Method == method && call.Ordinal == n, error, once: true);
    }

    /// <summary>Fails every call that matches (or only the first, with <paramref name="once"/>).</summary>
    public FaultInjectingDockerApi FailWhen(Func<DockerCall, bool> predicate, Func<DockerCall, Exception>? error = null, bool once = false)
    {
        lock (_gate) _rules.Add((predicate, error ?? DefaultError, once, false));
        return this;
    }

    /// <summary>
    /// Lets the <paramref name="n"/>th call of <paramref name="method"/> reach the daemon, then fails it: the daemon
    /// did the work but the caller never heard (a connection lost, or Ctrl-C, while the answer was on its way).
    /// </summary>
    public FaultInjectingDockerApi LoseAnswerOfNth(string method, int n, Func<DockerCall, Exception>? error = null)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), "Calls are counted from 1.");
        lock (_gate) _rules.Add((call => call.Method == method && call.Ordinal == n, error ?? DefaultError, true, true));
        return this;
    }

    /// <summary>Lets the <paramref name="sequence"/>th call (of any method) reach the daemon, then fails it: its answer is lost.</summary>
    public FaultInjectingDockerApi LoseAnswerOfCall(int sequence, Func<DockerCall, Exception>? error = null)
    {
        if (sequence < 1) throw new ArgumentOutOfRangeException(nameof(sequence), "Calls are counted from 1.");
        lock (_gate) _rules.Add((call => call.Sequence == sequence, error ?? DefaultError, true, true));
        return this;
    }

    public void ClearFaults()
    {
        lock (_gate)
        {
            _rules.Clear();
            _hooks.Clear();
        }
    }

    public static DindException DefaultError(DockerCall call) =>
        new(ErrorIds.DockerApiError, DindErrorCategory.InvalidOperation,
            $"Injected fault: {call.Method} call {call.Ordinal}{(call.Target is null ? "" : " on " + call.Target)}.", target: call.Target);

    /// <summary>Runs the rules for a call: the exception of a matching rule, whether it comes after the real call, and whether the call is one to finish late.</summary>
    private (Exception? Error, bool AfterCall, bool Late) Check(string method, params object?[] arguments)
    {
        DockerCall call;
        var actions = new List<Action<DockerCall>>();
        lock (_gate)
        {
            var ordinal = _ordinals[method] = _ordinals.GetValueOrDefault(method) + 1;
            call = new DockerCall(method, ordinal, arguments) { Sequence = _calls.Count + 1 };
            _calls.Add(call);
            for (var i = 0; i < _hooks.Count; i++)
            {
                if (!_hooks[i].When(call)) continue;
                actions.Add(_hooks[i].Action);
                if (_hooks[i].Once) _hooks.RemoveAt(i--);
            }
        }
        foreach (var action in actions) action(call);
        lock (_gate)
        {
            for (var i = 0; i < _rules.Count; i++)
            {
                var rule = _rules[i];
                if (!rule.When(call)) continue;
                if (rule.Once) _rules.RemoveAt(i);
                _injected.Add(call);
                return (rule.Error(call), rule.AfterCall, false);
            }
            return (null, false, _late.Contains(call.Sequence));
        }
    }

    // A matching rule's exception comes back as a faulted task, as a real failure would.
    private async Task<T> Run<T>(CancellationToken ct, Func<CancellationToken, Task<T>> next, string method, params object?[] arguments)
    {
        var (error, afterCall, late) = Check(method, arguments);
        if (Latency > TimeSpan.Zero) await Task.Delay(Latency, CancellationToken.None).ConfigureAwait(false);
        if (late && ct.IsCancellationRequested)
        {
            // The daemon does not know the client gave up: the request runs later, on nobody's token.
            lock (_gate) _deferred.Add(() => next(CancellationToken.None));
            throw new OperationCanceledException(ct);
        }
        if (error is null) return await next(ct).ConfigureAwait(false);
        if (afterCall) await next(ct).ConfigureAwait(false);
        throw error;
    }

    private Task Run(CancellationToken ct, Func<CancellationToken, Task> next, string method, params object?[] arguments) =>
        Run(ct, async t => { await next(t).ConfigureAwait(false); return true; }, method, arguments);

    public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken ct) => Run(ct, t => _inner.GetDaemonInfoAsync(t), "GetDaemonInfo");
    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => Run(ct, t => _inner.ListNetworksAsync(labels, t), "ListNetworks", labels);
    public Task<string> CreateNetworkAsync(NetworkSpec spec, CancellationToken ct) => Run(ct, t => _inner.CreateNetworkAsync(spec, t), "CreateNetwork", spec);
    public Task RemoveNetworkAsync(string idOrName, CancellationToken ct) => Run(ct, t => _inner.RemoveNetworkAsync(idOrName, t), "RemoveNetwork", idOrName);
    public Task<IReadOnlyList<ContainerInfo>> ListContainersAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => Run(ct, t => _inner.ListContainersAsync(labels, t), "ListContainers", labels);
    public Task<ContainerInfo?> InspectContainerAsync(string idOrName, CancellationToken ct) => Run(ct, t => _inner.InspectContainerAsync(idOrName, t), "InspectContainer", idOrName);
    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct) => Run(ct, t => _inner.CreateContainerAsync(spec, t), "CreateContainer", spec);
    public Task StartContainerAsync(string id, CancellationToken ct) => Run(ct, t => _inner.StartContainerAsync(id, t), "StartContainer", id);
    public Task StopContainerAsync(string id, TimeSpan timeout, CancellationToken ct) => Run(ct, t => _inner.StopContainerAsync(id, timeout, t), "StopContainer", id, timeout);
    public Task RemoveContainerAsync(string idOrName, CancellationToken ct) => Run(ct, t => _inner.RemoveContainerAsync(idOrName, t), "RemoveContainer", idOrName);
    public Task PutFileAsync(string id, string path, string content, int mode, CancellationToken ct) => Run(ct, t => _inner.PutFileAsync(id, path, content, mode, t), "PutFile", id, path, content, mode);
    public Task<string?> GetFileAsync(string id, string path, CancellationToken ct) => Run(ct, t => _inner.GetFileAsync(id, path, t), "GetFile", id, path);
    public Task<bool> PathExistsAsync(string id, string path, CancellationToken ct) => Run(ct, t => _inner.PathExistsAsync(id, path, t), "PathExists", id, path);
    public Task SaveImagesAsync(IReadOnlyList<string> references, Stream destination, CancellationToken ct) => Run(ct, t => _inner.SaveImagesAsync(references, destination, t), "SaveImages", string.Join(",", references));
    public Task<string> GetLogsAsync(string id, CancellationToken ct) => Run(ct, t => _inner.GetLogsAsync(id, t), "GetLogs", id);
    public Task<ExecResult> ExecAsync(string id, IReadOnlyList<string> argv, string? stdin, IReadOnlyDictionary<string, string>? environment, CancellationToken ct) => Run(ct, t => _inner.ExecAsync(id, argv, stdin, environment, t), "Exec", id, argv, stdin, environment);
    public Task<ExecResult> ExecWithInputAsync(string id, IReadOnlyList<string> argv, Stream stdin, CancellationToken ct) => Run(ct, t => _inner.ExecWithInputAsync(id, argv, stdin, t), "Exec", id, argv, "(stream)", null);
    public Task<string> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) => Run(ct, t => _inner.CreateVolumeAsync(name, labels, t), "CreateVolume", name, labels);
    public Task<IReadOnlyList<string>> ListVolumesAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) => Run(ct, t => _inner.ListVolumesAsync(labels, t), "ListVolumes", labels);
    public Task RemoveVolumeAsync(string name, CancellationToken ct) => Run(ct, t => _inner.RemoveVolumeAsync(name, t), "RemoveVolume", name);
    public Task<ImageInfo?> InspectImageAsync(string reference, CancellationToken ct) => Run(ct, t => _inner.InspectImageAsync(reference, t), "InspectImage", reference);
    public Task ImportImageAsync(Stream rootfsTar, string reference, CancellationToken ct, IProgress<string>? progress = null) => Run(ct, t => _inner.ImportImageAsync(rootfsTar, reference, t, progress), "ImportImage", reference);
    public Task BuildImageAsync(Stream contextTar, string reference, ImageBuildOptions options, CancellationToken ct, IProgress<string>? progress = null) => Run(ct, t => _inner.BuildImageAsync(contextTar, reference, options, t, progress), "BuildImage", reference, options);
    public Task RemoveImageAsync(string reference, CancellationToken ct) => Run(ct, t => _inner.RemoveImageAsync(reference, t), "RemoveImage", reference);

    public void Dispose()
    {
        if (_ownsInner) _inner.Dispose();
    }
}
