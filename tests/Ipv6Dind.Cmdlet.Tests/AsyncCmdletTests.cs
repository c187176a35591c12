using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Ipv6Dind.Core.Diagnostics;

namespace Ipv6Dind.Cmdlet.Tests;

/// <summary>Test-only cmdlet: runs a core-style async operation through DindCmdlet.RunAsync.</summary>
[Cmdlet(VerbsDiagnostic.Test, "AsyncWork", SupportsShouldProcess = true)]
[OutputType(typeof(int))]
public sealed class TestAsyncWorkCommand : DindCmdlet
{
    [Parameter] public int Count { get; set; } = 3;
    [Parameter] public int DelayMs { get; set; }
    [Parameter] public SwitchParameter Fail { get; set; }
    [Parameter] public SwitchParameter AskEach { get; set; }

    /// <summary>Set by the operation when its cleanup ran after cancellation (what a journal rollback would do).</summary>
    public static volatile bool RolledBack;
    public static volatile int ThreadOfWork;

    protected override void ProcessRecord()
    {
        RunAsync(async ctx =>
        {
            ThreadOfWork = Environment.CurrentManagedThreadId;
            try
            {
                for (var i = 1; i <= Count; i++)
                {
                    ctx.Cancellation.ThrowIfCancellationRequested();
                    ctx.Progress.Report(new DindProgress("Working", $"item {i} of {Count}", i * 100 / Count));
                    ctx.Log.Verbose($"item {i}");
                    if (AskEach && !Confirm($"item {i}", "Emit")) continue;
                    if (DelayMs > 0) await Task.Delay(DelayMs, ctx.Cancellation);
                    Emit(i);
                }
                if (Fail)
                    throw new DindException(ErrorIds.UnexpectedError, DindErrorCategory.InvalidOperation, "injected failure", "target");
                ctx.Progress.Report(new DindProgress("Working", "done", 100, Completed: true));
            }
            catch (OperationCanceledException)
            {
                RolledBack = true;
                throw;
            }
        });
    }
}

public sealed class AsyncCmdletTests
{
    private static PowerShell Shell()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.Commands.Add(new SessionStateCmdletEntry("Test-AsyncWork", typeof(TestAsyncWorkCommand), null));
        return PowerShell.Create(iss);
    }

    [Fact]
    public void OutputProgressAndVerboseReachThePipelineInOrder()
    {
        using var ps = Shell();
        ps.AddScript("Test-AsyncWork -Count 4 -Verbose");
        var output = ps.Invoke();
        Assert.Equal(new[] { 1, 2, 3, 4 }, output.Select(o => (int)o.BaseObject));
        Assert.Equal(new[] { "item 1", "item 2", "item 3", "item 4" }, ps.Streams.Verbose.Select(v => v.Message));
        Assert.Equal(5, ps.Streams.Progress.Count);
        Assert.Equal(ProgressRecordType.Completed, ps.Streams.Progress.Last().RecordType);
        Assert.Equal(25, ps.Streams.Progress[0].PercentComplete);
        Assert.NotEqual(Environment.CurrentManagedThreadId, TestAsyncWorkCommand.ThreadOfWork);
    }

    [Fact]
    public void CoreErrorsBecomeErrorRecordsWithIdCategoryAndTarget()
    {
        using var ps = Shell();
        ps.AddScript("Test-AsyncWork -Count 2 -Fail");
        var output = ps.Invoke();
        Assert.Equal(2, output.Count);
        var error = Assert.Single(ps.Streams.Error);
        Assert.Equal("UnexpectedError,Ipv6Dind.Cmdlet.Tests.TestAsyncWorkCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidOperation, error.CategoryInfo.Category);
        Assert.Equal("target", error.TargetObject);
    }

    [Fact]
    public void ShouldProcessIsAskedOnThePipelineThreadFromTheOperation()
    {
        using var ps = Shell();
        ps.AddScript("Test-AsyncWork -Count 3 -AskEach -WhatIf");
        var output = ps.Invoke();
        Assert.Empty(output); // -WhatIf answers no for every item
        Assert.Empty(ps.Streams.Error);
    }

    [Fact]
    public void StoppingThePipelineCancelsTheOperationAndWaitsForItsRollback()
    {
        TestAsyncWorkCommand.RolledBack = false;
        using var ps = Shell();
        ps.AddScript("Test-AsyncWork -Count 1000 -DelayMs 50");
        var async = ps.BeginInvoke();
        Thread.Sleep(400);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        ps.Stop(); // what Ctrl-C does
        Assert.Throws<PipelineStoppedException>(() => ps.EndInvoke(async));
        Assert.True(TestAsyncWorkCommand.RolledBack, "the operation's cancellation handler did not run before the pipeline stopped");
        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10));
    }
}
