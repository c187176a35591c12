using System.Globalization;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Core.Host;

/// <summary>One route on the host into a cluster: a pod or service prefix via a node's management address.</summary>
public sealed record HostRoute(string Destination, string Gateway, string NodeName, string Kind);

/// <summary>
/// Sync-DindRoute -Host: the host's own routes to a cluster's pod prefixes (each via its node) and service prefix
/// (via the control-plane node), so kubectl and curl on the host reach pods and services.
///
/// How they are told apart from every other route: each is added with the routing protocol number
/// <see cref="Protocol"/> (`ip -6 route replace … proto 166`; the kernel keeps it, `ip -6 route show proto 166` lists
/// them, and 166 is not one of iproute2's named protocols in /etc/iproute2/rt_protos). A route of ours belongs to the
/// cluster whose management prefix holds its gateway: clusters never overlap, so that prefix names exactly one.
/// Removal deletes exactly those routes and nothing else. When the cluster's network (its bridge) is removed, the
/// kernel drops routes through it by itself.
/// </summary>
public sealed class HostRoutes
{
    /// <summary>The rtnetlink protocol number of Ipv6Dind's host routes.</summary>
    public const int Protocol = 166;
    public const string KindHost = "Host";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly IHostCommandRunner _run;

    public HostRoutes(IHostCommandRunner? runner = null) => _run = runner ?? HostCommandRunner.Instance;

    /// <summary>The routes the host needs for a plan: every node's pod prefix via the node, services via the control plane.</summary>
    public static IReadOnlyList<HostRoute> Plan(AddressPlan plan)
    {
        var routes = plan.NodeAddresses
            .Where(n => n.PodPrefix.Length > 0 && n.IPv6Address.Length > 0)
            .Select(n => new HostRoute(n.PodPrefix, n.IPv6Address, n.NodeName, "Pod"))
            .ToList();
        var control = plan.NodeAddresses.OrderBy(n => n.Index).FirstOrDefault();
        if (control is not null && plan.ServicePrefix.Length > 0)
            routes.Add(new HostRoute(plan.ServicePrefix, control.IPv6Address, control.NodeName, "Service"));
        return routes;
    }

    /// <summary>Routes of ours (proto 166) on the host whose gateway lies in <paramref name="managementPrefix"/>.</summary>
    public async Task<IReadOnlyList<(string Destination, string Gateway)>> ListAsync(string managementPrefix, CancellationToken ct)
    {
        var management = Ipv6Prefix.Parse(managementPrefix);
        var shown = await Ip(new[] { "-6", "route", "show", "proto", Protocol.ToString(CultureInfo.InvariantCulture) }, null, ct).ConfigureAwait(false);
        return DindLab.ParseRoutes(shown)
            .Where(r => System.Net.IPAddress.TryParse(r.Gateway, out var g) && management.Contains(g))
            .OrderBy(r => r.Destination, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Makes the host's routes into the cluster exactly <paramref name="planned"/>: one `ip -batch` that replaces each
    /// planned route and deletes routes of ours via the management prefix that are no longer planned (a removed node).
    /// </summary>
    public async Task EnsureAsync(string managementPrefix, IReadOnlyList<HostRoute> planned, CancellationToken ct)
    {
        var present = await ListAsync(managementPrefix, ct).ConfigureAwait(false);
        var wanted = planned.Select(p => (p.Destination, p.Gateway)).ToHashSet();
        var lines = present.Where(p => !wanted.Contains(p)).Select(p => Line("del", p.Destination, p.Gateway))
            .Concat(planned.Select(p => Line("replace", p.Destination, p.Gateway)))
            .ToList();
        if (lines.Count > 0) await Ip(new[] { "-6", "-batch", "-" }, string.Join('\n', lines) + "\n", ct).ConfigureAwait(false);
    }

    /// <summary>Deletes every route of ours via the management prefix; returns how many. None is not an error.</summary>
    public async Task<int> RemoveAsync(string managementPrefix, CancellationToken ct)
    {
        var present = await ListAsync(managementPrefix, ct).ConfigureAwait(false);
        if (present.Count > 0)
            await Ip(new[] { "-6", "-batch", "-" }, string.Join('\n', present.Select(p => Line("del", p.Destination, p.Gateway))) + "\n", ct).ConfigureAwait(false);
        return present.Count;
    }

    private static string Line(string verb, string destination, string gateway) =>
        $"route {verb} {destination} via {gateway} proto {Protocol.ToString(CultureInfo.InvariantCulture)}";

    private async Task<string> Ip(IReadOnlyList<string> args, string? stdin, CancellationToken ct)
    {
        var result = await _run.RunAsync(HostFirewall.Tool("ip"), args, stdin, Timeout, ct).ConfigureAwait(false);
        if (result.Succeeded) return result.StandardOutput;
        var command = "ip " + string.Join(' ', args);
        throw Environment.IsPrivilegedProcess
            ? new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.InvalidOperation,
                $"'{command}' failed (exit {result.ExitCode}): {result.StandardError.Trim()}", command, null, "See the message of ip; the nodes must be running and reachable on the cluster's bridge.")
            : new DindException(ErrorIds.HostPermissionDenied, DindErrorCategory.PermissionDenied,
                $"'{command}' failed: changing the host's routes needs root. {result.StandardError.Trim()}", command, null, "Run as root (host routes need CAP_NET_ADMIN).");
    }
}
