using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Kubernetes;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Lab;

/// <summary>Containers of a lab: create and start them, wait for DNS64 and NAT64, configure NAT64 and the nodes (through exec or from the host), the final check.</summary>
public sealed partial class DindLab
{
    private async Task<string> CreateAndStartAsync(ContainerSpec spec, Journal journal, CancellationToken ct, params (string Path, string Content)[] files)
    {
        var id = await CreateReplacingAbandonedAsync(spec, ct).ConfigureAwait(false);
        journal.Record($"container {spec.Name}", t => _docker.RemoveContainerAsync(id, t));
        foreach (var (path, content) in files)
            await _docker.PutFileAsync(id, path, content, 420, ct).ConfigureAwait(false);
        await _docker.StartContainerAsync(id, ct).ConfigureAwait(false);
        Log.Verbose($"Started {spec.Name} ({spec.Image}) at {spec.Ipv6Address}.");
        return id;
    }

    /// <summary>
    /// Creates a container of the lab. When its name is taken by a container of the same cluster and role - what an
    /// interrupted create of an earlier attempt left (its answer lost to Ctrl-C or a dropped connection; the daemon
    /// may finish it a moment later) - that one is removed and the create tried again, a few times at most. A name
    /// taken by anything else stays a conflict.
    /// </summary>
    private async Task<string> CreateReplacingAbandonedAsync(ContainerSpec spec, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _docker.CreateContainerAsync(spec, ct).ConfigureAwait(false);
            }
            catch (DindException ex) when (ex.ErrorId == ErrorIds.DockerConflict && attempt < 4)
            {
                var taken = await _docker.InspectContainerAsync(spec.Name, ct).ConfigureAwait(false);
                if (taken is not null && (taken.Labels.GetValueOrDefault(LabLabels.Cluster) != spec.Labels.GetValueOrDefault(LabLabels.Cluster)
                                          || taken.Labels.GetValueOrDefault(LabLabels.Role) != spec.Labels.GetValueOrDefault(LabLabels.Role)))
                    throw;
                if (taken is not null)
                {
                    Log.Verbose($"Removing {spec.Name} ({taken.Id[..Math.Min(12, taken.Id.Length)]}), left by an interrupted create, before creating it again.");
                    try { await _docker.RemoveContainerAsync(taken.Id, ct).ConfigureAwait(false); }
                    catch (DindException gone) when (gone.Category is DindErrorCategory.ObjectNotFound) { }
                }
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task WaitForDns64Async(string id, TimeSpan timeout, CancellationToken ct, string? address = null)
    {
        // A local daemon's lab network is a bridge of this host: ask named directly (no exec), from here.
        if (address is not null && DockerIsLocal && System.Net.IPAddress.TryParse(address, out var server))
        {
            await WaitUntilAsync("DNS64 (bind9) to answer", timeout, () => VersionBindQuery.AskAsync(server, TimeSpan.FromSeconds(1), ct), ct).ConfigureAwait(false);
            return;
        }
        // version.bind CH TXT is answered by named itself, so readiness does not depend on the upstream.
        await WaitUntilAsync("DNS64 (bind9) to answer", timeout, async () =>
            (await _docker.ExecAsync(id, new[] { "dig", "+time=1", "+tries=1", "@::1", "version.bind", "CH", "TXT" }, null, null, ct).ConfigureAwait(false)).Succeeded, ct)
            .ConfigureAwait(false);
    }

    private async Task ConfigureNat64Async(string id, AddressPlan plan, TimeSpan timeout, CancellationToken ct)
    {
        var tools = await ToolsAsync(id, "NAT64", fromHost: true, ct).ConfigureAwait(false);
        // tayga creates its tun device when it starts; route into it once it is there.
        await WaitUntilAsync("NAT64 (tayga) to create its device", timeout, async () =>
            (await tools.Run("ip", new[] { "-batch", "-" }, LabContainers.Nat64Batch(plan), ct).ConfigureAwait(false)).Succeeded, ct)
            .ConfigureAwait(false);
        await EnsureIptablesRuleAsync(tools, "iptables", LabContainers.Nat64MasqueradeRule(plan), ct).ConfigureAwait(false);
    }

    /// <summary>Adds a rule in a container unless it is there (-C), so a re-sync after a restart adds it once.</summary>
    private static async Task EnsureIptablesRuleAsync(ContainerTools tools, string tool, string[] appendRule, CancellationToken ct)
    {
        var check = appendRule.Select(a => a == "-A" ? "-C" : a).ToArray();
        if ((await tools.Run(tool, check, null, ct).ConfigureAwait(false)).Succeeded) return;
        await RunCheckedAsync(tools, tool, appendRule, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Resolver, IPv6-only state and routes of one node in one `ip -batch` run. With <paramref name="reconcile"/>
    /// the node's table is read first (one more run) and routes of ours that the plan no longer has (a removed
    /// node, an old NAT64 prefix) are deleted in the same batch; a fresh node has none, so bring-up skips the read.
    /// <paramref name="fromHost"/>: a fresh network-lab node is set up from the host where it can be (no exec).
    /// </summary>
    private async Task ConfigureNodeAsync(string id, AddressPlan plan, NodeAddress node, CancellationToken ct, bool reconcile = false, bool fromHost = false)
    {
        var tools = await ToolsAsync(id, node.NodeName, fromHost && !reconcile, ct).ConfigureAwait(false);
        var resolv = await tools.WriteResolver(LabContainers.ResolvConf(plan), ct).ConfigureAwait(false);
        if (!resolv.Succeeded)
            throw new DindException(ErrorIds.ExecFailed, DindErrorCategory.InvalidOperation,
                $"Writing the resolver of {node.NodeName} failed: {resolv.StandardError.Trim()}", node.NodeName);
        var stale = Array.Empty<string>();
        if (reconcile)
        {
            var table = await tools.Run("ip", new[] { "-6", "route", "show" }, null, ct).ConfigureAwait(false);
            stale = LabContainers.StaleRoutes(plan, node, table.StandardOutput).ToArray();
        }
        var batch = await tools.Run("ip", new[] { "-batch", "-" }, LabContainers.RouteBatch(plan, node, stale), ct).ConfigureAwait(false);
        if (!batch.Succeeded)
            throw new DindException(ErrorIds.ExecFailed, DindErrorCategory.InvalidOperation,
                $"Routing {node.NodeName} failed: {batch.StandardError.Trim()}", node.NodeName);
        if (reconcile)
            await EnsureIptablesRuleAsync(tools, "ip6tables", LabContainers.PodMasqueradeRule(plan), ct).ConfigureAwait(false);
        else
            await RunCheckedAsync(tools, "ip6tables", LabContainers.PodMasqueradeRule(plan), ct).ConfigureAwait(false); // a fresh node has no rules to check for
    }

    /// <summary>
    /// How the lab runs a tool (ip, iptables, ip6tables) in one of its containers and rewrites its resolver: through
    /// docker exec, or from the host (<see cref="ToolsAsync"/>).
    /// </summary>
    /// <param name="AskVersionBind">From the host only: a version.bind query to a DNS server from a socket made in the
    /// container's network namespace (what `dig @server version.bind CH TXT` in it would ask); null through exec.</param>
    private sealed record ContainerTools(
        string What,
        Func<string, string[], string?, CancellationToken, Task<ExecResult>> Run,
        Func<string, CancellationToken, Task<ExecResult>> WriteResolver,
        Func<System.Net.IPAddress, TimeSpan, CancellationToken, Task<bool>>? AskVersionBind = null);

    /// <summary>
    /// The tools of container <paramref name="id"/>. With <paramref name="fromHost"/>, for a daemon that is provably
    /// this machine's and a root process, the host's own binaries in the container's network namespace and its
    /// resolver file rewritten in place (src/Ipv6Dind.Core/Host/ContainerNetns.cs); otherwise, or when that cannot be
    /// used safely (the reason goes to the verbose stream), docker exec.
    /// </summary>
    private async Task<ContainerTools> ToolsAsync(string id, string what, bool fromHost, CancellationToken ct)
    {
        if (fromHost && DockerIsLocal && await _docker.InspectContainerAsync(id, ct).ConfigureAwait(false) is { } info)
        {
            if (ContainerNetns.For(info, _firewall.Runner, out var why) is { } netns && ContainerNetns.Tools() is { } host)
            {
                var paths = new Dictionary<string, string>(StringComparer.Ordinal) { ["ip"] = host.Ip, ["ip6tables"] = host.Ip6Tables, ["iptables"] = host.IpTables };
                return new ContainerTools(what, (tool, arguments, stdin, t) => netns.RunAsync(paths[tool], arguments, stdin, t), (content, _) =>
                {
                    netns.WriteResolver(content);
                    return Task.FromResult(new ExecResult(0, "", ""));
                }, (server, timeout, t) => VersionBindQuery.AskAsync(server, timeout, t, netns.OpenUdpSocket(server.AddressFamily)));
            }
            Log.Verbose($"Configuring {info.Name} through docker exec: {why}.");
        }
        return new ContainerTools(what,
            (tool, arguments, stdin, t) => _docker.ExecAsync(id, new[] { tool }.Concat(arguments).ToArray(), stdin, null, t),
            // Docker bind-mounts its own resolv.conf, which the archive API cannot replace (it unlinks); rewriting the
            // file in place through tee's standard input works, with no shell involved.
            (content, t) => _docker.ExecAsync(id, new[] { "tee", "/etc/resolv.conf" }, content, null, t));
    }

    private static async Task RunCheckedAsync(ContainerTools tools, string tool, string[] arguments, CancellationToken ct)
    {
        var result = await tools.Run(tool, arguments, null, ct).ConfigureAwait(false);
        if (!result.Succeeded)
            throw new DindException(ErrorIds.ExecFailed, DindErrorCategory.InvalidOperation,
                $"{tool} {string.Join(' ', arguments)} failed in {tools.What}: {result.StandardError.Trim()}", tools.What);
    }

    /// <summary>
    /// The bring-up's last check: the first node reaches its DNS64 over IPv6 and named answers version.bind (it answers
    /// that itself, whatever the upstream does). From the host where the node's namespace can be used (a socket made
    /// in it: the node's own addresses and routes, no exec, and no need for dig in the image); otherwise dig in the
    /// node, or, in an image without dig (kindest/node), its route to the DNS64.
    /// </summary>
    private async Task VerifyNodeResolverAsync(string nodeId, AddressPlan plan, NodeImageFacts? image, CancellationToken ct)
    {
        var dns64 = System.Net.IPAddress.Parse(plan.Dns64Address);
        if ((await ToolsAsync(nodeId, "the first node", fromHost: true, ct).ConfigureAwait(false)).AskVersionBind is { } ask)
        {
            // As dig +time=2 +tries=3 would.
            for (var attempt = 0; attempt < 3; attempt++)
                if (await ask(dns64, TimeSpan.FromSeconds(2), ct).ConfigureAwait(false)) return;
            throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.ConnectionError,
                $"The first node cannot reach its DNS64 at {plan.Dns64Address}: no answer to version.bind from the node's network namespace in 3 tries of 2 s.", plan.Dns64Address);
        }
        if (image is { HasDig: false })
        {
            // kindest/node has no dig: the node's resolver file and its route to DNS64 are what can be checked.
            var route = await _docker.ExecAsync(nodeId, new[] { "ip", "-6", "route", "get", plan.Dns64Address }, null, null, ct).ConfigureAwait(false);
            if (!route.Succeeded)
                throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.ConnectionError,
                    $"The first node has no route to its DNS64 at {plan.Dns64Address}: {route.StandardError.Trim()}", plan.Dns64Address);
            Log.Verbose($"Node image {image.Image} has no dig; checked the route to DNS64 {plan.Dns64Address} instead of a query.");
            return;
        }
        // The node reaches its DNS64 over IPv6 only; named answers version.bind itself, whatever the upstream does.
        var dig = await _docker.ExecAsync(nodeId, new[] { "dig", "+time=2", "+tries=3", $"@{plan.Dns64Address}", "version.bind", "CH", "TXT" }, null, null, ct).ConfigureAwait(false);
        if (!dig.Succeeded)
            throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.ConnectionError,
                $"The first node cannot reach its DNS64 at {plan.Dns64Address}: {dig.StandardOutput.Trim()} {dig.StandardError.Trim()}", plan.Dns64Address);
    }

    private async Task WaitUntilAsync(string what, TimeSpan timeout, Func<Task<bool>> probe, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (await probe().ConfigureAwait(false)) return;
            if (DateTime.UtcNow >= deadline)
                throw new DindException(ErrorIds.ServiceNotReady, DindErrorCategory.OperationTimeout,
                    $"Timed out after {timeout.TotalSeconds:F0} s waiting for {what}.", what, null, "Export-DindLog shows the container's log.");
            await Task.Delay(delay, ct).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(1000, delay.TotalMilliseconds * 2));
        }
    }

    private static async Task ForEachNodeAsync(IEnumerable<NodeAddress> nodes, int parallelism, CancellationToken ct, Func<NodeAddress, Task> work)
    {
        await Parallel.ForEachAsync(nodes, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct },
            async (node, _) => await work(node).ConfigureAwait(false)).ConfigureAwait(false);
    }
}
