using System.Collections.Concurrent;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Images;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// Runs Test-DindCluster's tools (dig, ping, curl, ip) for a node. In the node itself first; when its image lacks the
/// tool (kindest/node has no dig and no ping: exec answers 126/127, "executable file not found"), in a probe
/// container of the module's own node image that joins the node's network namespace (--network container:&lt;node&gt;,
/// like `kubectl debug`): the same interfaces, addresses, routes, ip6tables rules and resolv.conf, so what it sees
/// is what the node sees. Only the network namespace: its own PID namespace, every capability dropped but NET_RAW
/// (ping), default seccomp and AppArmor (<see cref="LabContainers.ToolsProbe"/>). One probe container per node, made on
/// first need, labelled with the cluster (so Remove-DindCluster would take a leftover too) and removed by
/// <see cref="DisposeAsync"/>.
/// </summary>
public sealed class NodeTools : IAsyncDisposable
{
    /// <summary>runc's exit codes for a command that cannot be run (126) or is not there (127).</summary>
    private static bool CannotRun(ExecResult r) => r.ExitCode is 126 or 127;

    private readonly IDockerApi _docker;
    private readonly string _cluster;
    private readonly IDindLog _log;
    private readonly CancellationToken _ct;
    private readonly ConcurrentDictionary<string, Lazy<Task<string?>>> _probes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _used = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Container, string Tool), bool> _present = new();

    public NodeTools(IDockerApi docker, string cluster, IDindLog log, CancellationToken ct)
    {
        _docker = docker;
        _cluster = cluster;
        _log = log;
        _ct = ct;
    }

    /// <summary>The image probe containers run: the module's node image (iproute2, ping, curl, dig).</summary>
    public static string ProbeImage => ImageBuilder.ReferenceFor("node");

    /// <summary>"node: dig" for every tool that ran in a probe container rather than in the node.</summary>
    public IReadOnlyCollection<string> RanBeside => _used.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();

    /// <summary>In the node; in its probe container when the node's image cannot run <c>argv[0]</c>.</summary>
    public async Task<ExecResult> ExecAsync(DindNode node, IReadOnlyList<string> argv)
    {
        // Once a node has been found to lack the tool, later calls go beside it at once.
        if (_present.TryGetValue((node.ContainerId, argv[0]), out var present) && !present)
            return await ExecBesideAsync(node, argv, argv[0]).ConfigureAwait(false);
        var inNode = await _docker.ExecAsync(node.ContainerId, argv, null, null, _ct).ConfigureAwait(false);
        // What a run learnt answers NodeHasAsync too (NodeToNode's ping spares PodToPod the question).
        _present[(node.ContainerId, argv[0])] = !CannotRun(inNode);
        if (!CannotRun(inNode)) return inNode;
        return await ExecBesideAsync(node, argv, argv[0], inNode).ConfigureAwait(false);
    }

    /// <summary>Whether the node's image runs <paramref name="tool"/> (asked once per node, with a harmless argument such as -V).</summary>
    public async Task<bool> NodeHasAsync(DindNode node, string tool, string harmlessArgument)
    {
        if (_present.TryGetValue((node.ContainerId, tool), out var known)) return known;
        var r = await _docker.ExecAsync(node.ContainerId, new[] { tool, harmlessArgument }, null, null, _ct).ConfigureAwait(false);
        return _present[(node.ContainerId, tool)] = !CannotRun(r);
    }

    /// <summary>In the node's probe container (made on first need); <paramref name="tool"/> is what the node lacked, for messages.</summary>
    public async Task<ExecResult> ExecBesideAsync(DindNode node, IReadOnlyList<string> argv, string tool, ExecResult? inNode = null)
    {
        var probe = await _probes.GetOrAdd(node.ContainerId, _ => new Lazy<Task<string?>>(() => StartProbeAsync(node))).Value.ConfigureAwait(false);
        if (probe is null)
            return new ExecResult(inNode?.ExitCode ?? 127, inNode?.StandardOutput ?? "",
                $"{node.NodeName}'s image cannot run {tool}, and the probe image {ProbeImage} that would run it beside the node is not present " +
                $"(Build-DindImage builds it). {inNode?.StandardError.Trim()}".TrimEnd());
        if (_used.TryAdd($"{node.NodeName}: {tool}", true))
            _log.Verbose($"{node.NodeName}'s image cannot run {tool}: it runs in {node.NodeName}-probe ({ProbeImage}), which shares the node's network namespace.");
        return await _docker.ExecAsync(probe, argv, null, null, _ct).ConfigureAwait(false);
    }

    /// <summary>Creates and starts the node's probe container; null when the probe image is missing.</summary>
    private async Task<string?> StartProbeAsync(DindNode node)
    {
        if (await _docker.InspectImageAsync(ProbeImage, _ct).ConfigureAwait(false) is null) return null;
        var spec = LabContainers.ToolsProbe(_cluster, node);
        await RemoveQuietlyAsync(spec.Name, CancellationToken.None).ConfigureAwait(false);    // a leftover of a killed run
        var id = await _docker.CreateContainerAsync(spec, _ct).ConfigureAwait(false);
        try
        {
            await _docker.StartContainerAsync(id, _ct).ConfigureAwait(false);
        }
        catch
        {
            await RemoveQuietlyAsync(id, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        return id;
    }

    private async Task RemoveQuietlyAsync(string idOrName, CancellationToken ct)
    {
        try { await _docker.RemoveContainerAsync(idOrName, ct).ConfigureAwait(false); }
        catch (DindException ex) when (ex.Category is DindErrorCategory.ObjectNotFound) { }
    }

    /// <summary>Removes every probe container made (also after a failure or Ctrl-C; bounded to 30 s).</summary>
    public async ValueTask DisposeAsync()
    {
        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var probe in _probes.Values.Where(p => p.IsValueCreated))
        {
            string? id;
            try { id = await probe.Value.ConfigureAwait(false); }
            catch (Exception ex) when (ex is DindException or OperationCanceledException) { continue; }   // never started: nothing to remove
            if (id is not null) await RemoveQuietlyAsync(id, cleanup.Token).ConfigureAwait(false);
        }
    }
}
