using Ipv6Dind.Core.Diagnostics;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// Undo steps of a bring-up, run in reverse when a later step fails or the operation is cancelled. The undo
/// runs with its own bounded time, not the (possibly cancelled) operation token: Ctrl-C must not leave debris.
/// Nodes are created in parallel, so recording is thread-safe.
/// </summary>
public sealed class Journal
{
    private readonly Stack<(string Step, Func<CancellationToken, Task> Undo)> _undo = new();
    private readonly object _gate = new();
    private readonly IDindLog _log;

    public Journal(IDindLog log) => _log = log;

    public int Count { get { lock (_gate) return _undo.Count; } }

    public void Record(string step, Func<CancellationToken, Task> undo)
    {
        lock (_gate) _undo.Push((step, undo));
    }

    /// <summary>
    /// Undoes everything recorded, newest first; a failed undo step is logged and skipped. Returns the steps
    /// whose undo failed (what may be left), empty when everything was undone.
    /// </summary>
    public async Task<IReadOnlyList<string>> RollBackAsync(TimeSpan budget)
    {
        using var cts = new CancellationTokenSource(budget);
        var failed = new List<string>();
        while (TryPop(out var entry))
        {
            try
            {
                _log.Verbose($"Rolling back: {entry.Step}.");
                await entry.Undo(cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _log.Warning($"Rolling back '{entry.Step}' failed: {ex.Message}");
                failed.Add(entry.Step);
            }
        }
        return failed;
    }

    /// <summary>Forgets the undo steps once the bring-up succeeded.</summary>
    public void Commit()
    {
        lock (_gate) _undo.Clear();
    }

    private bool TryPop(out (string Step, Func<CancellationToken, Task> Undo) entry)
    {
        lock (_gate) return _undo.TryPop(out entry);
    }
}
