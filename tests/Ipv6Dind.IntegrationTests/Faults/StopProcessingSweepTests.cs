using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text.RegularExpressions;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.IntegrationTests.Lab;
using Ipv6Dind.Tests;
using Xunit.Abstractions;

namespace Ipv6Dind.IntegrationTests.Faults;

/// <summary>
/// Ctrl-C as the user gives it: PowerShell.Stop() on the pipeline running the real cmdlet (its StopProcessing), at
/// every Docker API request of the operation that changes something and at the first of each kind of read
/// (<see cref="Targets"/>; IPV6DIND_SWEEP=all: at every request). The module runs in the hosted engine with DOCKER_HOST pointing at a
/// <see cref="CountingDockerRelay"/>, which numbers the requests as they arrive; no seam of the shipped assemblies
/// is used. A clean run through the relay counts K requests; then for every such k in 1..K the cmdlet runs again
/// (BeginInvoke) and the relay starts Stop() as request k begins, before forwarding it. Each case must end stopped
/// (or completed, when the stop came after the work was done) and one listing (<see cref="LabListing"/>) must
/// show the old state or nothing (New-DindCluster: nothing; Set-Dns64: the old settings or the new ones;
/// Remove-DindCluster: whatever is left, a second Remove-DindCluster removes).
/// After a stop during bring-up, the verbose/warning streams must say what was rolled back (DindLab.CreateAsync's
/// "was stopped during step …; removing the N object(s) created so far") and name anything left.
/// Network labs only, without AAAA mode: through a relay the daemon is not provably local
/// (src/Ipv6Dind.Core/Host/DaemonLocality.cs), so host-side work would be refused.
/// </summary>
public abstract class StopProcessingSweepBase : IAsyncLifetime
{
    protected const string OtherUpstream = OutsideWorld.HostAddress4;
    protected static readonly TimeSpan CaseTimeout = TimeSpan.FromMinutes(4);

    protected readonly ILabFixture _f;
    protected readonly ITestOutputHelper _out;
    private CountingDockerRelay? _relay;
    private Runspace? _runspace;
    private readonly RecordingHost _host = new();
    private string? _savedDockerHost;
    private bool _dockerHostSet;

    protected StopProcessingSweepBase(ILabFixture fixture, ITestOutputHelper output)
    {
        _f = fixture;
        _out = output;
    }

    private CountingDockerRelay Relay => _relay!;

    public Task InitializeAsync()
    {
        _relay = CountingDockerRelay.Start();
        // LabCmdlet connects with DockerApi.Connect(), which reads DOCKER_HOST: a process-wide variable ($env: in the
        // runspace is the same one). The "lab" collection does not run in parallel with others
        // (xunit.runner.json), and the fixture's own client (_f.Docker) was made before: it still reaches the daemon
        // directly, so the listings never go through the relay.
        _savedDockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        Environment.SetEnvironmentVariable("DOCKER_HOST", _relay.DockerHost);
        _dockerHostSet = true;
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(Repo.ModuleManifest);
        // A host that records its UI: after the stop, the cmdlet tells the rollback there (the streams refuse writes).
        _runspace = RunspaceFactory.CreateRunspace(_host, iss);
        _runspace.Open();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_dockerHostSet) Environment.SetEnvironmentVariable("DOCKER_HOST", _savedDockerHost);
        _runspace?.Dispose();
        if (_relay is not null) await _relay.DisposeAsync();
    }

    // ------------------------------------------------------------------------------------------------ one run

    protected sealed record Run(PSInvocationState State, Exception? Error, IReadOnlyList<PSObject> Output, IReadOnlyList<string> Verbose,
        IReadOnlyList<string> Warnings, IReadOnlyList<string> Errors, string? Hit, IReadOnlyList<string> Requests, int Unparsed, bool Hung)
    {
        public bool Stopped => State == PSInvocationState.Stopped;
        public bool Completed => State == PSInvocationState.Completed && Error is null && Errors.Count == 0;
        public string Streams => "warnings: [" + string.Join(" | ", Warnings) + "] verbose: [" + string.Join(" | ", Verbose) + "]";
    }

    /// <summary>
    /// Runs <paramref name="command"/> in the hosted engine through the relay; with <paramref name="stopAt"/> &gt; 0 the
    /// relay starts PowerShell.Stop() when request number <paramref name="stopAt"/> begins (not waiting for it: the
    /// relay forwards the request right after, as a daemon would receive it when Ctrl-C comes mid-call).
    /// </summary>
    protected Run Invoke(string command, IDictionary<string, object> parameters, int stopAt = 0)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddCommand(command);
        foreach (var (name, value) in parameters) ps.AddParameter(name, value);
        ps.AddParameter("Verbose", true);
        string? hit = null;
        _host.Clear();
        Relay.Reset((n, line) =>
        {
            if (n != stopAt) return;
            hit = line;
            ps.BeginStop(null, null);
        });
        var output = new PSDataCollection<PSObject>();
        Exception? error = null;
        var hung = false;
        try
        {
            var invocation = ps.BeginInvoke<PSObject, PSObject>(null, output);
            if (!invocation.AsyncWaitHandle.WaitOne(CaseTimeout))
            {
                hung = true;
                ps.Stop();
            }
            ps.EndInvoke(invocation);
        }
        catch (Exception e) { error = e; }
        var requests = Relay.Requests;
        var unparsed = Relay.Unparsed;
        Relay.Reset();
        // Warnings and verbose lines: the streams', and the host's (with a host the engine shows them there too; after
        // the stop, the cmdlet tells the rollback there when the streams refuse it).
        return new Run(ps.InvocationStateInfo.State, error ?? ps.InvocationStateInfo.Reason, output.ToList(),
            ps.Streams.Verbose.Select(v => v.Message).Concat(_host.Verbose).Distinct().ToList(), ps.Streams.Warning.Select(w => w.Message).Concat(_host.Warnings).Distinct().ToList(),
            ps.Streams.Error.Select(e => $"{e.FullyQualifiedErrorId}: {e}").ToList(), hit, requests, unparsed, hung);
    }

    protected Task<List<string>> SnapshotAsync(string cluster, string daemonId) => LabListing.SnapshotAsync(_f.Docker, daemonId, cluster, hostWide: false);

    /// <summary>"POST containers/create": method, the API's first path segment and its last (IDs and names dropped).</summary>
    protected static string Kind(string request)
    {
        var parts = request.Split(' ');
        if (parts.Length < 3) return request;
        var segments = parts[2].Split('?')[0].Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => !Regex.IsMatch(s, @"^v\d+\.\d+$"))
            .Select(s => Regex.IsMatch(s, "^[0-9a-f]{64}$") ? "{id}" : s).ToArray();
        var path = segments.Length <= 2 ? string.Join('/', segments) : segments[0] + "/" + segments[^1];
        return parts[1] + " " + path;
    }

    protected static string Tally(IEnumerable<string> requests) =>
        string.Join(", ", requests.Select(Kind).GroupBy(k => k).Select(g => $"{g.Count()} {g.Key}"));

    /// <summary>Objects a listing shows beyond <paramref name="before"/> that no warning of <paramref name="run"/> names.</summary>
    protected static IEnumerable<string> UnnamedLeftovers(IReadOnlyList<string> before, IReadOnlyList<string> now, Run run) =>
        now.Except(before)
            .Select(l => l.Split(' '))
            .Where(f => f.Length >= 2 && f[0] is "container" or "network" or "volume")
            .Select(f => f[1])
            .Where(name => !run.Warnings.Any(w => w.Contains(name, StringComparison.Ordinal)));

    protected void Report(string command, int k, IReadOnlyList<string> cleanRequests, int stopped, int completed, List<string> problems)
    {
        var cases = Targets(cleanRequests).Count;
        var line = $"StopProcessing sweep: {command}: {cases} cases{(cases < k ? $" ({k - cases} repeated reads skipped)" : "")} (K = {k} requests: {Tally(cleanRequests)}), {stopped} stopped, {completed} completed, {problems.Count} problem(s)";
        _out.WriteLine(line);
        foreach (var p in problems) _out.WriteLine("  " + p);
        SweepReport.Add(line);
        Assert.True(problems.Count == 0, line + "\n" + string.Join("\n", problems));
    }

    /// <summary>
    /// One case of a sweep whose cases must leave the old state or the new one: counts it as stopped or completed, and
    /// adds a problem when it did neither, when it completed unlike a clean run, or when it left neither state.
    /// </summary>
    protected static void JudgeOldOrNew(List<string> problems, string where, Run run, bool old, bool @new,
        IReadOnlyList<string> before, IReadOnlyList<string> after, IReadOnlyList<string> now, ref int stopped, ref int completed)
    {
        if (run.Stopped) stopped++;
        else if (run.Completed)
        {
            completed++;
            if (!@new) problems.Add($"{where}: completed, but not as a clean run does: {LabListing.Diff(after, now)}");
        }
        else
            problems.Add($"{where}: neither stopped nor completed: {run.State}: {run.Error?.GetType().Name} {run.Error?.Message} {string.Join("; ", run.Errors)}; {run.Streams}");
        if (!old && !@new)
            problems.Add($"{where}: {(run.Stopped ? "stopped" : run.State.ToString())} and left neither the old state ({LabListing.Diff(before, now)}) nor the new one ({LabListing.Diff(after, now)}); {run.Streams}");
    }

    /// <summary>
    /// The requests a stop is tried at: every one that changes something (POST, PUT, DELETE) and the first of each kind
    /// of read ("GET containers/json"); a stop at a later read of the same kind meets the same code in the same state
    /// as at the first (reads change nothing, and the change before it has been stopped at already). With
    /// IPV6DIND_SWEEP=all, every request; IPV6DIND_STOP_SWEEP_CASES lists cases ("13,20") to look at a few again.
    /// </summary>
    protected static IReadOnlyList<int> Targets(IReadOnlyList<string> requests)
    {
        var k = requests.Count;
        if (Environment.GetEnvironmentVariable("IPV6DIND_STOP_SWEEP_CASES") is { Length: > 0 } only)
            return only.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Where(t => t >= 1 && t <= k).ToList();
        if (Environment.GetEnvironmentVariable("IPV6DIND_SWEEP") == "all") return Enumerable.Range(1, k).ToList();
        var reads = new HashSet<string>(StringComparer.Ordinal);
        return Enumerable.Range(1, k).Where(i => !Kind(requests[i - 1]).StartsWith("GET ", StringComparison.Ordinal) || reads.Add(Kind(requests[i - 1]))).ToList();
    }

    protected static Dictionary<string, object> NewParameters(string name, int nodes, string upstream) => new()
    {
        ["ClusterName"] = name,
        ["Nodes"] = nodes,
        ["NetworkOnly"] = true,
        ["Dns64Upstream"] = new[] { upstream },
        ["Parallelism"] = 1,   // request k is the same request in every run
    };
}

/// <summary>The Ctrl-C sweep of New-DindCluster, Remove-DindCluster and Set-Dns64 (in the test process of the other lab tests).</summary>
[Collection("lab")]
public sealed class StopProcessingSweepTests : StopProcessingSweepBase
{
    public StopProcessingSweepTests(LabFixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    // ------------------------------------------------------------------------------------------------ New-DindCluster

    [Fact]
    // One node: the smallest lab whose bring-up makes every kind of request (network, DNS64, NAT64, a node, its
    // routes and resolver); a second node only repeats the node's requests.
    public async Task NewDindClusterNetworkLabOneNode()
    {
        const string command = "New-DindCluster -Nodes 1 -NetworkOnly";
        const string name = "it-cc-stop-new";
        var daemonId = await _f.DaemonIdAsync();
        try
        {
            await _f.Lab().RemoveAsync(name);
            var before = await SnapshotAsync(name, daemonId);

            var clean = Invoke("New-DindCluster", NewParameters(name, 1, _f.Upstream));
            Assert.True(clean.Completed, $"clean run: {clean.State} {clean.Error?.Message} {string.Join("; ", clean.Errors)}");
            Assert.Equal(0, clean.Unparsed);
            var after = await SnapshotAsync(name, daemonId);
            var k = clean.Requests.Count;
            _out.WriteLine($"clean run, {k} requests:\n  " + string.Join("\n  ", clean.Requests));
            // From the network's create on, a stop has something to roll back and must say so.
            var firstCreate = clean.Requests.Select((r, i) => (r, i)).First(x => x.r.Contains("/networks/create", StringComparison.Ordinal)).i + 1;
            await _f.Lab().RemoveAsync(name);
            Assert.True(before.SequenceEqual(await SnapshotAsync(name, daemonId)), "removal after the clean run: " + LabListing.Diff(before, await SnapshotAsync(name, daemonId)));

            var problems = new List<string>();
            int stopped = 0, completed = 0;
            foreach (var target in Targets(clean.Requests))
            {
                var run = Invoke("New-DindCluster", NewParameters(name, 1, _f.Upstream), stopAt: target);
                var now = await SnapshotAsync(name, daemonId);
                var where = $"{command}: stop at request {target}/{k} ({run.Hit ?? "not reached"})";
                if (run.Hung) problems.Add($"{where}: the pipeline did not end within {CaseTimeout}");
                if (run.Unparsed > 0) problems.Add($"{where}: the relay lost track of {run.Unparsed} connection(s)");
                if (run.Stopped)
                {
                    stopped++;
                    if (!now.SequenceEqual(before))
                    {
                        problems.Add($"{where}: stopped and left: {LabListing.Diff(before, now)}; {run.Streams}");
                        foreach (var unnamed in UnnamedLeftovers(before, now, run))
                            problems.Add($"{where}: {unnamed} is left and no warning names it");
                    }
                    if (target >= firstCreate && !run.Warnings.Any(w => w.Contains($"New-DindCluster '{name}' was stopped during step", StringComparison.Ordinal) && w.Contains("object(s) created so far", StringComparison.Ordinal)))
                        problems.Add($"{where}: stopped after the network's create, but no warning says what was rolled back; {run.Streams}");
                }
                else if (run.Completed)
                {
                    completed++;
                    if (run.Hit is not null && target < k)
                        problems.Add($"{where}: completed although stopped before its last request");
                    if (!now.SequenceEqual(after)) problems.Add($"{where}: completed, but not as a clean run does: {LabListing.Diff(after, now)}");
                    if (run.Output.Count != 1 || run.Output[0].BaseObject is not DindCluster) problems.Add($"{where}: completed without the DindCluster object");
                }
                else
                    problems.Add($"{where}: neither stopped nor completed: {run.State}: {run.Error?.GetType().Name} {run.Error?.Message} {string.Join("; ", run.Errors)}; {run.Streams}; left: {LabListing.Diff(before, now)}");

                if (!(await SnapshotAsync(name, daemonId)).SequenceEqual(before))
                {
                    await _f.Lab().RemoveAsync(name);
                    before = await SnapshotAsync(name, daemonId);
                }
            }
            Report(command, k, clean.Requests, stopped, completed, problems);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    // ------------------------------------------------------------------------------------------------ Remove-DindCluster

    [Fact]
    public async Task RemoveDindClusterNetworkLabOneNode()
    {
        const string command = "Remove-DindCluster (network lab, 1 node)";
        const string name = "it-cc-stop-rm";
        var daemonId = await _f.DaemonIdAsync();
        var spec = new DindClusterSpec { ClusterName = name, Nodes = 1, Dns64Upstream = new[] { _f.Upstream } };
        var remove = new Dictionary<string, object> { ["ClusterName"] = new[] { name }, ["Confirm"] = false };
        Task Arrange() => _f.Lab().CreateAsync(spec, new LabOptions { NetworkOnly = true });
        try
        {
            await _f.Lab().RemoveAsync(name);
            var nothing = await SnapshotAsync(name, daemonId);
            await Arrange();
            var clean = Invoke("Remove-DindCluster", remove);
            Assert.True(clean.Completed, $"clean run: {clean.State} {clean.Error?.Message} {string.Join("; ", clean.Errors)}");
            Assert.Equal(0, clean.Unparsed);
            var after = await SnapshotAsync(name, daemonId);
            Assert.True(after.SequenceEqual(nothing), "the clean removal left: " + LabListing.Diff(nothing, after));
            var k = clean.Requests.Count;
            _out.WriteLine($"clean run, {k} requests:\n  " + string.Join("\n  ", clean.Requests));

            var problems = new List<string>();
            int stopped = 0, completed = 0;
            foreach (var target in Targets(clean.Requests))
            {
                await Arrange();
                var run = Invoke("Remove-DindCluster", remove, stopAt: target);
                var now = await SnapshotAsync(name, daemonId);
                var where = $"{command}: stop at request {target}/{k} ({run.Hit ?? "not reached"})";
                if (run.Hung) problems.Add($"{where}: the pipeline did not end within {CaseTimeout}");
                if (run.Unparsed > 0) problems.Add($"{where}: the relay lost track of {run.Unparsed} connection(s)");
                if (run.Stopped)
                {
                    stopped++;
                    // Removal cannot restore what it removed: a second Remove-DindCluster must finish the job.
                    var second = Invoke("Remove-DindCluster", remove);
                    var rest = await SnapshotAsync(name, daemonId);
                    if (!second.Completed) problems.Add($"{where}: the second Remove-DindCluster failed: {second.State} {second.Error?.Message} {string.Join("; ", second.Errors)}");
                    if (!rest.SequenceEqual(after)) problems.Add($"{where}: stopped; a second Remove-DindCluster left: {LabListing.Diff(after, rest)}");
                }
                else if (run.Completed)
                {
                    completed++;
                    if (!now.SequenceEqual(after)) problems.Add($"{where}: completed and left: {LabListing.Diff(after, now)}");
                }
                else
                    problems.Add($"{where}: neither stopped nor completed: {run.State}: {run.Error?.GetType().Name} {run.Error?.Message} {string.Join("; ", run.Errors)}; {run.Streams}");
                if (!(await SnapshotAsync(name, daemonId)).SequenceEqual(after)) await _f.Lab().RemoveAsync(name);
            }
            Report(command, k, clean.Requests, stopped, completed, problems);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }

    // ------------------------------------------------------------------------------------------------ Set-Dns64 -Upstream

    [Fact]
    public async Task SetDns64Upstream()
    {
        const string command = "Set-Dns64 -Upstream (network lab, 1 node)";
        const string name = "it-cc-stop-dns";
        var daemonId = await _f.DaemonIdAsync();
        var spec = new DindClusterSpec { ClusterName = name, Nodes = 1, Dns64Upstream = new[] { _f.Upstream } };
        var set = new Dictionary<string, object> { ["ClusterName"] = name, ["Dns64Upstream"] = new[] { OtherUpstream } };
        Task Arrange() => _f.Lab().CreateAsync(spec, new LabOptions { NetworkOnly = true });
        Task Restore() => _f.Lab().SetDns64Async(name, null, new[] { _f.Upstream });
        try
        {
            await _f.Lab().RemoveAsync(name);
            await Arrange();
            var before = await SnapshotAsync(name, daemonId);
            var clean = Invoke("Set-Dns64", set);
            Assert.True(clean.Completed, $"clean run: {clean.State} {clean.Error?.Message} {string.Join("; ", clean.Errors)}");
            Assert.Equal(0, clean.Unparsed);
            var after = await SnapshotAsync(name, daemonId);
            Assert.Equal(new[] { OtherUpstream }, (await _f.Lab().GetDns64Async(name)).Upstream);
            var k = clean.Requests.Count;
            _out.WriteLine($"clean run, {k} requests:\n  " + string.Join("\n  ", clean.Requests));
            await Restore();
            Assert.True(before.SequenceEqual(await SnapshotAsync(name, daemonId)), "restore after the clean run: " + LabListing.Diff(before, await SnapshotAsync(name, daemonId)));
            // The new state is the old one with the DNS64 container of the new spec; kept so when a case has to
            // rebuild the lab (its network then gets other IPv4 ranges).
            var dns64 = $"container {LabNames.Dns64(name)} ";
            var newDns64 = after.Single(l => l.StartsWith(dns64, StringComparison.Ordinal));
            List<string> NewState(List<string> old) => old.Select(l => l.StartsWith(dns64, StringComparison.Ordinal) ? newDns64 : l).OrderBy(l => l, StringComparer.Ordinal).ToList();

            var problems = new List<string>();
            int stopped = 0, completed = 0;
            foreach (var target in Targets(clean.Requests))
            {
                var run = Invoke("Set-Dns64", set, stopAt: target);
                var now = await SnapshotAsync(name, daemonId);
                var where = $"{command}: stop at request {target}/{k} ({run.Hit ?? "not reached"})";
                if (run.Hung) problems.Add($"{where}: the pipeline did not end within {CaseTimeout}");
                if (run.Unparsed > 0) problems.Add($"{where}: the relay lost track of {run.Unparsed} connection(s)");
                Dns64Settings? settings = null;
                try { settings = await _f.Lab().GetDns64Async(name); }
                catch (DindException e) { problems.Add($"{where}: {(run.Stopped ? "stopped" : run.State.ToString())}; Get-Dns64 then fails: {e.Message}; {LabListing.Diff(before, now)}; {run.Streams}"); }
                var old = now.SequenceEqual(before);
                var @new = now.SequenceEqual(after);
                // Old settings or new ones, in the listing and in what Get-Dns64 reads; DNS64 runs either way.
                JudgeOldOrNew(problems, where, run, old, @new, before, after, now, ref stopped, ref completed);
                if ((old || @new) && settings is not null && (string.Join(",", settings.Upstream) != (old ? _f.Upstream : OtherUpstream) || !settings.Running))
                    problems.Add($"{where}: Get-Dns64 shows upstream {string.Join(",", settings.Upstream)}, running {settings.Running}, with the {(old ? "old" : "new")} listing");

                if (@new) await Restore();
                else if (!old)
                {
                    await _f.Lab().RemoveAsync(name);
                    await Arrange();
                    before = await SnapshotAsync(name, daemonId);
                    after = NewState(before);
                }
            }
            Report(command, k, clean.Requests, stopped, completed, problems);
        }
        finally { await _f.Lab().RemoveAsync(name); }
    }
}
