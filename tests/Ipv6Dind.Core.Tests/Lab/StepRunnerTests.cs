using System.Collections.Concurrent;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Core.Tests.Lab;

/// <summary>The one runner of multi-step operations: order, dependencies, progress, verbose lines, failure and undo.</summary>
public sealed class StepRunnerTests
{
    private sealed class Log : IDindLog
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public void Verbose(string message) => Lines.Enqueue("V " + message);
        public void Warning(string message) => Lines.Enqueue("W " + message);
        public void Debug(string message) { }
    }

    private sealed class Sink : IProgress<DindProgress>
    {
        public ConcurrentQueue<DindProgress> Records { get; } = new();
        public void Report(DindProgress value) => Records.Enqueue(value);
    }

    private static (StepRunner Runner, Log Log, Sink Progress) Runner(CancellationToken ct = default, Func<string, CancellationToken, Task>? afterStep = null)
    {
        var log = new Log();
        var sink = new Sink();
        return (new StepRunner("Op", new OperationContext(ct, sink, log), afterStep), log, sink);
    }

    private static LabStep Step(string name, ConcurrentQueue<string> trace, int weight = 1, Func<StepScope, Task>? body = null, params string[] after) =>
        new(name, "doing " + name, weight, async scope =>
        {
            trace.Enqueue("start " + name);
            if (body is not null) await body(scope);
            trace.Enqueue("end " + name);
        }) { After = after.Length == 0 ? null : after };

    [Fact]
    public async Task ASequenceRunsInOrderTellsEachStepAndSplitsTheBarByWeight()
    {
        var (runner, log, sink) = Runner();
        var trace = new ConcurrentQueue<string>();
        await runner.RunAsync(new[]
        {
            Step("a", trace, 1),
            Step("b", trace, 3, s => { s.Report("half", 1, 2); return Task.CompletedTask; }),
            Step("c", trace, 1),
        }, from: 0, to: 100);
        runner.Complete("c");

        Assert.Equal(new[] { "start a", "end a", "start b", "end b", "start c", "end c" }, trace);
        Assert.Equal(new[] { "a", "b", "c" }, runner.Completed);
        Assert.Equal(new[]
        {
            "V Step 'a': doing a.", "V Step 'a' done.", "V Step 'b': doing b.", "V Step 'b' done.", "V Step 'c': doing c.", "V Step 'c' done.",
        }, log.Lines);
        // a: 0-20 %, b: 20-80 % (half of it: 50 %), c: 80-100 %; then the completed record.
        Assert.Equal(new[] { (0, "a: doing a"), (20, "b: doing b"), (50, "b: half"), (80, "c: doing c"), (100, "c: done") },
            sink.Records.Select(r => (r.PercentComplete, r.Status)));
        Assert.True(sink.Records.Last().Completed);
        Assert.All(sink.Records, r => Assert.Equal("Op", r.Activity));
    }

    [Fact]
    public async Task AFailedStepStopsTheSequenceIsNamedAndItsJournalIsUndoneNewestFirst()
    {
        var (runner, log, _) = Runner();
        var trace = new ConcurrentQueue<string>();
        var undone = new List<string>();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.RunAsync(new[]
        {
            Step("a", trace, body: s => { s.Journal.Record("a1", _ => { undone.Add("a1"); return Task.CompletedTask; }); return Task.CompletedTask; }),
            Step("b", trace, body: s =>
            {
                s.Journal.Record("b1", _ => { undone.Add("b1"); return Task.CompletedTask; });
                throw new InvalidOperationException("boom");
            }),
            Step("c", trace),
        }));

        Assert.Equal("boom", error.Message);
        Assert.Equal("b", runner.FailedStep);
        Assert.Equal(new[] { "a" }, runner.Completed);
        Assert.DoesNotContain("start c", trace);
        Assert.Empty(await runner.RollBackAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(new[] { "b1", "a1" }, undone);
        Assert.Contains("V Rolling back: b1.", log.Lines);
    }

    [Fact]
    public async Task TheSeamAfterAStepCanFailItOrCancelTheOperationBeforeTheNextStarts()
    {
        var trace = new ConcurrentQueue<string>();
        var (failing, _, _) = Runner(afterStep: (s, _) => s == "a" ? throw new InvalidOperationException("after a") : Task.CompletedTask);
        await Assert.ThrowsAsync<InvalidOperationException>(() => failing.RunAsync(new[] { Step("a", trace), Step("b", trace) }));
        Assert.Equal("a", failing.FailedStep);
        Assert.DoesNotContain("start b", trace);

        using var cts = new CancellationTokenSource();
        var (cancelled, _, _) = Runner(cts.Token, (s, _) => { if (s == "a") cts.Cancel(); return Task.CompletedTask; });
        var other = new ConcurrentQueue<string>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.RunAsync(new[] { Step("a", other), Step("b", other) }));
        Assert.Equal("b", cancelled.FailedStep);     // stopped as b was about to start
        Assert.DoesNotContain("start b", other);
    }

    [Fact]
    public async Task MarkDoneTellsAStepThatRanBeforeTheRunnerAndRunsTheSeam()
    {
        var seen = new List<string>();
        var (runner, log, _) = Runner(afterStep: (s, _) => { seen.Add(s); return Task.CompletedTask; });
        await runner.MarkDoneAsync("preflight");
        Assert.Equal(new[] { "preflight" }, seen);
        Assert.Equal(new[] { "V Step 'preflight' done." }, log.Lines);
        Assert.Equal(new[] { "preflight" }, runner.Completed);
    }

    [Fact]
    public async Task WithParallelismStepsWhoseNeedsAreMetRunAtOnceAndADependentWaits()
    {
        var (runner, _, sink) = Runner();
        var trace = new ConcurrentQueue<string>();
        var bothRunning = new TaskCompletionSource();
        var running = 0;
        async Task Meet(StepScope _)
        {
            if (Interlocked.Increment(ref running) == 2) bothRunning.TrySetResult();
            await bothRunning.Task.WaitAsync(TimeSpan.FromSeconds(10));   // only completes when b and c overlap
        }
        await runner.RunAsync(new[]
        {
            Step("a", trace),
            Step("b", trace, body: Meet, after: "a"),
            Step("c", trace, body: Meet, after: "a"),
            Step("d", trace, after: new[] { "b", "c" }),
        }, parallelism: 4);

        var order = trace.ToList();
        Assert.True(order.IndexOf("end a") < order.IndexOf("start b") && order.IndexOf("end a") < order.IndexOf("start c"), string.Join(", ", order));
        Assert.True(order.IndexOf("start d") > Math.Max(order.IndexOf("end b"), order.IndexOf("end c")), string.Join(", ", order));
        var percents = sink.Records.Select(r => r.PercentComplete).ToList();
        Assert.Equal(percents.Order(), percents);                   // the bar never moves back
    }

    [Fact]
    public async Task StepsSideBySideMoveTheBarTogetherByTheWeightEachHasDone()
    {
        // b (weight 2) and c (weight 2) run at once after a (weight 1): b half done and c half done is 1 + 1 + 1 of 5.
        var (runner, _, sink) = Runner();
        var trace = new ConcurrentQueue<string>();
        var halfway = new TaskCompletionSource();
        var reported = 0;
        async Task Half(StepScope scope)
        {
            scope.Report("half", 1, 2);
            if (Interlocked.Increment(ref reported) == 2) halfway.TrySetResult();
            await halfway.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        await runner.RunAsync(new[]
        {
            Step("a", trace, 1),
            Step("b", trace, 2, Half, "a"),
            Step("c", trace, 2, Half, "a"),
        }, parallelism: 4, from: 0, to: 100);

        var halves = sink.Records.Where(r => r.Status.EndsWith(": half", StringComparison.Ordinal)).Select(r => r.PercentComplete).ToList();
        Assert.Equal(new[] { 40, 60 }, halves);      // (1 + 1) / 5, then (1 + 1 + 1) / 5
    }

    [Fact]
    public async Task WithParallelismTheFirstFailureStopsTheStepsBesideItAndNoDependentStarts()
    {
        var (runner, _, _) = Runner();
        var trace = new ConcurrentQueue<string>();
        var slowStopped = false;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.RunAsync(new[]
        {
            Step("a", trace),
            Step("slow", trace, body: async s =>
            {
                try { await Task.Delay(TimeSpan.FromSeconds(30), s.Cancellation); }
                catch (OperationCanceledException) { slowStopped = true; throw; }
            }, after: "a"),
            Step("bad", trace, body: async _ => { await Task.Delay(50); throw new InvalidOperationException("bad"); }, after: "a"),
            Step("last", trace, after: new[] { "slow", "bad" }),
        }, parallelism: 4));

        Assert.Equal("bad", error.Message);
        Assert.Equal("bad", runner.FailedStep);
        Assert.True(slowStopped);
        Assert.DoesNotContain("start last", trace);
    }

    [Fact]
    public async Task AStepListThatCannotRunIsRefusedBeforeAnyStepStarts()
    {
        var trace = new ConcurrentQueue<string>();
        var (runner, _, _) = Runner();
        var twice = await Assert.ThrowsAsync<ArgumentException>(() => runner.RunAsync(new[] { Step("a", trace), Step("a", trace) }));
        Assert.Contains("Two steps are named 'a'", twice.Message);
        var later = await Assert.ThrowsAsync<ArgumentException>(() => runner.RunAsync(new[] { Step("a", trace, after: "b"), Step("b", trace) }));
        Assert.Contains("Step 'a' needs 'b', which is not a step before it", later.Message);
        Assert.Empty(trace);
    }

    [Fact]
    public async Task ACancelledOperationStopsEveryRunningStepAndSaysSo()
    {
        using var cts = new CancellationTokenSource();
        var (runner, _, _) = Runner(cts.Token);
        var trace = new ConcurrentQueue<string>();
        var run = runner.RunAsync(new[]
        {
            Step("a", trace),
            Step("wait1", trace, body: s => Task.Delay(TimeSpan.FromSeconds(30), s.Cancellation), after: "a"),
            Step("wait2", trace, body: s => Task.Delay(TimeSpan.FromSeconds(30), s.Cancellation), after: "a"),
        }, parallelism: 2);
        while (trace.Count(t => t.StartsWith("start wait", StringComparison.Ordinal)) < 2) await Task.Delay(10);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.StartsWith("wait", runner.FailedStep);
        Assert.Equal(new[] { "a" }, runner.Completed);
    }
}
