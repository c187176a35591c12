using Ipv6Dind.Core.Diagnostics;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// Undo steps of a bring-up, run in reverse when a later step fails or the operation is cancelled. The undo
/// runs with its own bounded time, not the (possibly cancelled) operation token: Ctrl-C must not leave debris.
/// </summary>
public sealed class Journal
{
    private readonly Stack<(string Step, Func<CancellationToken, Task> Undo)> _undo = new();
    private readonly IDindLog _log;

    public Journal(IDindLog log) => _log = log;

    public int Count => _undo.Count;

    public void Record(string step, Func<CancellationToken, Task> undo) => _undo.Push((step, undo));

    /// <summary>Undoes everything recorded, newest first; failures of single undo steps are logged and skipped.</summary>
    public async Task RollBackAsync(TimeSpan budget)
    {
        using var cts = new CancellationTokenSource(budget);
        while (_undo.TryPop(out var entry))
        {
            try
            {
                _log.Verbose($"Rolling back: {entry.Step}.");
                await entry.Undo(cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _log.Warning($"Rolling back '{entry.Step}' failed: {ex.Message}");
            }
        }
    }

    /// <summary>Forgets the undo steps once the bring-up succeeded.</summary>
    public void Commit() => _undo.Clear();
}
