using Ipv6Dind.Core.Diagnostics;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// One named piece of an operation: what it does (<see cref="RunAsync"/>; whatever it creates it records in the
/// scope's journal, which is how it is undone), one line saying so, and its share of the progress bar.
/// <see cref="After"/> names the steps it needs; null means the step before it in the list (a sequence).
/// </summary>
public sealed record LabStep(string Name, string Description, int Weight, Func<StepScope, Task> RunAsync)
{
    public IReadOnlyList<string>? After { get; init; }
}

/// <summary>What a running step gets: the token (cancelled when the operation is, or when a step beside it failed;
/// everything the step calls takes this one), the operation's journal, and its own share of the progress bar.</summary>
public sealed class StepScope
{
    private readonly StepRunner _runner;

    internal StepScope(StepRunner runner, string name, CancellationToken ct)
    {
        _runner = runner;
        Name = name;
        Cancellation = ct;
    }

    public string Name { get; }
    public CancellationToken Cancellation { get; }
    public Journal Journal => _runner.Journal;

    /// <summary>Progress inside the step: <paramref name="done"/> of <paramref name="total"/> (e.g. nodes started).</summary>
    public void Report(string status, int done = 0, int total = 1) =>
        _runner.ReportStep(Name, status, (double)Math.Clamp(done, 0, Math.Max(1, total)) / Math.Max(1, total));
}

/// <summary>
/// The one runner of every multi-step operation (docs/design/README.md, "Bring-up order"): it checks the steps (unique
/// names, dependencies on earlier steps only), runs them in order - with <c>parallelism</c> above 1, every step whose
/// dependencies are done runs at once, bounded -, gives each its share of the progress bar, tells each step in the
/// verbose stream, calls the test seam after each, and on a failure stops the steps beside it and leaves the undo to
/// the <see cref="Journal"/> it owns (<see cref="RollBackAsync"/>). The failing step's name is <see cref="FailedStep"/>.
/// </summary>
public sealed class StepRunner
{
    private readonly OperationContext _ctx;
    private readonly Func<string, CancellationToken, Task>? _afterStep;
    private readonly object _gate = new();
    private readonly List<string> _completed = new();
    private string? _failed;
    private string _current = "";
    private int _lastPercent = -1;
    // The bar of the current RunAsync: each step's weight and how much of it is done (0..1); the percentage is the
    // done weight over the total, so steps running side by side move it together.
    private readonly Dictionary<string, (int Weight, double Done)> _shares = new(StringComparer.Ordinal);
    private int _from;
    private int _to = 100;

    public StepRunner(string activity, OperationContext context, Func<string, CancellationToken, Task>? afterStep = null)
    {
        Activity = activity;
        _ctx = context;
        _afterStep = afterStep;
        Journal = new Journal(context.Log);
    }

    /// <summary>The operation the progress records are reported under (e.g. New-DindCluster).</summary>
    public string Activity { get; }
    /// <summary>What the steps created, newest last; undone by <see cref="RollBackAsync"/>.</summary>
    public Journal Journal { get; }
    /// <summary>Steps that finished, in the order they finished.</summary>
    public IReadOnlyList<string> Completed { get { lock (_gate) return _completed.ToList(); } }
    /// <summary>The step whose failure (or cancellation) stopped the run; else the last step that started.</summary>
    public string FailedStep { get { lock (_gate) return _failed ?? _current; } }

    /// <summary>Checks a list of steps: names unique and not empty, dependencies on steps earlier in the list.</summary>
    public static void Validate(IReadOnlyList<LabStep> steps)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in steps)
        {
            if (string.IsNullOrWhiteSpace(step.Name)) throw new ArgumentException("A step needs a name.", nameof(steps));
            if (step.Weight < 0) throw new ArgumentException($"Step '{step.Name}': a negative weight.", nameof(steps));
            foreach (var dependency in step.After ?? Array.Empty<string>())
                if (!seen.Contains(dependency))
                    throw new ArgumentException($"Step '{step.Name}' needs '{dependency}', which is not a step before it.", nameof(steps));
            if (!seen.Add(step.Name)) throw new ArgumentException($"Two steps are named '{step.Name}'.", nameof(steps));
        }
    }

    /// <summary>
    /// The graph of <paramref name="steps"/>, one line per step in list order: its name, then " &lt;- " and the steps it
    /// waits for (a step without <see cref="LabStep.After"/> waits for the one before it). docs/architecture.md shows
    /// every operation's graph in this form.
    /// </summary>
    public static IReadOnlyList<string> Graph(IReadOnlyList<LabStep> steps) =>
        steps.Select((step, i) => (step.After ?? (i == 0 ? Array.Empty<string>() : new[] { steps[i - 1].Name })) is { Count: > 0 } needs
            ? $"{step.Name} <- {string.Join(", ", needs)}"
            : step.Name).ToList();

    /// <summary>
    /// Marks a step done that ran before the runner took over (the preflight: planning and checks, whose errors are
    /// the user's input, not a step's failure): the verbose line and the test seam, as for any step.
    /// </summary>
    public async Task MarkDoneAsync(string step)
    {
        lock (_gate) _current = step;
        await FinishAsync(step, _ctx.Cancellation).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="steps"/> between <paramref name="from"/> and <paramref name="to"/> percent. Throws the
    /// first failure (an OperationCanceledException when the operation was cancelled); the steps beside a failed
    /// one are cancelled and awaited first, so nothing is added to the journal after this returns.
    /// </summary>
    public async Task RunAsync(IReadOnlyList<LabStep> steps, int parallelism = 1, int from = 0, int to = 100)
    {
        Validate(steps);
        if (steps.Count == 0) return;
        _ctx.Log.Debug($"{Activity} steps: {string.Join("; ", Graph(steps))}.");
        lock (_gate)
        {
            _shares.Clear();
            foreach (var step in steps) _shares[step.Name] = (step.Weight, 0);
            (_from, _to) = (from, to);
        }

        if (parallelism <= 1)
        {
            foreach (var step in steps) await RunOneAsync(step, _ctx.Cancellation).ConfigureAwait(false);
            return;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_ctx.Cancellation);
        using var slots = new SemaphoreSlim(parallelism);
        var tasks = new Dictionary<string, Task>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            var needs = (step.After ?? (i == 0 ? Array.Empty<string>() : new[] { steps[i - 1].Name })).Select(n => tasks[n]).ToArray();
            tasks[step.Name] = Task.Run(async () =>
            {
                try { await Task.WhenAll(needs).ConfigureAwait(false); }
                catch { return; }           // a step it needs failed or was stopped: it never starts
                await slots.WaitAsync(stop.Token).ConfigureAwait(false);
                try { await RunOneAsync(step, stop.Token).ConfigureAwait(false); }
                catch
                {
                    stop.Cancel();          // the steps beside it stop; the first failure is what the caller sees
                    throw;
                }
                finally { slots.Release(); }
            });
        }
        try { await Task.WhenAll(tasks.Values).ConfigureAwait(false); }
        catch
        {
            var first = tasks.Values.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions)
                .FirstOrDefault(e => e is not OperationCanceledException);
            _ctx.Cancellation.ThrowIfCancellationRequested();
            if (first is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
            throw;
        }
    }

    private async Task RunOneAsync(LabStep step, CancellationToken ct)
    {
        lock (_gate) _current = step.Name;
        try
        {
            ct.ThrowIfCancellationRequested();
            _ctx.Log.Verbose($"Step '{step.Name}': {step.Description}.");
            ReportStep(step.Name, step.Description, 0);
            await step.RunAsync(new StepScope(this, step.Name, ct)).ConfigureAwait(false);
            await FinishAsync(step.Name, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The first step to fail names the failure; a step stopped because of it (or cancelled) does not.
            lock (_gate)
                if (_failed is null && (ex is not OperationCanceledException || _ctx.Cancellation.IsCancellationRequested)) _failed = step.Name;
            throw;
        }
    }

    private async Task FinishAsync(string step, CancellationToken ct)
    {
        _ctx.Log.Verbose($"Step '{step}' done.");
        lock (_gate)
        {
            _completed.Add(step);
            if (_shares.TryGetValue(step, out var share)) _shares[step] = (share.Weight, 1);
        }
        if (_afterStep is not null) await _afterStep(step, ct).ConfigureAwait(false);
    }

    /// <summary>A step's progress (<paramref name="done"/> of it, 0..1) as a record under the operation.</summary>
    internal void ReportStep(string step, string status, double done)
    {
        int percent;
        lock (_gate)
        {
            if (!_shares.TryGetValue(step, out var share)) return;
            _shares[step] = (share.Weight, Math.Max(share.Done, Math.Clamp(done, 0, 1)));
            var total = Math.Max(1, _shares.Values.Sum(s => s.Weight));
            percent = _from + (int)((_to - _from) * _shares.Values.Sum(s => s.Weight * s.Done) / total);
        }
        Report(step, status, percent);
    }

    /// <summary>A progress record under the operation; the bar never moves back.</summary>
    public void Report(string step, string status, int percent, bool completed = false)
    {
        lock (_gate)
        {
            percent = Math.Clamp(Math.Max(percent, _lastPercent), 0, 100);
            _lastPercent = percent;
        }
        _ctx.Progress.Report(new DindProgress(Activity, $"{step}: {status}", percent, Completed: completed));
    }

    /// <summary>The last progress record: 100 %, completed.</summary>
    public void Complete(string step, string status = "done") => Report(step, status, 100, completed: true);

    /// <summary>Undoes what the steps recorded, newest first, on its own budget; returns what could not be undone.</summary>
    public Task<IReadOnlyList<string>> RollBackAsync(TimeSpan budget) => Journal.RollBackAsync(budget);
}
