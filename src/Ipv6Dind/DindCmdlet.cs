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
        // Read while the pipeline runs: after Ctrl-C, the rollback's lines go to the host by these preferences.
        _tellHostWarnings = Preference("WarningAction", "WarningPreference") is not (ActionPreference.SilentlyContinue or ActionPreference.Ignore);
        _tellHostVerbose = MyInvocation.BoundParameters.TryGetValue("Verbose", out var verbose)
            ? verbose is SwitchParameter { IsPresent: true }
            : Preference(null, "VerbosePreference") is ActionPreference.Continue or ActionPreference.Inquire;
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

    private bool _tellHostWarnings = true;
    private bool _tellHostVerbose;

    private ActionPreference? Preference(string? parameter, string variable)
    {
        if (parameter is not null && MyInvocation.BoundParameters.TryGetValue(parameter, out var bound) && bound is ActionPreference p) return p;
        try { return LanguagePrimitives.TryConvertTo(GetVariableValue(variable), out ActionPreference v) ? v : null; }
        catch (Exception) { return null; }
    }

    /// <summary>
    /// A warning or verbose line of the operation. Once the pipeline is stopping (Ctrl-C), PowerShell may refuse
    /// writes to its streams (PipelineStoppedException) - the StopProcessing sweep saw every line of New-DindCluster's
    /// rollback lost that way (tests/Ipv6Dind.IntegrationTests/Faults/StopProcessingSweepTests.cs) -, yet the rollback
    /// is what the user most needs to hear about ("was stopped during step …; removing the N object(s) created so
    /// far", what could not be removed): a refused line goes to the host's UI instead, as the console shows it, by
    /// the same -WarningAction/-Verbose choices.
    /// </summary>
    private void WriteLine(string message, bool verbose)
    {
        try
        {
            if (verbose) WriteVerbose(message);
            else WriteWarning(message);
        }
        catch (PipelineStoppedException)
        {
            if (!(verbose ? _tellHostVerbose : _tellHostWarnings)) throw;
            try
            {
                if (verbose) Host.UI.WriteVerboseLine(message);
                else Host.UI.WriteWarningLine(message);
            }
            catch (Exception) { throw new PipelineStoppedException(); } // a host without a UI: as before
        }
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
        public void Verbose(string message) => _cmdlet.Post(() => _cmdlet.WriteLine(message, verbose: true));
        public void Warning(string message) => _cmdlet.Post(() => _cmdlet.WriteLine(message, verbose: false));
        public void Debug(string message) => _cmdlet.Post(() => _cmdlet.WriteDebug(message));
    }
}
