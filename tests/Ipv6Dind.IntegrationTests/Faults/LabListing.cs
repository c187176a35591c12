using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.IntegrationTests.Lab;

namespace Ipv6Dind.IntegrationTests.Faults;

/// <summary>
/// The one listing the sweeps (<see cref="FaultSweepTests"/>, <see cref="StopProcessingSweepTests"/>) compare before
/// and after each case: containers, networks and volumes - anonymous ones included -, the module's host ip6tables
/// rules, host routes of proto 166, node routes, the cluster's lock file, temp folders.
/// </summary>
public static class LabListing
{
    /// <summary>
    /// Everything of <paramref name="cluster"/> an operation could leave or change, one line each, sorted.
    /// <paramref name="docker"/> must reach the daemon directly (not through a relay under test);
    /// <paramref name="daemonId"/> keys the cluster's lock file. Without <paramref name="hostWide"/>, only what is
    /// provably the cluster's: volumes with its label (no anonymous ones), host rules naming it, no host routes or
    /// temp folders - for runs that share the daemon and the host with other test runs, and whose labs create no
    /// anonymous volumes and change nothing on the host (network labs through a relay: the daemon is not provably
    /// local, src/Ipv6Dind.Core/Host/DaemonLocality.cs).
    /// </summary>
    public static async Task<List<string>> SnapshotAsync(IDockerApi docker, string daemonId, string cluster, bool nodeRoutes = false, bool hostWide = true)
    {
        var lines = new List<string>();
        var containers = await docker.ListContainersAsync(null, default);
        foreach (var c in containers.Where(c => c.Name == cluster || c.Name.StartsWith(cluster + "-", StringComparison.Ordinal) || c.Labels.GetValueOrDefault(LabLabels.Cluster) == cluster))
        {
            var labels = string.Join(",", c.Labels.Where(l => l.Key != LabLabels.Spec).OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}"));
            var spec = c.Labels.GetValueOrDefault(LabLabels.Spec)?.GetHashCode(StringComparison.Ordinal).ToString("x8") ?? "-";
            lines.Add($"container {c.Name} {c.State} {c.Image} {labels} spec:{spec}");
            if (nodeRoutes && c.Running && c.Labels.GetValueOrDefault(LabLabels.Role) == LabLabels.RoleNode)
            {
                var routes = await docker.ExecAsync(c.Id, new[] { "ip", "-6", "route", "show" }, null, null, default);
                lines.AddRange(routes.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Where(r => !r.Contains("proto kernel", StringComparison.Ordinal)).Select(r => $"route {c.Name} {r}"));
            }
        }
        lines.AddRange((await docker.ListNetworksAsync(null, default)).Where(n => n.Name.Contains(cluster, StringComparison.Ordinal) || n.Labels.GetValueOrDefault(LabLabels.Cluster) == cluster)
            // IPv6 only: Docker picks a network's IPv4 /24 itself, anew each time a lab is made (a removal's restore).
            .Select(n => $"network {n.Name} {string.Join(",", n.Subnets.Where(x => x.Contains(':')).Order())}"));
        lines.AddRange((await docker.ListVolumesAsync(LabLabels.ClusterFilter(cluster), default)).Select(v => $"volume {v}"));
        if (hostWide)
        {
            // Volumes no container uses: an anonymous volume left behind by a removed container shows here.
            var dangling = await HostProcess.RunAsync("docker", new[] { "volume", "ls", "-q", "-f", "dangling=true" }, TimeSpan.FromSeconds(30), default);
            lines.AddRange(dangling.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(v => "dangling-volume " + v.Trim()));
        }
        var save = await HostProcess.RunAsync("ip6tables-save", Array.Empty<string>(), TimeSpan.FromSeconds(30), default);
        lines.AddRange(save.StdOut.Split('\n')
            .Where(l => l.Contains(LabNames.HostRuleClusterPrefix(cluster), StringComparison.Ordinal) || (hostWide && l.Contains("ipv6dind/daemon/", StringComparison.Ordinal)))
            // The comment ends in the network's ID, new when a restore recreates the lab; the rule must be there, tagged.
            .Select(l => "rule " + System.Text.RegularExpressions.Regex.Replace(l.Trim(), "(ipv6dind/cluster/[^/\"]+/)[0-9a-f]{12}", "$1<network id>")));
        if (hostWide)
        {
            var routes166 = await HostProcess.RunAsync("ip", new[] { "-6", "route", "show", "proto", "166" }, TimeSpan.FromSeconds(10), default);
            lines.AddRange(routes166.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => "host-route " + r.Trim()));
        }
        var lockFile = Path.Combine(ClusterLock.SharedDirectory, ClusterLock.FileName(daemonId, cluster));
        if (File.Exists(lockFile)) lines.Add("lock-file " + lockFile);
        if (hostWide) lines.AddRange(Directory.GetDirectories(Path.GetTempPath(), "ipv6dind-images-*").Select(d => "temp " + d));
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    public static string Diff(IReadOnlyList<string> expected, IReadOnlyList<string> actual) =>
        "missing: " + string.Join(" | ", expected.Except(actual)) + " ;; extra: " + string.Join(" | ", actual.Except(expected));
}
