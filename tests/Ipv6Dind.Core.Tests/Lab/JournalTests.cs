using System.Collections.Concurrent;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Lab;
using Xunit;

namespace Ipv6Dind.Core.Tests.Lab;

public class JournalTests
{
    [Fact]
    public async Task RecordingFromParallelNodeCreationsKeepsEveryUndoStep()
    {
        // Nodes are created in parallel and each records its container: a lost entry is a container left behind
        // (CI once found node 2 of 2 and its network after a failed bring-up).
        const int threads = 8, each = 20000;
        var journal = new Journal(NullLog.Instance);
        var undone = new ConcurrentBag<int>();
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < each; i++)
            {
                var n = t * each + i;
                journal.Record($"container {n}", _ => { undone.Add(n); return Task.CompletedTask; });
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        Assert.Equal(threads * each, journal.Count);
        Assert.Empty(await journal.RollBackAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(0, threads * each), undone.OrderBy(i => i));
    }

    [Fact]
    public async Task RollBackUndoesNewestFirstAndNamesTheStepsItCouldNotUndo()
    {
        var journal = new Journal(NullLog.Instance);
        var order = new List<string>();
        journal.Record("network n", _ => { order.Add("network n"); return Task.CompletedTask; });
        journal.Record("container a", _ => throw new InvalidOperationException("busy"));
        journal.Record("container b", _ => { order.Add("container b"); return Task.CompletedTask; });

        var failed = await journal.RollBackAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(new[] { "container b", "network n" }, order);
        Assert.Equal(new[] { "container a" }, failed);
        Assert.Equal(0, journal.Count);
    }

    [Fact]
    public async Task CommitForgetsTheUndoSteps()
    {
        var journal = new Journal(NullLog.Instance);
        var ran = false;
        journal.Record("container a", _ => { ran = true; return Task.CompletedTask; });
        journal.Commit();
        Assert.Empty(await journal.RollBackAsync(TimeSpan.FromSeconds(1)));
        Assert.False(ran);
    }
}
