using System.Net;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Kubernetes;

namespace Ipv6Dind.Core.Lab;

/// <summary>What Test-DindCluster probes with.</summary>
public sealed record LabTestOptions
{
    /// <summary>A name with only A records. RFC 7050's ipv4only.arpa by default: it exists everywhere.</summary>
    public string ProbeName { get; init; } = "ipv4only.arpa";
    /// <summary>An HTTP URL of an IPv4-only server, fetched through DNS64/NAT64 (curl in the first node).</summary>
    public string? ProbeUrl { get; init; }
    /// <summary>A name with a real AAAA record: AAAA mode must return it, forced synthesis must not.</summary>
    public string? AaaaProbeName { get; init; }

    /// <summary>The probes go to dig and curl as arguments: names and URLs only, never something read as an option.</summary>
    public void Validate()
    {
        LabInput.ProbeName(ProbeName);
        if (ProbeUrl is not null) LabInput.ProbeUrl(ProbeUrl);
        if (AaaaProbeName is not null) LabInput.ProbeName(AaaaProbeName, nameof(AaaaProbeName));
    }
}

/// <summary>Test-DindCluster: one <see cref="CheckResult"/> per check, run inside the lab's own containers.</summary>
public sealed class LabTester
{
    private readonly DindLab _lab;
    private IDockerApi Docker => _lab.Docker;
    private CancellationToken Ct => _lab.Context.Cancellation;

    private NodeTools? _tools;

    public LabTester(DindLab lab) => _lab = lab;

    public async Task<IReadOnlyList<CheckResult>> TestAsync(string cluster, LabTestOptions options)
    {
        LabInput.ClusterName(cluster);
        options.Validate();
        await using var tools = new NodeTools(Docker, cluster, _lab.Log, Ct);
        _tools = tools;
        try { return await RunChecksAsync(cluster, options).ConfigureAwait(false); }
        finally { _tools = null; }
    }

    private async Task<IReadOnlyList<CheckResult>> RunChecksAsync(string cluster, LabTestOptions options)
    {
        var (info, plan) = await _lab.RequireClusterAsync(cluster).ConfigureAwait(false);
        var results = new List<CheckResult>();
        var containers = await Docker.ListContainersAsync(LabLabels.ClusterFilter(cluster), Ct).ConfigureAwait(false);
        var nodes = await _lab.GetNodesAsync(cluster).ConfigureAwait(false);

        // 1. Every container of the plan exists and runs.
        var expected = new[] { LabNames.Dns64(cluster), LabNames.Nat64(cluster) }.Concat(plan.NodeAddresses.Select(n => n.NodeName));
        foreach (var name in expected)
        {
            var c = containers.FirstOrDefault(x => x.Name == name);
            results.Add(c is { Running: true }
                ? Pass(name, "ContainerRunning", $"{c.Image}, {c.State}")
                : Fail(name, "ContainerRunning", c is null ? "the container is missing" : $"the container is {c.State}",
                    c is null ? $"Add-DindNode / Remove-DindCluster {cluster} and New-DindCluster again" : $"Start-DindCluster {cluster} starts it and re-applies its routes"));
        }

        var probeNode = nodes.FirstOrDefault(n => n.State == "running");
        if (probeNode is null)
        {
            results.Add(Fail(cluster, "Dns64Synthesis", "no node is running to probe from", $"Start-DindCluster {cluster}"));
            return results;
        }
        var nat64 = Ipv6Prefix.Parse(plan.Nat64Prefix);

        // 2. Nodes are IPv6-only and resolve through the DNS64.
        foreach (var node in nodes.Where(n => n.State == "running"))
        {
            var v4 = await Exec(node, "ip", "-4", "-o", "addr", "show", "scope", "global").ConfigureAwait(false);
            results.Add(v4.Succeeded && v4.StandardOutput.Trim().Length == 0
                ? Pass(node.NodeName, "Ipv6Only", "no global IPv4 address")
                : Fail(node.NodeName, "Ipv6Only", $"has IPv4: {v4.StandardOutput.Trim()}", $"Sync-DindRoute -ClusterName {cluster} -NodeName {node.NodeName}"));
        }

        // 3. DNS64 synthesis: an A-only name gets an AAAA inside the NAT64 prefix. When it does not, the A record says
        //    why: the name is unknown upstream (a Warn: nothing to synthesize from), resolution failed (the upstream),
        //    or the upstream has it and DNS64 did not synthesize (ProbeDiagnosis).
        var aaaa = await Dig(probeNode, "AAAA", options.ProbeName).ConfigureAwait(false);
        var synthesized = aaaa.Addresses.FirstOrDefault(a => nat64.Contains(a));
        var a4 = synthesized is null && !aaaa.ResolutionFailed && aaaa.Outcome != DnsOutcome.NxDomain
            ? await Dig(probeNode, "A", options.ProbeName).ConfigureAwait(false)
            : null;
        var dns64 = ProbeDiagnosis.Dns64Check(probeNode.NodeName, cluster, options.ProbeName, nat64, plan.Dns64Upstream, plan.Dns64Address, aaaa, a4);
        results.Add(dns64);

        // 4. NAT64 reachability of an outside IPv4 host. Resolution and synthesis are checked above: a failure here is
        //    the connection through NAT64 (with the Well-Known Prefix and a non-global destination, by design).
        if (options.ProbeUrl is not null)
        {
            var curl = await Exec(probeNode, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", options.ProbeUrl).ConfigureAwait(false);
            var code = curl.StandardOutput.Trim();
            if (curl.Succeeded && code.Length == 3 && code[0] is '2' or '3')
                results.Add(Pass(probeNode.NodeName, "Nat64Reachability", $"GET {options.ProbeUrl} → HTTP {code} through NAT64"));
            else
            {
                var host = Uri.TryCreate(options.ProbeUrl, UriKind.Absolute, out var uri) ? uri.Host.Trim('[', ']') : null;
                var hostAnswer = host is null || IPAddress.TryParse(host, out _) ? null : await Dig(probeNode, "AAAA", host).ConfigureAwait(false);
                results.Add(hostAnswer is { Outcome: not DnsOutcome.Answer }
                    ? Fail(probeNode.NodeName, "Nat64Reachability", $"GET {options.ProbeUrl} failed: {curl.StandardError.Trim()} (HTTP {code}); {host} AAAA gave {hostAnswer.Describe("AAAA")}",
                        $"Resolution of {host} failed, not the connection: check that the DNS64 upstream ({string.Join(", ", plan.Dns64Upstream)}) answers it (Get-Dns64 {cluster}; Export-DindLog shows bind9's log).")
                    : Fail(probeNode.NodeName, "Nat64Reachability", $"GET {options.ProbeUrl} failed: {curl.StandardError.Trim()} (HTTP {code})",
                        ProbeDiagnosis.Nat64Remedy(cluster, nat64, ProbeDiagnosis.Destination(nat64, options.ProbeUrl, hostAnswer?.Addresses), info.Spec.Subnet)));
            }
        }
        else if (synthesized is not null && options.ProbeName != "ipv4only.arpa")
        {
            var ping = await Exec(probeNode, "ping", "-6", "-c", "2", "-W", "2", synthesized.ToString()).ConfigureAwait(false);
            results.Add(ping.Succeeded
                ? Pass(probeNode.NodeName, "Nat64Reachability", $"ping {synthesized} ({options.ProbeName}) answered through NAT64")
                : Fail(probeNode.NodeName, "Nat64Reachability", $"ping {synthesized} got no answer",
                    ProbeDiagnosis.Nat64Remedy(cluster, nat64, ProbeDiagnosis.Destination(nat64, null, new[] { synthesized }), info.Spec.Subnet)));
        }
        else
        {
            results.Add(Warn(probeNode.NodeName, "Nat64Reachability",
                synthesized is null
                    ? $"not probed: DNS64 gave no address for {options.ProbeName}"
                    : "not probed: ipv4only.arpa's addresses are not reachable hosts",
                "Give -ProbeUrl http://<an IPv4-only web server>/ or -ProbeName <an IPv4-only host that answers ping>."));
        }

        // 5. AAAA handling: real AAAA in AAAA mode, synthesized otherwise.
        if (options.AaaaProbeName is not null)
        {
            var dual = await Exec(probeNode, "dig", "+short", "+time=3", "+tries=2", "AAAA", options.AaaaProbeName).ConfigureAwait(false);
            var answers = Addresses(dual.StandardOutput).ToList();
            if (info.AllowAaaa)
                results.Add(answers.Any(a => !nat64.Contains(a))
                    ? Pass(probeNode.NodeName, "AaaaMode", $"{options.AaaaProbeName} AAAA {string.Join(", ", answers)}: the real record is used")
                    : Fail(probeNode.NodeName, "AaaaMode", $"{options.AaaaProbeName} AAAA gave '{dual.StandardOutput.Trim()}' (no real AAAA)", $"Set-Dns64 {cluster} -AllowAaaa re-renders bind9 without 'exclude'."));
            else
                results.Add(answers.Count > 0 && answers.All(a => nat64.Contains(a))
                    ? Pass(probeNode.NodeName, "ForcedSynthesis", $"{options.AaaaProbeName} AAAA {string.Join(", ", answers)}: synthesized although a real AAAA exists")
                    : Fail(probeNode.NodeName, "ForcedSynthesis", $"{options.AaaaProbeName} AAAA gave '{dual.StandardOutput.Trim()}'", $"Set-Dns64 {cluster} -AllowAaaa:$false restores forced synthesis."));
        }

        // 6. Node to node over the management network (each node pings the next).
        var running = nodes.Where(n => n.State == "running").ToList();
        if (running.Count > 1)
        {
            var pings = await Task.WhenAll(running.Select(async (node, i) =>
            {
                var next = running[(i + 1) % running.Count];
                var ping = await Exec(node, "ping", "-6", "-c", "1", "-W", "2", next.IPv6Address).ConfigureAwait(false);
                return ping.Succeeded
                    ? Pass(node.NodeName, "NodeToNode", $"ping {next.NodeName} ({next.IPv6Address})")
                    : Fail(node.NodeName, "NodeToNode", $"no answer from {next.NodeName} ({next.IPv6Address})", "Check ip6tables FORWARD on the host (dockerd's DROP policy) and the node's state.");
            })).ConfigureAwait(false);
            results.AddRange(pings);
        }

        // 7. Pod to pod across nodes: a probe namespace per node, wired by the real CNI plugin with the rendered config,
        //    in a short-lived helper beside each node (PodProbe; the node itself needs no SYS_ADMIN).
        //    Calico's pods take addresses from Calico IPAM and routes from BGP, which that probe does not exercise.
        if (running.Count > 1 && info.Spec.Cni == "calico" && !info.NetworkOnly)
            results.Add(Warn(cluster, "PodToPod", "not probed: in a Calico lab pods get addresses from Calico IPAM and routes from calico-node's BGP, " +
                "which the lab's probe (a bridge-plugin namespace over the lab's per-node /80 routes) does not exercise; CalicoNodeReady says whether calico-node runs",
                $"Check pod to pod with kubectl (Get-DindKubeconfig {cluster}): run two pods on different nodes and ping one from the other."));
        else if (running.Count > 1)
            results.AddRange(await PodToPodAsync(info, plan, running).ConfigureAwait(false));

        // 8. Every planned route present.
        var routes = await _lab.GetRoutesAsync(cluster, null).ConfigureAwait(false);
        foreach (var group in routes.GroupBy(r => r.NodeName))
        {
            var planned = group.Where(r => r.Kind != DindRoute.StaleKind).ToList();
            var missing = planned.Where(r => !r.Present).Select(m => $"{m.Destination} via {m.Gateway}").ToList();
            var stale = group.Where(r => r.Kind == DindRoute.StaleKind).Select(m => $"{m.Destination} via {m.Gateway}").ToList();
            results.Add(missing.Count == 0 && stale.Count == 0
                ? Pass(group.Key, "Routes", $"{planned.Count} planned route(s) present")
                : Fail(group.Key, "Routes",
                    string.Join("; ", new[] { missing.Count > 0 ? $"missing: {string.Join(", ", missing)}" : "", stale.Count > 0 ? $"not planned (stale): {string.Join(", ", stale)}" : "" }.Where(t => t.Length > 0)),
                    $"Sync-DindRoute -ClusterName {cluster} -NodeName {group.Key}"));
        }
        // 8b. A node removed outside the module (docker rm) leaves no container to miss, only the others' routes to
        //     its pods: name it from those routes.
        results.AddRange(VanishedNodes(cluster, info.Spec, plan, routes));
        // 9. Kubernetes: every node Ready (through the API), the cluster DNS answers for a service, and its
        //    answers for outside names come from DNS64 (CoreDNS forwards there).
        if (!info.NetworkOnly)
            results.AddRange(await KubernetesAsync(cluster, info.Spec, plan, probeNode, nat64, options,
                probeNameUnknown: dns64.Status == CheckStatus.Warn && (aaaa.NameUnknown && a4 is null or { NameUnknown: true })).ConfigureAwait(false));
        return results;
    }

    /// <summary>
    /// Nodes whose container is gone while other nodes still route their pod prefix via them: removed with docker rm
    /// (Remove-DindNode re-routes the others). Named through the plan a node with that address would have.
    /// </summary>
    internal static IEnumerable<CheckResult> VanishedNodes(string cluster, DindClusterSpec spec, AddressPlan plan, IReadOnlyList<DindRoute> routes)
    {
        var stale = routes.Where(r => r.Kind == DindRoute.StaleKind).ToList();
        if (stale.Count == 0) yield break;
        var existing = plan.NodeAddresses.Select(n => n.IPv6Address).ToHashSet(StringComparer.Ordinal);
        var everyIndex = DindLab.EffectivePlan(spec, Enumerable.Range(1, SpecValidator.MaxNodes).ToHashSet());
        foreach (var gone in stale.GroupBy(r => r.Gateway).Where(g => !existing.Contains(g.Key)))
        {
            var node = everyIndex.NodeAddresses.FirstOrDefault(n => n.IPv6Address == gone.Key && gone.Any(r => r.Destination == n.PodPrefix));
            if (node is null) continue;       // not a node's address (an old NAT64 gateway): the Routes check names it
            var holders = gone.Select(r => r.NodeName).Distinct().OrderBy(n => n, StringComparer.Ordinal).ToList();
            yield return Fail(node.NodeName, "ContainerRunning",
                $"the container is missing: it was removed outside Ipv6Dind (docker rm?); {string.Join(", ", holders)} still route its pods ({node.PodPrefix}) via {node.IPv6Address}",
                $"Sync-DindRoute -ClusterName {cluster} drops those routes (the lab keeps its other nodes); Add-DindNode {cluster} adds a node again.");
        }
    }

    private async Task<IReadOnlyList<CheckResult>> KubernetesAsync(string cluster, DindClusterSpec spec, AddressPlan plan, DindNode probeNode, Ipv6Prefix nat64, LabTestOptions options, bool probeNameUnknown)
    {
        var results = new List<CheckResult>();
        try
        {
            using var api = await _lab.ConnectAsync(cluster).ConfigureAwait(false);
            var nodes = await api.GetNodesAsync(Ct).ConfigureAwait(false);
            foreach (var planned in plan.NodeAddresses)
            {
                var node = nodes.FirstOrDefault(n => n.Name == planned.NodeName);
                results.Add(node is { Ready: true }
                    ? Pass(planned.NodeName, "KubernetesNodeReady", $"Ready, kubelet {node.KubeletVersion}, {string.Join(", ", node.InternalIPs)}")
                    : Fail(planned.NodeName, "KubernetesNodeReady",
                        node is null ? $"not registered with the API server at {api.Server}" : $"not Ready: {node.Reason} {node.Message}".TrimEnd(),
                        $"Export-DindLog {cluster} collects the kubelet's journal; Reset-DindCluster {cluster} rebuilds the nodes."));
            }
            // Registered nodes of this lab whose container is gone (docker rm): the API still lists them.
            var plannedNames = plan.NodeAddresses.Select(n => n.NodeName).ToHashSet(StringComparer.Ordinal);
            foreach (var orphan in nodes.Where(n => !plannedNames.Contains(n.Name) && n.Name.StartsWith(AddressPlanner.NodeNamePrefix(cluster), StringComparison.Ordinal)).OrderBy(n => n.Name, StringComparer.Ordinal))
                results.Add(Fail(orphan.Name, "KubernetesNodeReady", $"registered with the API server at {api.Server} ({(orphan.Ready ? "last Ready" : "not Ready")}), but its container is gone",
                    $"kubectl delete node {orphan.Name} (Get-DindKubeconfig {cluster}), or Add-DindNode {cluster} to add a node again."));
            if (spec.Cni == "calico")
                results.AddRange(CalicoNodes(cluster, plan, await api.GetPodsAsync("kube-system", "k8s-app=calico-node", Ct).ConfigureAwait(false)));
        }
        catch (DindException e)
        {
            results.Add(Fail(cluster, "KubernetesApi", e.Message, e.RecommendedAction ?? $"Get-DindKubeconfig {cluster}; check that the control-plane node runs."));
        }

        var service = Ipv6Prefix.Parse(plan.ServicePrefix);
        var domain = "kubernetes.default.svc.cluster.local";
        var svc = await Exec(probeNode, "dig", "+short", "+time=3", "+tries=2", $"@{plan.KubeDnsAddress}", "AAAA", domain).ConfigureAwait(false);
        var svcAddress = Addresses(svc.StandardOutput).FirstOrDefault(a => service.Contains(a));
        results.Add(svcAddress is not null
            ? Pass(probeNode.NodeName, "ClusterDnsService", $"{domain} AAAA {svcAddress} from CoreDNS at {plan.KubeDnsAddress}")
            : Fail(probeNode.NodeName, "ClusterDnsService", $"CoreDNS at {plan.KubeDnsAddress} gave '{(svc.StandardOutput + svc.StandardError).Trim()}' for {domain}",
                $"kubectl -n kube-system get pods -l k8s-app=kube-dns (Get-DindKubeconfig {cluster}); kube-proxy must run for the service address."));

        var outside = await Dig(probeNode, "AAAA", options.ProbeName, plan.KubeDnsAddress).ConfigureAwait(false);
        var synthesized = outside.Addresses.FirstOrDefault(a => nat64.Contains(a));
        if (synthesized is not null)
            results.Add(Pass(probeNode.NodeName, "ClusterDnsThroughDns64", $"CoreDNS answers {options.ProbeName} AAAA {synthesized} (synthesized by DNS64, inside {plan.Nat64Prefix})"));
        else if (probeNameUnknown && outside.NameUnknown)
            // The same answer as the DNS64's own (Dns64Synthesis): the name does not exist upstream, nothing to synthesize.
            results.Add(Warn(probeNode.NodeName, "ClusterDnsThroughDns64", $"CoreDNS at {plan.KubeDnsAddress} gave {outside.Describe("AAAA")} for {options.ProbeName}, as the DNS64 did: the name is unknown upstream",
                "Give -ProbeName with a name your upstream resolves to an IPv4 address only (see Dns64Synthesis)."));
        else
            results.Add(Fail(probeNode.NodeName, "ClusterDnsThroughDns64", $"CoreDNS at {plan.KubeDnsAddress} gave {outside.Describe("AAAA")} for {options.ProbeName} AAAA",
                $"The coredns ConfigMap must forward to {plan.Dns64Address}: Reset-DindCluster {cluster} or New-DindCluster re-applies it."));
        return results;
    }

    private async Task<IReadOnlyList<CheckResult>> PodToPodAsync(DindCluster info, AddressPlan plan, IReadOnlyList<DindNode> running)
    {
        var plugin = info.Spec.Cni is "ptp" ? "ptp" : "bridge";
        var probes = running
            .Select(n => (Node: n, Planned: plan.NodeAddresses.FirstOrDefault(p => p.Index == n.Index)))
            .Where(x => x.Planned is not null)
            .Select(x => new PodProbe(Docker, info.ClusterName, x.Node, plan, x.Planned!, plugin))
            .ToList();
        var results = new List<CheckResult>();
        try
        {
            var added = await Task.WhenAll(probes.Select(p => p.AddAsync(Ct))).ConfigureAwait(false);
            for (var i = 0; i < probes.Count; i++)
                if (added[i] is { } problem)
                    results.Add(Fail(probes[i].NodeName, "PodToPod", problem, "Export-DindLog shows the node's CNI configuration and routes."));
            var ready = probes.Where(p => p.Address is not null).ToList();
            var pings = await Task.WhenAll(ready.Select(async (probe, i) =>
            {
                var next = ready[(i + 1) % ready.Count];
                if (ReferenceEquals(next, probe)) return null;
                var ping = await probe.PingAsync(next.Address!, Ct).ConfigureAwait(false);
                return ping.Succeeded
                    ? Pass(probe.NodeName, "PodToPod", $"pod {probe.Address} → pod {next.Address} on {next.NodeName} ({plugin})")
                    : Fail(probe.NodeName, "PodToPod", $"pod {probe.Address} got no answer from pod {next.Address} on {next.NodeName}",
                        $"Get-DindRoute -ClusterName {info.ClusterName} shows whether both nodes route the other's pod prefix.");
            })).ConfigureAwait(false);
            results.AddRange(pings.Where(p => p is not null)!);
        }
        finally
        {
            // Probes never outlive the check, even when it is interrupted.
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Task.WhenAll(probes.Select(async p =>
            {
                try { await p.RemoveAsync(cleanup.Token).ConfigureAwait(false); }
                catch (Exception ex) when (ex is DindException or OperationCanceledException) { _lab.Log.Warning($"Removing the pod probe beside {p.NodeName} failed: {ex.Message}"); }
            })).ConfigureAwait(false);
        }
        return results;
    }

    /// <summary>A probe query through the node's resolver (or <paramref name="server"/>), status and records (<see cref="ProbeDiagnosis.DigArguments"/>).</summary>
    private async Task<DnsAnswer> Dig(DindNode node, string type, string name, string? server = null)
    {
        var r = await Exec(node, ProbeDiagnosis.DigArguments(type, name, server)).ConfigureAwait(false);
        return ProbeDiagnosis.ParseDig(r.ExitCode, r.StandardOutput, r.StandardError);
    }

    /// <summary>In the node, or beside it in its network namespace when its image lacks the tool (<see cref="NodeTools"/>).</summary>
    private Task<ExecResult> Exec(DindNode node, params string[] argv) => Tools.ExecAsync(node, argv);

    private NodeTools Tools => _tools ?? throw new InvalidOperationException("The checks' tools exist only during TestAsync.");

    private static IEnumerable<IPAddress> Addresses(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => IPAddress.TryParse(l, out var a) ? a : null)
            .Where(a => a is not null)!;

    /// <summary>A Calico lab: one calico-node pod (DaemonSet kube-system/calico-node) Running and Ready on every node.</summary>
    internal static IEnumerable<CheckResult> CalicoNodes(string cluster, AddressPlan plan, IReadOnlyList<KubePodStatus> pods)
    {
        foreach (var planned in plan.NodeAddresses)
        {
            var pod = pods.FirstOrDefault(p => p.NodeName == planned.NodeName);
            yield return pod is { Phase: "Running", Ready: true }
                ? Pass(planned.NodeName, "CalicoNodeReady", $"calico-node pod {pod.Name} Running and Ready")
                : Fail(planned.NodeName, "CalicoNodeReady",
                    pod is null ? "no calico-node pod on this node" : $"calico-node pod {pod.Name} is {pod.Phase}{(pod.Ready ? "" : ", not Ready")}{(pod.Reason is null ? "" : ": " + pod.Reason)} {pod.Message}".TrimEnd(),
                    $"kubectl -n kube-system describe pod -l k8s-app=calico-node (Get-DindKubeconfig {cluster}); its images must be in every node (Copy-DindImage {cluster} <image>), and the manifest's Calico must support this Kubernetes version.");
        }
    }

    private static CheckResult Warn(string target, string check, string detail, string remedy) =>
        new() { Target = target, Check = check, Status = CheckStatus.Warn, Detail = detail, Remedy = remedy };

    private static CheckResult Pass(string target, string check, string detail) =>
        new() { Target = target, Check = check, Status = CheckStatus.Pass, Detail = detail };

    private static CheckResult Fail(string target, string check, string detail, string remedy) =>
        new() { Target = target, Check = check, Status = CheckStatus.Fail, Detail = detail, Remedy = remedy };
}
