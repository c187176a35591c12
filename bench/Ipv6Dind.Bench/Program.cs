using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Ipv6Dind;
using Ipv6Dind.Core.Addressing;

// Speed goals, printed as figures from one run (never asserted in tests):
//   plan + validate a 200-node spec: median <= 5 ms
//   Import-Module into a fresh runspace: median <= 300 ms (after the first, cold import of the process)
//   lab bring-up <= 1.3x the floor at N = 1 and <= 1.15x at N = 10 and 50; reset <= 1.3x at N = 10; teardown <= 1.0x
//   (the floor: the same containers started bare, 8 at a time; bench/README.md)
// Run: bench/run [options]   (installs the egress guard; or dotnet run --project bench/Ipv6Dind.Bench -c Release -- [options])
//   (none)        everything: planning and import, then the lab at N = 1, 3, 10 (3 runs each)
//   --planning    only planning and Import-Module
//   --lab         only the lab next to its floor (also --lab-only)
//   --quick       only the lab, N = 1 and 3, one run each
//   --nodes LIST  only the lab, at these node counts (e.g. --nodes 50, --nodes 1,3,10)
//   --runs K      runs per node count (default 3)
//   --no-guard-check  run the lab without checking for the egress guard (hosts with no uplink to protect)

if (args.Length == 2 && args[0] == "--cold-import")
{
    // Child mode: one cold import in a fresh process, in milliseconds, on stdout ("none": the engine alone).
    var sw0 = Stopwatch.StartNew();
    ImportOnce(args[1] == "none" ? null : args[1]);
    Console.WriteLine(sw0.Elapsed.TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
    return 0;
}

bool planningOnly = false, labOnly = false, checkGuard = true;
int[] nodeCounts = { 1, 3, 10 };
int runs = 3;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--planning": planningOnly = true; break;
        case "--lab": case "--lab-only": labOnly = true; break;
        case "--quick": labOnly = true; nodeCounts = new[] { 1, 3 }; runs = 1; break;
        case "--nodes" when i + 1 < args.Length:
            labOnly = true;
            nodeCounts = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
            break;
        case "--runs" when i + 1 < args.Length: labOnly = true; runs = Math.Max(1, int.Parse(args[++i])); break;
        case "--no-guard-check": checkGuard = false; break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'; see the head of bench/Ipv6Dind.Bench/Program.cs or bench/README.md");
            return 2;
    }
}
var runPlanning = planningOnly || !labOnly;
var runLab = labOnly || !planningOnly;

Console.WriteLine("Ipv6Dind bench  (medians of repeated runs in this process; machine: " + Environment.ProcessorCount + " CPUs)");
if (runPlanning)
{
    var status = PlanningAndImport();
    if (status != 0) return status;
}
if (runLab)
    return await Ipv6Dind.Bench.LabBench.RunAsync(new Ipv6Dind.Bench.LabBenchOptions(nodeCounts, runs, checkGuard));
return 0;

static int PlanningAndImport()
{
    var root = FindRoot();
    var manifest = Path.Combine(root, "out", "Ipv6Dind", "Ipv6Dind.psd1");

    // 1. Planning.
    var spec = new DindClusterSpec { ClusterName = "bench", Nodes = 200, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" } };
    var environment = new PlanEnvironment
    {
        Reserved = Enumerable.Range(0, 50).Select(i => new ReservedRange($"fd00:{i + 1000:x}::/48", ReservationKind.Cluster, $"cluster {i}")).ToList(),
        HostResolvers = Array.Empty<string>(),
    };
    for (var i = 0; i < 50; i++) AddressPlanner.Plan(spec, environment); // warm-up (JIT)
    var planTimes = Measure(200, () => AddressPlanner.Plan(spec, environment));
    Report("plan + validate, 200 nodes, 50 reserved ranges", planTimes, goalMs: 5);
    // Linearity: the same plan at 125, 250, 500 and 1000 nodes; each doubling should about double the time.
    double? previous = null;
    foreach (var nodes in new[] { 125, 250, 500, 1000 })
    {
        var sized = new DindClusterSpec { ClusterName = "bench", Nodes = nodes, Subnet = "fd00:77::/48", Dns64Upstream = new[] { "198.51.100.53" } };
        for (var i = 0; i < 10; i++) AddressPlanner.Plan(sized, environment);
        var times = Measure(60, () => AddressPlanner.Plan(sized, environment));
        var median = Median(times);
        Console.WriteLine($"  plan + validate, {nodes,4} nodes: median {median:F2} ms ({median * 1000 / nodes:F1} µs/node){(previous is null ? "" : $", x{median / previous:F2} for 2x nodes")}");
        previous = median;
    }

    // 2. Import-Module into fresh runspaces (the first is the process's cold import: engine JIT).
    if (!File.Exists(manifest))
    {
        Console.WriteLine($"module not built ({manifest}); run dotnet build first");
        return 1;
    }
    var cold = Stopwatch.StartNew();
    ImportOnce(manifest);
    Console.WriteLine($"  first (cold) Import-Module in this process: {cold.Elapsed.TotalMilliseconds:F0} ms");
    var importTimes = Measure(15, () => ImportOnce(manifest));
    Report("Import-Module into a fresh runspace (warm process)", importTimes, goalMs: 300);

    // 3. The same in fresh processes: what a cron job or a new pwsh pays. The engine's own cold start (JIT of
    // System.Management.Automation) is measured beside it, in the same run, so the module's share is visible.
    var coldTimes = ColdRuns(manifest);
    var engineTimes = ColdRuns("none");
    Report("cold process: engine start + Import-Module", coldTimes, goalMs: null);
    Report("cold process: engine start alone (floor)", engineTimes, goalMs: null);
    Console.WriteLine($"  module's share of a cold start: {Median(coldTimes) - Median(engineTimes):F0} ms (goal <= 300 ms: {(Median(coldTimes) - Median(engineTimes) <= 300 ? "met" : "NOT met")}); ratio to the floor {Median(coldTimes) / Median(engineTimes):F2}x");
    return 0;
}

static void ImportOnce(string? manifest)
{
    var iss = InitialSessionState.CreateDefault2();
    if (manifest is not null) iss.ImportPSModule(manifest);
    using var runspace = RunspaceFactory.CreateRunspace(iss);
    runspace.Open();
    using var ps = PowerShell.Create(runspace);
    ps.AddCommand("Get-Command").AddParameter("Module", "Ipv6Dind").Invoke();
}

static List<double> ColdRuns(string manifestOrNone)
{
    var times = new List<double>();
    for (var i = 0; i < 5; i++)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        psi.ArgumentList.Add("--cold-import");
        psi.ArgumentList.Add(manifestOrNone);
        using var child = Process.Start(psi)!;
        var text = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        times.Add(double.Parse(text.Trim().Split('\n').Last(), System.Globalization.CultureInfo.InvariantCulture));
    }
    return times;
}

static List<double> Measure(int runs, Action action)
{
    var times = new List<double>(runs);
    for (var i = 0; i < runs; i++)
    {
        var sw = Stopwatch.StartNew();
        action();
        times.Add(sw.Elapsed.TotalMilliseconds);
    }
    return times;
}

static double Median(List<double> values)
{
    var sorted = values.OrderBy(v => v).ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

static void Report(string what, List<double> times, double? goalMs)
{
    var median = Median(times);
    var goal = goalMs is null ? "" : $"  goal <= {goalMs} ms: {(median <= goalMs ? "met" : "NOT met")}";
    Console.WriteLine($"  {what}: median {median:F2} ms (min {times.Min():F2}, max {times.Max():F2}, n={times.Count}){goal}");
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Ipv6Dind.sln"))) return dir.FullName;
    throw new InvalidOperationException("Ipv6Dind.sln not found");
}
