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
    private const string CniPath = "/usr/lib/cni";

    private readonly IDockerApi _docker;
    private readonly string _containerId;
    private readonly string _pluginConfig;
    private readonly string _plugin;

    public string NodeName { get; }
    /// <summary>The address the plugin gave the probe (no prefix length), once added.</summary>
    public string? Address { get; private set; }

    public PodProbe(IDockerApi docker, string containerId, AddressPlan plan, NodeAddress node, string plugin)
    {
        _docker = docker;
        _containerId = containerId;
        _plugin = plugin;
        NodeName = node.NodeName;
        _pluginConfig = PluginConfig(CniRenderer.Render(CniOptions.From(plan, node, plugin)).Content);
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
        ["CNI_PATH"] = CniPath,
    };

    /// <summary>Creates the namespace (replacing a leftover), turns off DAD (else each ADD waits ~2 s), runs CNI ADD.</summary>
    public async Task<string?> AddAsync(CancellationToken ct)
    {
        await RemoveAsync(ct).ConfigureAwait(false);
        var add = await Run(ct, "ip", "netns", "add", Namespace).ConfigureAwait(false);
        if (!add.Succeeded) return $"ip netns add failed: {add.StandardError.Trim()}";
        // A new namespace starts with accept_dad=1 (devconf is not inherited); the interface the plugin makes would
        // sit in DAD for ~1.9 s. Needs a writable /proc/sys (the node's unmasked system paths).
        await Run(ct, "ip", "netns", "exec", Namespace, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0").ConfigureAwait(false);
        var result = await _docker.ExecAsync(_containerId, new[] { $"{CniPath}/{_plugin}" }, _pluginConfig, Env("ADD"), ct).ConfigureAwait(false);
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

    /// <summary>Pings <paramref name="address"/> from inside the probe namespace.</summary>
    public Task<ExecResult> PingAsync(string address, CancellationToken ct) =>
        Run(ct, "ip", "netns", "exec", Namespace, "ping", "-6", "-c", "1", "-W", "2", address);

    /// <summary>CNI DEL and namespace removal; a probe that is not there is not an error.</summary>
    public async Task RemoveAsync(CancellationToken ct)
    {
        var exists = await Run(ct, "ip", "netns", "pids", Namespace).ConfigureAwait(false);
        if (!exists.Succeeded) return;
        await _docker.ExecAsync(_containerId, new[] { $"{CniPath}/{_plugin}" }, _pluginConfig, Env("DEL"), ct).ConfigureAwait(false);
        await Run(ct, "ip", "netns", "del", Namespace).ConfigureAwait(false);
    }

    private Task<ExecResult> Run(CancellationToken ct, params string[] argv) => _docker.ExecAsync(_containerId, argv, null, null, ct);
}
