using System.Net;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// Day-two operations against the real daemon, bind9, tayga and the simulated outside world: moving the NAT64
/// prefix, switching AAAA mode both ways, stop/start, repairing a killed node, adding and removing nodes, tayga's
/// mappings, exporting logs, and a failing command in a node. Every test removes its cluster and checks that
/// nothing (container, network, volume, host rule) is left behind.
/// </summary>
[Collection("lab")]
public sealed class LabOperationsTests
{
    private readonly LabFixture _f;
    public LabOperationsTests(LabFixture fixture) => _f = fixture;

    private const string Probes = "-ProbeName www.example.test -ProbeUrl http://www.example.test/";

    /// <summary>Creates a network-only lab, runs <paramref name="body"/>, removes the lab and asserts nothing is left.</summary>
    private async Task WithClusterAsync(string name, int nodes, string extra, Func<DindCluster, Task> body)
    {
        try
        {
            var created = _f.Ps.Run($"New-DindCluster {name} -Nodes {nodes} -NetworkOnly -Dns64Upstream {_f.Upstream} {extra}");
            created.AssertSuccess();
            var cluster = created.Single<DindCluster>();
            Assert.Equal("Running", cluster.State);
            await body(cluster);
        }
        finally
        {
            _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false");
        }
        Assert.Empty(await _f.LeftoversAsync(name));
    }

    /// <summary>
    /// The parameter values TabExpansion2 offers for <paramref name="line"/> (cursor at its end), in order. Completion
    /// gives up silently after about 2 s (a busy daemon must not freeze the prompt): on this loaded machine an empty
    /// answer is asked again, up to three times.
    /// </summary>
    private List<string> Completions(string line)
    {
        for (var attempt = 1; ; attempt++)
        {
            var r = _f.Ps.Run("(TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches", new Dictionary<string, object?> { ["line"] = line });
            r.AssertSuccess();
            var offered = r.Output.Select(o => (System.Management.Automation.CompletionResult)o.BaseObject)
                .Where(c => c.ResultType == System.Management.Automation.CompletionResultType.ParameterValue)
                .Select(c => c.CompletionText).ToList();
            if (offered.Count > 0 || attempt == 3) return offered;
        }
    }

    private DindCluster GetCluster(string name)
    {
        var r = _f.Ps.Run($"Get-DindCluster {name}");
        r.AssertSuccess();
        return r.Single<DindCluster>();
    }

    /// <summary>Runs Test-DindCluster and asserts that no check failed; returns the checks.</summary>
    private List<CheckResult> AssertChecksPass(string cluster, string extra = "")
    {
        var r = _f.Ps.Run($"Test-DindCluster {cluster} {Probes} {extra}");
        r.AssertSuccess();
        var checks = r.All<CheckResult>().ToList();
        var failed = checks.Where(c => c.Status == CheckStatus.Fail).Select(c => $"{c.Target} {c.Check}: {c.Detail}").ToList();
        Assert.True(failed.Count == 0, $"Test-DindCluster {cluster} failed:\n" + string.Join("\n", failed));
        Assert.Contains(checks, c => c.Check == "Dns64Synthesis" && c.Status == CheckStatus.Pass);
        Assert.Contains(checks, c => c.Check == "Nat64Reachability" && c.Status == CheckStatus.Pass);
        return checks;
    }

    private DindCommandResult Exec(string cluster, string node, string command)
    {
        var r = _f.Ps.Run($"Invoke-DindCommand {cluster} {node} {command}");
        r.AssertSuccess();
        return r.Single<DindCommandResult>();
    }

    private List<DindRoute> Routes(string cluster)
    {
        var r = _f.Ps.Run($"Get-DindRoute {cluster}");
        r.AssertSuccess();
        return r.All<DindRoute>().ToList();
    }

    private List<DindNode> Nodes(string cluster)
    {
        var r = _f.Ps.Run($"Get-DindNode {cluster}");
        r.AssertSuccess();
        return r.All<DindNode>().ToList();
    }

    /// <summary>The host's ip6tables rules (the "-A" lines of ip6tables-save) that do not carry this cluster's comment.</summary>
    private static async Task<List<string>> OtherHostRulesAsync(string cluster)
    {
        var save = await HostProcess.RunAsync("ip6tables-save", Array.Empty<string>(), TimeSpan.FromSeconds(30), default);
        var comment = LabNames.HostRuleClusterPrefix(cluster);
        var table = "";
        var rules = new List<string>();
        foreach (var line in save.StdOut.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('*')) table = line;
            // Docker's own rules of each network's bridge (br-<12 hex>), and the hairpin MASQUERADE of a published
            // port (-s A/128 -d A/128 ... --dport N, a Kubernetes node's API server), come and go with the other test
            // process's labs (tests/run runs the fault sweep beside this one): what must stay is every other rule.
            else if (line.StartsWith("-A ", StringComparison.Ordinal) && !line.Contains(comment, StringComparison.Ordinal)
                     && !System.Text.RegularExpressions.Regex.IsMatch(line, @"\bbr-[0-9a-f]{12}\b")
                     && !System.Text.RegularExpressions.Regex.IsMatch(line, @"^-A POSTROUTING -s (\S+/128) -d \1 -p \w+ -m \w+ --dport \d+ -j MASQUERADE$"))
                rules.Add($"{table} {line}");
        }
        return rules;
    }

    // ------------------------------------------------------------------------------------------------ 1. NAT64 prefix

    [Fact]
    public async Task SetNat64PrefixMovesSynthesisTranslationAndRoutesAndRefusesInvalidPrefixes()
    {
        const string name = "it-ops-nat64";
        await WithClusterAsync(name, 2, "", async before =>
        {
            var subnet = Ipv6Prefix.Parse(before.Spec.Subnet);
            var oldPrefix = Ipv6Prefix.Parse(before.Nat64Prefix);
            var newPrefix = SpecDefaults.Carve(subnet, 0x65, 96);
            Assert.False(newPrefix.Overlaps(oldPrefix));

            // Invalid prefixes: refused with their own error ids, and nothing changes.
            var slash80 = SpecDefaults.Carve(subnet, 0x65, 80);
            var bad = _f.Ps.Run($"Set-Nat64Prefix {name} -Nat64Prefix {slash80}");
            Assert.StartsWith("InvalidNat64PrefixLength,", bad.ErrorId);
            var uBytes = newPrefix.Network.GetAddressBytes();
            uBytes[8] = 0x01; // bits 64-71: the RFC 6052 u octet
            var uOctet = $"{new IPAddress(uBytes)}/96";
            bad = _f.Ps.Run($"Set-Nat64Prefix {name} -Nat64Prefix {uOctet}");
            Assert.StartsWith("Nat64PrefixUOctetNotZero,", bad.ErrorId);
            var intoPods = SpecDefaults.Carve(subnet, SpecDefaults.PodSubnetId, 96); // inside the cluster's own pod prefix
            bad = _f.Ps.Run($"Set-Nat64Prefix {name} -Nat64Prefix {intoPods}");
            Assert.StartsWith("SubnetOverlap,", bad.ErrorId);
            var unchanged = GetCluster(name);
            Assert.Equal(before.Nat64Prefix, unchanged.Nat64Prefix);
            Assert.Equal("Running", unchanged.State);
            Assert.Equal(before.Nat64Prefix, _f.Ps.Run($"Get-Dns64 {name}").Single<Dns64Settings>().Nat64Prefix);
            Assert.All(Routes(name), x => Assert.True(x.Present, x.ToString()));

            // The move.
            var moved = _f.Ps.Run($"Set-Nat64Prefix {name} -Nat64Prefix {newPrefix} -PassThru");
            moved.AssertSuccess();
            Assert.Equal(newPrefix.ToString(), moved.Single<DindCluster>().Nat64Prefix);
            var after = GetCluster(name);
            Assert.Equal(newPrefix.ToString(), after.Nat64Prefix);
            Assert.Equal("Running", after.State);
            Assert.Equal(newPrefix.ToString(), _f.Ps.Run($"Get-Dns64 {name}").Single<Dns64Settings>().Nat64Prefix);

            AssertChecksPass(name);

            // DNS64 synthesizes inside the new prefix, seen from every node.
            foreach (var node in Nodes(name))
            {
                var dig = Exec(name, node.NodeName, "dig +short +time=3 +tries=2 AAAA www.example.test");
                var answers = dig.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(a => IPAddress.TryParse(a, out var ip) ? ip : null).Where(a => a is not null).ToList();
                Assert.NotEmpty(answers);
                Assert.All(answers, a => Assert.True(newPrefix.Contains(a!), $"{node.NodeName}: {a} is not inside {newPrefix}"));
                var curl = Exec(name, node.NodeName, "curl -sS --max-time 5 http://www.example.test/");
                Assert.Contains(OutsideWorld.Marker, curl.Output);
            }

            // Every planned route present (the new prefix among them); no node still routes the old one.
            var routes = Routes(name);
            Assert.Equal(2 * 2, routes.Count);
            Assert.All(routes, x => Assert.True(x.Present, x.ToString()));
            Assert.Contains(routes, x => x.Kind == "Nat64" && x.Destination == newPrefix.ToString());
            Assert.DoesNotContain(routes, x => x.Destination == oldPrefix.ToString());
            foreach (var node in Nodes(name))
            {
                var table = Exec(name, node.NodeName, "ip -6 route show").Output;
                Assert.DoesNotContain(oldPrefix.ToString(), table);
                Assert.DoesNotContain(DindLab.ParseRoutes(table), r => Ipv6Prefix.Parse(r.Destination).Overlaps(oldPrefix));
                Assert.Contains(DindLab.ParseRoutes(table), r => r.Destination == newPrefix.ToString());
            }
        });
    }

    // ------------------------------------------------------------------------------------------------ 2. AAAA switch

    [Fact]
    public async Task SetDns64SwitchesAaaaModeBothWaysWithExactlyItsHostRules()
    {
        const string name = "it-ops-aaaa";
        const string aaaa = "-AaaaProbeName dual.example.test";
        var firewall = new HostFirewall();
        await WithClusterAsync(name, 1, "", async _ =>
        {
            var othersBefore = await OtherHostRulesAsync(name);

            // Forced synthesis (the default).
            var dns = _f.Ps.Run($"Get-Dns64 {name}").Single<Dns64Settings>();
            Assert.False(dns.AllowAaaa);
            Assert.True(dns.Running);
            Assert.Equal(new[] { _f.Upstream }, dns.Upstream);
            Assert.Contains(AssertChecksPass(name, aaaa), c => c.Check == "ForcedSynthesis" && c.Status == CheckStatus.Pass);
            Assert.Empty(await firewall.ListClusterAsync(name, default));

            // On: real AAAA records, exactly the three host rules.
            var on = _f.Ps.Run($"Set-Dns64 {name} -AllowAaaa -PassThru");
            on.AssertSuccess();
            Assert.True(on.Single<Dns64Settings>().AllowAaaa);
            Assert.True(_f.Ps.Run($"Get-Dns64 {name}").Single<Dns64Settings>().AllowAaaa);
            Assert.True(GetCluster(name).AllowAaaa);
            Assert.Contains(AssertChecksPass(name, aaaa), c => c.Check == "AaaaMode" && c.Status == CheckStatus.Pass);
            var rules = await firewall.ListClusterAsync(name, default);
            Assert.Equal(3, rules.Count);
            Assert.Equal(2, rules.Count(r => r.Table == "filter" && r.Chain == "FORWARD"));
            Assert.Single(rules, r => r.Table == "nat" && r.Chain == "POSTROUTING");
            Assert.Equal(othersBefore, await OtherHostRulesAsync(name));

            // Again: idempotent, still three.
            _f.Ps.Run($"Set-Dns64 {name} -AllowAaaa").AssertSuccess();
            Assert.Equal(3, (await firewall.ListClusterAsync(name, default)).Count);

            // Off: forced synthesis again, the rules gone, everything else untouched.
            var off = _f.Ps.Run($"Set-Dns64 {name} -AllowAaaa:$false -PassThru");
            off.AssertSuccess();
            Assert.False(off.Single<Dns64Settings>().AllowAaaa);
            Assert.False(_f.Ps.Run($"Get-Dns64 {name}").Single<Dns64Settings>().AllowAaaa);
            Assert.Contains(AssertChecksPass(name, aaaa), c => c.Check == "ForcedSynthesis" && c.Status == CheckStatus.Pass);
            Assert.Empty(await firewall.ListClusterAsync(name, default));
            Assert.Equal(othersBefore, await OtherHostRulesAsync(name));

            // Changing the upstream (to the same resolver) keeps the lab working.
            var upstream = _f.Ps.Run($"Set-Dns64 {name} -Dns64Upstream {OutsideWorld.ResolverAddress4} -PassThru");
            upstream.AssertSuccess();
            var settings = upstream.Single<Dns64Settings>();
            Assert.Equal(new[] { OutsideWorld.ResolverAddress4 }, settings.Upstream);
            Assert.False(settings.AllowAaaa);
            Assert.True(settings.Running);
            AssertChecksPass(name, aaaa);
            Assert.Equal(othersBefore, await OtherHostRulesAsync(name));
        });
    }

    // ------------------------------------------------------------------------------------------------ 3. stop / start

    [Fact]
    public async Task StopThenStartRestoresAWorkingLab()
    {
        const string name = "it-ops-stop";
        await WithClusterAsync(name, 2, "", _ =>
        {
            _f.Ps.Run($"Stop-DindCluster {name} -Confirm:$false").AssertSuccess();
            Assert.Equal("Stopped", GetCluster(name).State);
            Assert.All(Nodes(name), n => Assert.NotEqual("running", n.State));
            Assert.False(_f.Ps.Run($"Get-Dns64 {name}").Single<Dns64Settings>().Running);

            var started = _f.Ps.Run($"Start-DindCluster {name} -PassThru");
            started.AssertSuccess();
            Assert.Equal("Running", started.Single<DindCluster>().State);
            Assert.Equal("Running", GetCluster(name).State);
            Assert.All(Routes(name), x => Assert.True(x.Present, x.ToString()));
            AssertChecksPass(name);
            var curl = Exec(name, $"{name}-node-2", "curl -sS --max-time 5 http://www.example.test/");
            Assert.Contains(OutsideWorld.Marker, curl.Output);
            return Task.CompletedTask;
        });
    }

    // ------------------------------------------------------------------------------------------------ 4. killed node

    [Fact]
    public async Task AStoppedNodeIsReportedAndStartDindClusterRepairsIt()
    {
        const string name = "it-ops-kill";
        await WithClusterAsync(name, 2, "", async _ =>
        {
            var victim = Nodes(name).Single(n => n.NodeName == $"{name}-node-2");
            await _f.Docker.StopContainerAsync(victim.ContainerId, TimeSpan.FromSeconds(1), default);
            Assert.Equal("Degraded", GetCluster(name).State);

            var test = _f.Ps.Run($"Test-DindCluster {name} {Probes}");
            test.AssertSuccess();
            var checks = test.All<CheckResult>().ToList();
            Assert.Contains(checks, c => c.Status == CheckStatus.Fail && c.Check == "ContainerRunning" && c.Target == victim.NodeName);
            Assert.DoesNotContain(checks, c => c.Status == CheckStatus.Fail && c.Check == "ContainerRunning" && c.Target != victim.NodeName);

            var started = _f.Ps.Run($"Start-DindCluster {name} -PassThru");
            started.AssertSuccess();
            Assert.Equal("Running", started.Single<DindCluster>().State);
            Assert.All(Routes(name), x => Assert.True(x.Present, x.ToString()));
            AssertChecksPass(name);
        });
    }

    [Fact]
    public async Task ANodeRemovedWithDockerRmIsNamedFromTheOthersRoutesAndSyncDindRouteRepairsTheLab()
    {
        const string name = "it-ops-rm";
        await WithClusterAsync(name, 3, "", async _ =>
        {
            var victim = Nodes(name).Single(n => n.NodeName == $"{name}-node-3");
            await _f.Docker.RemoveContainerAsync(victim.ContainerId, default);     // what `docker rm -f` does: no trace on the lab's labels

            var stale = Routes(name).Where(r => r.Kind == DindRoute.StaleKind).ToList();
            Assert.Equal(new[] { $"{name}-node-1", $"{name}-node-2" }, stale.Select(r => r.NodeName).OrderBy(n => n, StringComparer.Ordinal).ToArray());
            Assert.All(stale, r => Assert.Equal((victim.PodPrefix, victim.IPv6Address), (r.Destination, r.Gateway)));
            Assert.All(stale, r => Assert.True(r.Present));

            var checks = _f.Ps.Run($"Test-DindCluster {name} {Probes}").All<CheckResult>().ToList();
            var missing = Assert.Single(checks, c => c.Status == CheckStatus.Fail && c.Check == "ContainerRunning");
            Assert.Equal(victim.NodeName, missing.Target);
            Assert.Contains("docker rm", missing.Detail);
            Assert.Contains(victim.PodPrefix, missing.Detail);
            Assert.Equal(2, checks.Count(c => c.Status == CheckStatus.Fail && c.Check == "Routes" && c.Detail.Contains("stale")));

            _f.Ps.Run($"Sync-DindRoute {name} -Confirm:$false").AssertSuccess();
            Assert.DoesNotContain(Routes(name), r => r.Kind == DindRoute.StaleKind);
            var after = AssertChecksPass(name);
            Assert.DoesNotContain(after, c => c.Target == victim.NodeName);
        });
    }

    [Fact]
    public async Task ToolsANodeImageLacksRunInAProbeContainerThatSharesTheNodesNetworkNamespace()
    {
        const string name = "it-ops-tools";
        await WithClusterAsync(name, 2, "", async _ =>
        {
            // node 1 becomes like kindest/node: no dig, no ping (and no curl; the checks' first node uses all three).
            var node1 = $"{name}-node-1";
            Exec(name, node1, "rm -f /usr/bin/dig /usr/bin/curl /usr/bin/ping /bin/ping");
            var gone = await _f.Docker.ExecAsync(node1, new[] { "dig", "-v" }, null, null, default);
            Assert.True(gone.ExitCode is 126 or 127, $"dig in {node1}: exit {gone.ExitCode} {gone.StandardError}");

            var run = _f.Ps.Run($"Test-DindCluster {name} {Probes} -Verbose");
            run.AssertSuccess();
            var checks = run.All<CheckResult>().ToList();
            Assert.True(checks.All(c => c.Status != CheckStatus.Fail), string.Join("\n", checks.Where(c => c.Status == CheckStatus.Fail)));
            // Resolved through node 1's own resolver (the lab's DNS64) and fetched over node 1's routes: the probe
            // container saw the node's network, not its own.
            Assert.Contains(checks, c => c.Check == "Dns64Synthesis" && c.Target == node1 && c.Status == CheckStatus.Pass);
            Assert.Contains(checks, c => c.Check == "Nat64Reachability" && c.Target == node1 && c.Status == CheckStatus.Pass);
            Assert.Contains(run.Verbose, v => v.Contains($"{node1}'s image cannot run dig") && v.Contains($"{node1}-probe"));
            Assert.Contains(run.Verbose, v => v.Contains($"{node1}'s image cannot run curl"));
            Assert.Contains(run.Verbose, v => v.Contains($"{node1}'s image cannot run ping"));
            // node 1's pings went out from beside it: to node 2 (tools probe), and from its stand-in pod (PodToPod's own helper).
            Assert.Contains(checks, c => c.Check == "NodeToNode" && c.Target == node1 && c.Status == CheckStatus.Pass);
            Assert.Contains(checks, c => c.Check == "PodToPod" && c.Target == node1 && c.Status == CheckStatus.Pass);
            Assert.DoesNotContain(run.Verbose, v => v.Contains($"{name}-node-2's image cannot run"));

            // The probe container is gone, and it never counted as part of the lab.
            var left = await _f.Docker.ListContainersAsync(LabLabels.ClusterFilter(name), default);
            Assert.DoesNotContain(left, c => c.Labels[LabLabels.Role] == LabLabels.RoleProbe);
            Assert.Equal(("Running", 2), (GetCluster(name).State, GetCluster(name).Nodes));
        });
    }

    // ------------------------------------------------------------------------------------------------ 5. add / remove

    [Fact]
    public async Task AddDindNodeRoutesEveryPodPrefixAndRemoveDindNodeTakesItsRoutesAway()
    {
        const string name = "it-ops-nodes";
        await WithClusterAsync(name, 2, "", _ =>
        {
            var added = _f.Ps.Run($"Add-DindNode {name} -Nodes 2");
            added.AssertSuccess();
            Assert.Equal(new[] { $"{name}-node-3", $"{name}-node-4" }, added.All<DindNode>().Select(n => n.NodeName).ToArray());

            // Tab completion offers this lab's name and, after it, its nodes: the ones just added too.
            Assert.Contains(name, Completions("Get-DindNode -ClusterName it-ops-no"));
            Assert.Equal(Enumerable.Range(1, 4).Select(i => $"{name}-node-{i}"), Completions($"Invoke-DindCommand {name} "));
            Assert.Equal(new[] { $"{name}-node-3", $"{name}-node-4" }, Completions($"Get-DindRoute -ClusterName {name} -NodeName {name.ToUpperInvariant()}-NODE-[34]"));

            var nodes = Nodes(name);
            Assert.Equal(4, nodes.Count);
            Assert.Equal(4, GetCluster(name).Nodes);
            Assert.Equal(4, nodes.Select(n => n.PodPrefix).Distinct().Count());
            var routes = Routes(name);
            Assert.Equal(4 * 4, routes.Count); // per node: three other pod prefixes + NAT64
            Assert.All(routes, x => Assert.True(x.Present, x.ToString()));
            foreach (var node in nodes)
                foreach (var other in nodes.Where(o => o.NodeName != node.NodeName))
                    Assert.Contains(routes, x => x.NodeName == node.NodeName && x.Kind == "Pod" && x.Destination == other.PodPrefix && x.Gateway == other.IPv6Address);
            var checks = AssertChecksPass(name);
            Assert.Equal(4, checks.Count(c => c.Check == "PodToPod" && c.Status == CheckStatus.Pass));

            var gone = nodes.Single(n => n.NodeName == $"{name}-node-2");
            _f.Ps.Run($"Remove-DindNode {name} {gone.NodeName} -Confirm:$false").AssertSuccess();
            var left = Nodes(name);
            Assert.Equal(new[] { 1, 3, 4 }, left.Select(n => n.Index).ToArray());
            Assert.Equal(left.Select(n => n.NodeName), Completions($"Remove-DindNode -ClusterName {name} -NodeName "));
            routes = Routes(name);
            Assert.Equal(3 * 3, routes.Count);
            Assert.All(routes, x => Assert.True(x.Present, x.ToString()));
            Assert.DoesNotContain(routes, x => x.Destination == gone.PodPrefix || x.NodeName == gone.NodeName);
            foreach (var node in left)
            {
                var table = DindLab.ParseRoutes(Exec(name, node.NodeName, "ip -6 route show").Output);
                Assert.DoesNotContain(table, r => r.Destination == gone.PodPrefix);
                Assert.DoesNotContain(table, r => r.Gateway == gone.IPv6Address);
            }
            checks = AssertChecksPass(name);
            Assert.Equal(3, checks.Count(c => c.Check == "PodToPod" && c.Status == CheckStatus.Pass));
            Assert.Equal("Running", GetCluster(name).State);
            return Task.CompletedTask;
        });
    }

    // ------------------------------------------------------------------------------------------------ 6. mappings

    [Fact]
    public async Task RepairConntrackHashsizeOfANetworkLabReportsThatItHasNoKubeProxyAndWhatIfProbesNothing()
    {
        await WithClusterAsync("it-kp-net", 1, "", _ =>
        {
            var whatIf = _f.Ps.Run("Repair-ConntrackHashsize -ClusterName it-kp-net -WhatIf");
            whatIf.AssertSuccess();
            var reported = whatIf.Single<ConntrackStatus>();
            Assert.Contains("network lab (-NetworkOnly): it runs no kube-proxy", reported.Detail);
            Assert.Contains("was not probed", reported.Detail);

            var r = _f.Ps.Run("Repair-ConntrackHashsize -ClusterName it-kp-net -Confirm:$false");
            r.AssertSuccess();
            var s = r.Single<ConntrackStatus>();
            Assert.Equal(("it-kp-net", 0, (int?)null, false), (s.Target, s.MaxPerCore, s.PreviousMaxPerCore, s.NeedsRepair));
            Assert.Contains("network lab", s.Detail);
            Assert.DoesNotContain("was not probed", s.Detail);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task GetNat64MappingShowsTheTranslationOfANodeInsideThePool()
    {
        const string name = "it-ops-map";
        await WithClusterAsync(name, 1, "", async cluster =>
        {
            var node = Nodes(name).Single();
            var curl = Exec(name, node.NodeName, "curl -sS --max-time 5 http://www.example.test/");
            Assert.Contains(OutsideWorld.Marker, curl.Output);

            var pool = Ipv4Prefix.Parse(cluster.Spec.Nat64Pool);
            List<Nat64Mapping> mappings = new();
            // tayga 0.9.2 writes dynamic.map from its pool maintenance, every 45 s or so (and on exit), not per mapping.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            while (true)
            {
                var r = _f.Ps.Run($"Get-Nat64Mapping {name}");
                r.AssertSuccess();
                mappings = r.All<Nat64Mapping>().ToList();
                if (mappings.Count > 0 || DateTime.UtcNow > deadline) break;
                await Task.Delay(2000);
            }
            Assert.NotEmpty(mappings);
            Assert.Contains(mappings, m => pool.Contains(IPAddress.Parse(m.IPv4Address)));
            Assert.All(mappings, m => Assert.Equal(name, m.ClusterName));
            Assert.Contains(mappings, m => IPAddress.Parse(m.IPv6Address).Equals(IPAddress.Parse(node.IPv6Address)));
        });
    }

    // ------------------------------------------------------------------------------------------------ 7. logs

    [Fact]
    public async Task ExportDindLogWritesTheFilesOfEveryContainer()
    {
        const string name = "it-ops-logs";
        var directory = Path.Combine(Path.GetTempPath(), "ipv6dind-it-logs-" + Guid.NewGuid().ToString("N"));
        try
        {
            await WithClusterAsync(name, 2, "", _ =>
            {
                var r = _f.Ps.Run($"Export-DindLog {name} '{directory}'");
                r.AssertSuccess();
                var export = Assert.Single(r.All<DindLogExport>());
                var written = export.Files.Select(f => f.FullName).ToHashSet();
                Assert.Equal(written.Count, export.FileCount);
                Assert.Equal(export.Files.Sum(f => new FileInfo(f.FullName).Length), export.TotalBytes);
                Assert.All(written, f => Assert.True(File.Exists(f), f));

                void Has(string container, string file)
                {
                    var path = Path.Combine(directory, container, file);
                    Assert.True(File.Exists(path), $"{path} missing; written: {string.Join(", ", written.Order())}");
                    Assert.Contains(path, written);
                }

                Has("cluster", "spec.yaml");
                Assert.Contains(name, File.ReadAllText(Path.Combine(directory, "cluster", "spec.yaml")));
                var containers = new[] { LabNames.Dns64(name), LabNames.Nat64(name), $"{name}-node-1", $"{name}-node-2" };
                foreach (var container in containers) Has(container, "container.log");
                Assert.Equal(containers.Order(), export.Containers.Order());
                Has(LabNames.Dns64(name), "named.conf");
                Assert.Contains("dns64", File.ReadAllText(Path.Combine(directory, LabNames.Dns64(name), "named.conf")));
                Has(LabNames.Nat64(name), "tayga.conf");
                Assert.Contains("dynamic-pool", File.ReadAllText(Path.Combine(directory, LabNames.Nat64(name), "tayga.conf")));
                foreach (var node in containers.Skip(2))
                {
                    Has(node, "ip-route.txt");
                    Assert.Contains(GetCluster(name).Nat64Prefix, File.ReadAllText(Path.Combine(directory, node, "ip-route.txt")));
                }
                return Task.CompletedTask;
            });
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        Assert.False(Directory.Exists(directory));
    }

    // ------------------------------------------------------------------------------------------------ 8. failing command

    [Fact]
    public async Task AFailingCommandReturnsItsResultAndANonTerminatingExecFailedError()
    {
        const string name = "it-ops-exec";
        await WithClusterAsync(name, 1, "", _ =>
        {
            var r = _f.Ps.Run($"Invoke-DindCommand {name} {name}-node-1 false");
            Assert.Null(r.Terminating);
            var result = r.Single<DindCommandResult>();
            Assert.Equal(1, result.ExitCode);
            Assert.Equal($"{name}-node-1", result.NodeName);
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("ExecFailed,", error.FullyQualifiedErrorId);

            // $? is false after it, and the pipeline goes on.
            var status = _f.Ps.Run($"Invoke-DindCommand {name} {name}-node-1 false -ErrorAction SilentlyContinue; $?");
            Assert.False((bool)status.Output.Last().BaseObject);

            var ok = _f.Ps.Run($"Invoke-DindCommand {name} {name}-node-1 true");
            ok.AssertSuccess();
            Assert.Equal(0, ok.Single<DindCommandResult>().ExitCode);

            // After PowerShell's end-of-parameters token, -v and -c are the program's, not -Verbose's; "--" itself is not passed.
            var echo = _f.Ps.Run($"Invoke-DindCommand {name} {name}-node-1 -- echo -v -c --");
            echo.AssertSuccess();
            Assert.Equal("-v -c --\n", echo.Single<DindCommandResult>().Output);
            return Task.CompletedTask;
        });
    }
}
