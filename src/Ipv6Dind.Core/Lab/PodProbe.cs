using System.Text.Json;
using System.Text.Json.Nodes;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// A stand-in pod beside a node: a network namespace wired by the real CNI plugin (bridge or ptp, from
/// containernetworking-plugins) with the node's rendered CNI configuration, so that pod-to-pod traffic across nodes
/// can be checked without Kubernetes. The namespace and the plugin live in a short-lived helper container
/// (<see cref="LabContainers.PodProbeHelper"/>) that shares the node's network namespace, not the node itself: the
/// node needs no SYS_ADMIN and keeps a read-only /proc/sys. Created for one check and removed after it (CNI DEL, then
/// the helper; its namespace goes with it).
/// </summary>
public sealed class PodProbe
{
    /// <summary>The CNI container id the plugin is called with.</summary>
    public const string Namespace = "ipv6dind-probe";
    /// <summary>Where CNI plugins live: Debian's containernetworking-plugins (the module's node image), then kind's and upstream's.</summary>
    public static readonly IReadOnlyList<string> CniPaths = new[] { "/usr/lib/cni", "/opt/cni/bin" };
    /// <summary>How long the helper's namespace holder and the probe address's DAD may take.</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);
    private string _cniPath = CniPaths[0];

    private readonly IDockerApi _docker;
    private readonly string _cluster;
    private readonly DindNode _node;
    private readonly string _pluginConfig;
    private readonly string _plugin;
    private string? _helper;
    private string? _netns;

    public string NodeName => _node.NodeName;
    /// <summary>The address the plugin gave the probe (no prefix length), once added.</summary>
    public string? Address { get; private set; }

    public PodProbe(IDockerApi docker, string cluster, DindNode node, AddressPlan plan, NodeAddress planned, string plugin)
    {
        _docker = docker;
        _cluster = cluster;
        _node = node;
        _plugin = plugin;
        _pluginConfig = PluginConfig(CniRenderer.Render(CniOptions.From(plan, planned, plugin)).Content, ProbeAddress(planned.PodPrefix));
    }

    /// <summary>
    /// The probe's address: the last of the node's pod prefix. host-local hands addresses out from the start of the
    /// range, so a real pod of a Kubernetes node gets it only when the prefix is full; the helper's own host-local
    /// state (not the node's) cannot hand out an address a real pod has.
    /// </summary>
    public static string ProbeAddress(string podPrefix) => Ipv6Prefix.Format(Ipv6Prefix.Parse(podPrefix).LastAddress);

    /// <summary>
    /// The first plugin of a conflist as a plugin executable reads it on stdin: the list's name and cniVersion
    /// are copied in (what libcni does when it runs a list). With <paramref name="onlyAddress"/>, host-local's range
    /// is narrowed to that one address (rangeStart = rangeEnd); the rest of the configuration is the node's.
    /// </summary>
    public static string PluginConfig(string conflist, string? onlyAddress = null)
    {
        var list = JsonNode.Parse(conflist)!.AsObject();
        var plugin = list["plugins"]![0]!.DeepClone().AsObject();
        plugin["cniVersion"] = list["cniVersion"]!.GetValue<string>();
        plugin["name"] = list["name"]!.GetValue<string>();
        if (onlyAddress is not null)
            foreach (var set in plugin["ipam"]!["ranges"]!.AsArray())
                foreach (var range in set!.AsArray())
                {
                    range!["rangeStart"] = onlyAddress;
                    range["rangeEnd"] = onlyAddress;
                }
        return plugin.ToJsonString();
    }

    private Dictionary<string, string> Env(string command) => new()
    {
        ["CNI_COMMAND"] = command,
        ["CNI_CONTAINERID"] = Namespace,
        ["CNI_NETNS"] = _netns!,
        ["CNI_IFNAME"] = "eth0",
        ["CNI_PATH"] = _cniPath,
    };

    /// <summary>
    /// Starts the helper beside the node (replacing a leftover), finds the process that holds the stand-in pod's
    /// namespace, runs CNI ADD into it and waits until the address has passed duplicate address detection.
    /// Null on success, else what failed. <see cref="RemoveAsync"/> must follow, also after a failure.
    /// </summary>
    public async Task<string?> AddAsync(CancellationToken ct)
    {
        if (await _docker.InspectImageAsync(NodeTools.ProbeImage, ct).ConfigureAwait(false) is null)
            return $"the probe image {NodeTools.ProbeImage} is not present (Build-DindImage builds it)";
        var spec = LabContainers.PodProbeHelper(_cluster, _node);
        await RemoveContainerAsync(ct).ConfigureAwait(false);     // a leftover of a killed run
        try
        {
            _helper = await _docker.CreateContainerAsync(spec, ct).ConfigureAwait(false);
            await _docker.StartContainerAsync(_helper, ct).ConfigureAwait(false);
        }
        catch (DindException ex)
        {
            return $"the pod probe helper {spec.Name} did not start: {ex.Message}";
        }

        // docker-init is PID 1 (in the node's network namespace, where docker exec runs); its child is unshare, which
        // becomes "sleep" only after it has made the new namespace.
        var deadline = DateTime.UtcNow + SettleTimeout;
        string? pid = null;
        while (pid is null)
        {
            var found = await Run(ct, "pgrep", "-x", "sleep").ConfigureAwait(false);
            var pids = found.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (found.Succeeded && pids.Length == 1) pid = pids[0];
            else if (DateTime.UtcNow > deadline) return $"the pod probe helper's namespace holder did not start: {found.StandardError.Trim()}";
            else await Task.Delay(100, ct).ConfigureAwait(false);
        }
        _netns = $"/proc/{pid}/ns/net";

        // The plugin answers CNI_COMMAND=VERSION wherever it is installed.
        foreach (var path in CniPaths)
        {
            var version = await _docker.ExecAsync(_helper, new[] { $"{path}/{_plugin}" }, null, new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" }, ct).ConfigureAwait(false);
            if (version.Succeeded) { _cniPath = path; break; }
        }
        var result = await _docker.ExecAsync(_helper, new[] { $"{_cniPath}/{_plugin}" }, _pluginConfig, Env("ADD"), ct).ConfigureAwait(false);
        if (!result.Succeeded) return $"CNI {_plugin} ADD failed: {result.StandardOutput.Trim()} {result.StandardError.Trim()}";
        try
        {
            using var doc = JsonDocument.Parse(result.StandardOutput);
            var cidr = doc.RootElement.GetProperty("ips")[0].GetProperty("address").GetString()!;
            Address = cidr.Split('/')[0];
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or IndexOutOfRangeException or InvalidOperationException)
        {
            return $"CNI {_plugin} ADD gave no address: {result.StandardOutput.Trim()}";
        }

        // A new namespace has accept_dad=1 (devconf is not inherited) and the helper's /proc/sys is read-only, so the
        // address may be tentative for ~2 s (the plugins normally wait for it already): wait until it is usable, and
        // report an address that failed DAD (a duplicate on the node's pod network) instead of pinging with it.
        var settled = DateTime.UtcNow + SettleTimeout;
        while (true)
        {
            var state = await InProbe(ct, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "tentative").ConfigureAwait(false);
            if (!state.Succeeded) return $"ip addr in the probe namespace failed: {state.StandardError.Trim()}";
            if (state.StandardOutput.Contains("dadfailed", StringComparison.Ordinal))
                return $"the probe address {Address} failed duplicate address detection: another interface on {NodeName}'s pod network has it";
            if (state.StandardOutput.Trim().Length == 0) return null;
            if (DateTime.UtcNow > settled) return $"the probe address {Address} stayed tentative (DAD): {state.StandardOutput.Trim()}";
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Pings <paramref name="address"/> from inside the stand-in pod (the helper's ping, through nsenter).</summary>
    public Task<ExecResult> PingAsync(string address, CancellationToken ct) =>
        InProbe(ct, "ping", "-6", "-c", "1", "-W", "2", address);

    /// <summary>CNI DEL (the node's side: bridge port or ptp veth, routes) and removal of the helper; nothing there is not an error.</summary>
    public async Task RemoveAsync(CancellationToken ct)
    {
        try
        {
            if (_helper is not null && _netns is not null)
                await _docker.ExecAsync(_helper, new[] { $"{_cniPath}/{_plugin}" }, _pluginConfig, Env("DEL"), ct).ConfigureAwait(false);
        }
        finally
        {
            // By name: also a helper whose creation was interrupted before its id came back.
            await RemoveContainerAsync(ct).ConfigureAwait(false);
            _helper = null;
            _netns = null;
        }
    }

    private async Task RemoveContainerAsync(CancellationToken ct)
    {
        try { await _docker.RemoveContainerAsync(_helper ?? LabContainers.PodProbeHelper(_cluster, _node).Name, ct).ConfigureAwait(false); }
        catch (DindException ex) when (ex.Category is DindErrorCategory.ObjectNotFound) { }
    }

    /// <summary>argv in the stand-in pod's network namespace (nsenter: setns, which the helper's SYS_ADMIN allows).</summary>
    private Task<ExecResult> InProbe(CancellationToken ct, params string[] argv) =>
        Run(ct, new[] { "nsenter", $"--net={_netns}" }.Concat(argv).ToArray());

    private Task<ExecResult> Run(CancellationToken ct, params string[] argv) => _docker.ExecAsync(_helper!, argv, null, null, ct);
}
