using System.Text.Json;
using System.Text.Json.Nodes;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// A stand-in pod in a node: a network namespace wired by the real CNI plugin (bridge or ptp, from
/// containernetworking-plugins in the node image) with the node's rendered CNI configuration, so that pod-to-pod
/// traffic across nodes can be checked without Kubernetes. Created for one check and deleted after it
/// (CNI DEL releases the host-local address; the namespace is removed).
/// </summary>
public sealed class PodProbe
{
    public const string Namespace = "ipv6dind-probe";
    /// <summary>Where CNI plugins live: Debian's containernetworking-plugins, then kind's and upstream's.</summary>
    public static readonly IReadOnlyList<string> CniPaths = new[] { "/usr/lib/cni", "/opt/cni/bin" };
    private string _cniPath = CniPaths[0];

    private readonly IDockerApi _docker;
    private readonly DindNode _node;
    private readonly string _pluginConfig;
    private readonly string _plugin;

    public string NodeName => _node.NodeName;
    private string ContainerId => _node.ContainerId;
    /// <summary>The address the plugin gave the probe (no prefix length), once added.</summary>
    public string? Address { get; private set; }

    public PodProbe(IDockerApi docker, DindNode node, AddressPlan plan, NodeAddress planned, string plugin)
    {
        _docker = docker;
        _node = node;
        _plugin = plugin;
        _pluginConfig = PluginConfig(CniRenderer.Render(CniOptions.From(plan, planned, plugin)).Content);
    }

    /// <summary>
    /// The first plugin of a conflist as a plugin executable reads it on stdin: the list's name and cniVersion
    /// are copied in (what libcni does when it runs a list).
    /// </summary>
    public static string PluginConfig(string conflist)
    {
        var list = JsonNode.Parse(conflist)!.AsObject();
        var plugin = list["plugins"]![0]!.DeepClone().AsObject();
        plugin["cniVersion"] = list["cniVersion"]!.GetValue<string>();
        plugin["name"] = list["name"]!.GetValue<string>();
        return plugin.ToJsonString();
    }

    private Dictionary<string, string> Env(string command) => new()
    {
        ["CNI_COMMAND"] = command,
        ["CNI_CONTAINERID"] = Namespace,
        ["CNI_NETNS"] = $"/run/netns/{Namespace}",
        ["CNI_IFNAME"] = "eth0",
        ["CNI_PATH"] = _cniPath,
    };

    /// <summary>Creates the namespace (replacing a leftover), turns off DAD (else each ADD waits ~2 s), runs CNI ADD.</summary>
    public async Task<string?> AddAsync(CancellationToken ct)
    {
        // The plugin answers CNI_COMMAND=VERSION wherever it is installed.
        foreach (var path in CniPaths)
        {
            var version = await _docker.ExecAsync(ContainerId, new[] { $"{path}/{_plugin}" }, null, new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" }, ct).ConfigureAwait(false);
            if (version.Succeeded) { _cniPath = path; break; }
        }
        await RemoveAsync(ct).ConfigureAwait(false);
        var add = await Run(ct, "ip", "netns", "add", Namespace).ConfigureAwait(false);
        if (!add.Succeeded) return $"ip netns add failed: {add.StandardError.Trim()}";
        // A new namespace starts with accept_dad=1 (devconf is not inherited); the interface the plugin makes would
        // sit in DAD for ~1.9 s. Needs a writable /proc/sys (the node's unmasked system paths).
        await Run(ct, "ip", "netns", "exec", Namespace, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0").ConfigureAwait(false);
        var result = await _docker.ExecAsync(ContainerId, new[] { $"{_cniPath}/{_plugin}" }, _pluginConfig, Env("ADD"), ct).ConfigureAwait(false);
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
        return null;
    }

    /// <summary>
    /// Pings <paramref name="address"/> from inside the probe namespace: with the node's ping, or, when its image has
    /// none (kindest/node), with <paramref name="tools"/>' probe container entering the namespace through the node's
    /// PID 1 (/proc/1/root/run/netns/…).
    /// </summary>
    public async Task<ExecResult> PingAsync(string address, NodeTools tools, CancellationToken ct)
    {
        var ping = new[] { "ping", "-6", "-c", "1", "-W", "2", address };
        if (await tools.NodeHasAsync(_node, "ping", "-V").ConfigureAwait(false))
            return await Run(ct, new[] { "ip", "netns", "exec", Namespace }.Concat(ping).ToArray()).ConfigureAwait(false);
        return await tools.ExecBesideAsync(_node, new[] { "nsenter", $"--net=/proc/1/root/run/netns/{Namespace}" }.Concat(ping).ToArray(), "ping").ConfigureAwait(false);
    }

    /// <summary>CNI DEL and namespace removal; a probe that is not there is not an error.</summary>
    public async Task RemoveAsync(CancellationToken ct)
    {
        var exists = await Run(ct, "ip", "netns", "pids", Namespace).ConfigureAwait(false);
        if (!exists.Succeeded) return;
        await _docker.ExecAsync(ContainerId, new[] { $"{_cniPath}/{_plugin}" }, _pluginConfig, Env("DEL"), ct).ConfigureAwait(false);
        await Run(ct, "ip", "netns", "del", Namespace).ConfigureAwait(false);
    }

    private Task<ExecResult> Run(CancellationToken ct, params string[] argv) => _docker.ExecAsync(ContainerId, argv, null, null, ct);
}
