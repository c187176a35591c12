using System.Collections.Concurrent;
using System.Management.Automation;
using Ipv6Dind.Core.Diagnostics;

namespace Ipv6Dind;

/// <summary>
/// Base of every Ipv6Dind cmdlet.
///
/// Errors: core failures arrive as <see cref="DindException"/> and leave as ErrorRecords with the stable id,
/// the matching category, the bad value as target and the recommended action.
///
/// Async work: <see cref="RunAsync"/> runs a core operation on the thread pool while the pipeline thread pumps
/// what it posts (objects, progress, verbose/warning lines, ShouldProcess questions); PowerShell only allows those
/// calls from the pipeline thread. Ctrl-C (<see cref="StopProcessing"/>) cancels the token the core got, then the
/// pump waits for the operation to unwind (its journal rolls back) before the pipeline stops.
/// (After jborean93's AsyncPSCmdlet.)
/// </summary>
public abstract class DindCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private BlockingCollection<Action>? _pump;

    /// <summary>Cancelled when the user presses Ctrl-C or the pipeline is stopped.</summary>
    protected CancellationToken StopToken => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    public void Dispose()
    {
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Runs <paramref name="work"/> off the pipeline thread and pumps its output here until it finishes.</summary>
    protected void RunAsync(Func<OperationContext, Task> work)
    {
        using var pump = new BlockingCollection<Action>();
        _pump = pump;
        var context = new OperationContext(_stopping.Token, new PumpProgress(this), new PumpLog(this));
        var task = Task.Run(async () =>
        {
            try { await work(context).ConfigureAwait(false); }
            finally { pump.CompleteAdding(); }
        });
        Exception? pumpFailure = null;
        try
        {
            foreach (var action in pump.GetConsumingEnumerable())
            {
                // After a failure on this side (typically PipelineStoppedException from a write after Ctrl-C) the
                // operation is cancelled and still drained: its posted actions run (writes fail fast, a pending
                // ShouldProcess gets its exception) so that it can unwind instead of waiting on this thread forever.
                try { action(); }
                catch (Exception ex) when (pumpFailure is null)
                {
                    pumpFailure = ex;
                    _stopping.Cancel();
                }
                catch (Exception) { }
            }
        }
        finally
        {
            _pump = null;
        }
        if (pumpFailure is not null)
        {
            try { task.GetAwaiter().GetResult(); } catch (Exception) { /* the pump's failure is the one to report */ }
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(pumpFailure).Throw();
        }
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (DindException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex));
        }
    }

    /// <summary>Writes an object from any thread: directly on the pipeline thread, through the pump otherwise.</summary>
    protected void Emit(object value) => Post(() => WriteObject(value));

    /// <summary>Asks ShouldProcess from any thread; the background operation waits for the answer.</summary>
    protected bool Confirm(string target, string action)
    {
        if (_pump is null) return ShouldProcess(target, action);
        var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try { answer.SetResult(ShouldProcess(target, action)); }
            catch (Exception ex) { answer.SetException(ex); }
        });
        return answer.Task.GetAwaiter().GetResult();
    }

    private void Post(Action action)
    {
        var pump = _pump;
        if (pump is null) { action(); return; }
        try { pump.Add(action); }
        catch (InvalidOperationException) { /* completed: the operation is over, nothing to show */ }
    }

    /// <summary>Runs a short synchronous core call and maps its errors.</summary>
    protected T Invoke<T>(Func<T> call)
    {
        try { return call(); }
        catch (DindException ex) { ThrowTerminatingError(ToErrorRecord(ex)); throw; }
    }

    /// <summary>Writes a non-terminating error for a core failure (the pipeline goes on with the next input).</summary>
    protected void WriteDindError(DindException ex) => WriteError(ToErrorRecord(ex));

    /// <summary>Throws a terminating error for a core failure.</summary>
    protected void ThrowDindError(DindException ex) => ThrowTerminatingError(ToErrorRecord(ex));

    public static ErrorRecord ToErrorRecord(DindException ex)
    {
        var category = Enum.TryParse<ErrorCategory>(ex.Category.ToString(), out var c) ? c : ErrorCategory.NotSpecified;
        var record = new ErrorRecord(ex, ex.ErrorId, category, ex.Target);
        if (ex.RecommendedAction is not null)
            record.ErrorDetails = new ErrorDetails(ex.Message) { RecommendedAction = ex.RecommendedAction };
        return record;
    }

    private sealed class PumpProgress : IProgress<DindProgress>
    {
        private readonly DindCmdlet _cmdlet;
        public PumpProgress(DindCmdlet cmdlet) => _cmdlet = cmdlet;

        public void Report(DindProgress value) => _cmdlet.Post(() =>
        {
            var record = new ProgressRecord(value.Id, value.Activity, string.IsNullOrEmpty(value.Status) ? value.Activity : value.Status)
            {
                PercentComplete = value.PercentComplete,
                ParentActivityId = value.ParentId,
                RecordType = value.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            };
            if (value.CurrentOperation is not null) record.CurrentOperation = value.CurrentOperation;
            _cmdlet.WriteProgress(record);
        });
    }

    private sealed class PumpLog : IDindLog
    {
        private readonly DindCmdlet _cmdlet;
        public PumpLog(DindCmdlet cmdlet) => _cmdlet = cmdlet;
        public void Verbose(string message) => _cmdlet.Post(() => _cmdlet.WriteVerbose(message));
        public void Warning(string message) => _cmdlet.Post(() => _cmdlet.WriteWarning(message));
        public void Debug(string message) => _cmdlet.Post(() => _cmdlet.WriteDebug(message));
    }
}
