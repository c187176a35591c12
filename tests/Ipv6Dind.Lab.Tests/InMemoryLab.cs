using System.Text.RegularExpressions;

using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Images;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.TestSupport;

namespace Ipv6Dind.Lab.Tests;

/// <summary>
/// Labs on an <see cref="InMemoryDockerApi"/>, built as the integration tests build them (a DindLab over a Docker API
/// and a host firewall over a host command runner), with the daemon declared not this host's: no host rule and no
/// host route is ever touched, which makes them network labs with an explicit DNS64 upstream.
/// </summary>
internal static class InMemoryLab
{
    public const string Upstream = "198.51.100.53";

    /// <summary>A daemon of its own (its ID keys the cluster locks, so tests running at once never wait for each other), with the lab's images.</summary>
    public static InMemoryDockerApi NewDaemon()
    {
        var docker = new InMemoryDockerApi(NewDaemonId());
        foreach (var role in new[] { "dns64", "nat64", "node" })
            docker.AddImage(ImageBuilder.ReferenceFor(role));
        return docker;
    }

    private static string NewDaemonId() => "in-memory-" + Guid.NewGuid().ToString("N");

    /// <summary>A copy of <paramref name="source"/> under a daemon ID of its own, the cluster's lock file copied too.</summary>
    public static async Task<InMemoryDockerApi> ForkAsync(InMemoryDockerApi source, string cluster)
    {
        var fork = source.Fork(NewDaemonId());
        if (File.Exists(await LockFileAsync(source, cluster))) File.WriteAllText(await LockFileAsync(fork, cluster), "");
        return fork;
    }

    private static async Task<string> LockFileAsync(InMemoryDockerApi docker, string? cluster) =>
        System.IO.Path.Combine(LockDirectory.Path, ClusterLock.FileName((await docker.GetDaemonInfoAsync(default)).Id, cluster));

    /// <summary>Deletes the lock files of a daemon that is done with (every fork has its own): the folder stays small.</summary>
    public static async Task ForgetLocksAsync(InMemoryDockerApi docker, string cluster)
    {
        File.Delete(await LockFileAsync(docker, cluster));
        File.Delete(await LockFileAsync(docker, null));
    }

    public static DindLab Lab(IDockerApi docker, CancellationToken ct = default, RefusingHost? host = null) =>
        new(docker, new OperationContext(ct, new Progress<DindProgress>(), NullLog.Instance), new HostFirewall(host ?? new RefusingHost()))
        {
            Locality = new DaemonLocalityResult(false, docker.Endpoint, null, "in-memory daemon"),
        };

    public static DindClusterSpec Spec(string name, int nodes) =>
        new() { ClusterName = name, Nodes = nodes, Dns64Upstream = new[] { Upstream } };

    /// <summary>Nodes one at a time (so that call k is the same call in every run of a sweep), short waits.</summary>
    public static readonly LabOptions Serial = new()
    {
        NetworkOnly = true,
        Parallelism = 1,
        LockWait = TimeSpan.FromSeconds(5),
        ReadyTimeout = TimeSpan.FromSeconds(5),
        RollbackBudget = TimeSpan.FromSeconds(10),
    };

    /// <summary>
    /// The daemon's <see cref="InMemoryDockerApi.Snapshot"/> plus the cluster's lock file, when there is one; the
    /// network's operation label (a new GUID per New-DindCluster run) is shown as &lt;run&gt;.
    /// </summary>
    public static async Task<List<string>> StateAsync(InMemoryDockerApi docker, string cluster)
    {
        var lines = docker.Snapshot().Select(l => OperationLabel.Replace(l, "$1<run>")).ToList();
        if (File.Exists(await LockFileAsync(docker, cluster))) lines.Add($"lock-file {cluster}");
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static readonly Regex OperationLabel = new($"({Regex.Escape(LabLabels.Operation)}=)[0-9a-f]{{32}}", RegexOptions.CultureInvariant);

    public static string Diff(IReadOnlyList<string> expected, IReadOnlyList<string> actual) =>
        "missing: " + string.Join(" | ", expected.Except(actual)) + " ;; extra: " + string.Join(" | ", actual.Except(expected));
}

/// <summary>A host command runner that refuses (and records) every command: a lab on a daemon that is not this host's must run none.</summary>
internal sealed class RefusingHost : IHostCommandRunner
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _attempts = new();

    public IReadOnlyCollection<string> Attempts => _attempts.ToArray();

    public Task<ExecResult> RunAsync(string file, IReadOnlyList<string> arguments, string? stdin, TimeSpan timeout, CancellationToken ct)
    {
        var command = $"{file} {string.Join(' ', arguments)}";
        _attempts.Enqueue(command);
        return Task.FromException<ExecResult>(new InvalidOperationException($"A lab on the in-memory daemon ran a host command: {command}"));
    }
}
