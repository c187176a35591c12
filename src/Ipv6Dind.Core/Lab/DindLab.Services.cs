using System.Globalization;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Core.Lab;

/// <summary>DNS64 and NAT64 after bring-up: their settings (Get-, Set-Dns64), moving the NAT64 prefix, tayga's mappings.</summary>
public sealed partial class DindLab
{
    // ---------------------------------------------------------------- DNS64 / NAT64

    public async Task<Dns64Settings> GetDns64Async(string cluster)
    {
        var (info, plan) = await RequireAsync(cluster).ConfigureAwait(false);
        var dns64 = (await ContainersAsync(cluster).ConfigureAwait(false)).FirstOrDefault(c => Role(c) == LabLabels.RoleDns64);
        return new Dns64Settings
        {
            ClusterName = cluster,
            IPv6Address = plan.Dns64Address,
            Nat64Prefix = plan.Nat64Prefix,
            AllowAaaa = info.AllowAaaa,
            Upstream = plan.Dns64Upstream.ToArray(),
            Running = dns64?.Running ?? false,
        };
    }

    /// <summary>
    /// Changes DNS64 settings: AAAA mode on/off (and with it exactly the host rules of AAAA mode), the upstream
    /// resolvers. The DNS64 container is recreated with the new named.conf and the new spec of record; if that
    /// fails, the old one is recreated.
    /// </summary>
    public async Task<Dns64Settings> SetDns64Async(string cluster, bool? allowAaaa, IReadOnlyList<string>? upstream)
    {
        LabInput.ClusterName(cluster);
        if (upstream is not null) LabInput.Upstreams(upstream);
        using var held = await LockAsync(cluster, "Set-Dns64").ConfigureAwait(false);
        var (info, _) = await RequireAsync(cluster).ConfigureAwait(false);
        var spec = info.Spec.Clone();
        if (allowAaaa is not null) spec.AllowAaaa = allowAaaa.Value;
        if (upstream is not null)
        {
            spec.Dns64Upstream = upstream.ToArray();
            // Judged against this cluster's own ranges (an upstream inside them would be the lab asking itself).
            var problem = SpecValidator.Validate(spec).FirstOrDefault(p => p.ParameterName == "Dns64Upstream");
            if (problem is not null)
                throw problem; // it names -Dns64Upstream, the parameter of Set-Dns64 too
        }
        var plan = AddressPlanner.PlanValidated(spec, PlanEnvironment.Empty);
        if (upstream is not null && Nat64Advice.WellKnownPrefixWarning(plan.Nat64Prefix, plan.Dns64Upstream, spec.Subnet) is { } nat64Warning)
            Log.Warning(nat64Warning);

        // Turning AAAA mode on: the host rules first, so that a refusal (not root) changes nothing.
        var addedRules = spec.AllowAaaa && !info.AllowAaaa;
        var comment = await HostRuleCommentAsync(cluster).ConfigureAwait(false) ?? throw LabErrors.ClusterNotFound(cluster);
        if (addedRules) RequireLocalDocker("AAAA mode's host ip6tables rules", true, "AllowAaaa");
        var images = await ResolveImagesAsync(spec).ConfigureAwait(false);
        var bind9 = LabContainers.Bind9(plan).Content;   // rendered before anything is removed
        var containers = await ContainersAsync(cluster).ConfigureAwait(false);
        var runner = new StepRunner("Set-Dns64", _ctx, AfterStep);
        var journal = runner.Journal;
        var steps = new List<LabStep>();
        if (addedRules)
            steps.Add(new(LabSteps.HostRules, "adding the host's ip6tables rules for direct IPv6 egress (AAAA mode)", 20, async _ =>
            {
                // Recorded first: a failure (or a lost answer) after some of the rules leaves none of them.
                journal.Record("host rules of AAAA mode", t => _firewall.RemoveByCommentAsync(comment, t));
                await _firewall.EnsureAsync(HostFirewall.AaaaModeRules(comment, plan.ManagementPrefix), Ct).ConfigureAwait(false);
            }));
        steps.Add(new(LabSteps.Dns64, "replacing DNS64 (bind9) with the new settings", 80, async _ =>
        {
            // Recorded before the old one is removed: whatever happens from here, the previous DNS64 comes back.
            journal.Record("the new DNS64", async t =>
            {
                Log.Warning($"Restoring the previous DNS64 of '{cluster}'.");
                var oldPlan = AddressPlanner.PlanValidated(info.Spec, PlanEnvironment.Empty);
                await new DindLab(_docker, _ctx with { Cancellation = t }, _firewall).RecreateSupportAsync(info.Spec, oldPlan, replaceNat64: false).ConfigureAwait(false);
            });
            await ReplaceDns64Async(spec, plan, images.Dns64, bind9, containers).ConfigureAwait(false);
        }));
        Dns64Settings result;
        try
        {
            await runner.RunAsync(steps).ConfigureAwait(false);
            // Read back inside the undoable part: a failure to read the answer restores the old settings rather than
            // report an error with the new ones in place.
            result = await GetDns64Async(cluster).ConfigureAwait(false);
            // A Ctrl-C that came with the last step still counts: the old settings or the new ones, never "stopped"
            // with the new ones in place.
            Ct.ThrowIfCancellationRequested();
            journal.Commit();
            runner.Complete(LabSteps.Dns64);
        }
        catch (Exception ex)
        {
            Log.Warning($"Set-Dns64 '{cluster}' failed or was stopped during step '{runner.FailedStep}' ({ex.Message}); restoring the previous settings.");
            await runner.RollBackAsync(SupportRestoreBudget).ConfigureAwait(false);
            throw;
        }
        if (!spec.AllowAaaa && info.AllowAaaa && DockerIsLocal)
            Log.Verbose($"Removed {await _firewall.RemoveByCommentAsync(comment, Ct).ConfigureAwait(false)} host rule(s) of AAAA mode.");
        return result;
    }

    /// <summary>
    /// Moves the cluster to another NAT64 prefix: validated first (RFC 6052, no overlap), then tayga and bind9 are
    /// re-rendered (their containers recreated) and every node is re-routed, its old NAT64 route deleted.
    /// </summary>
    public async Task<DindCluster> SetNat64PrefixAsync(string cluster, string prefix)
    {
        // Under the lock from the start: what is read below must still hold when the containers are replaced.
        using var held = await LockAsync(cluster, "Set-Nat64Prefix").ConfigureAwait(false);
        var (info, _) = await RequireAsync(cluster).ConfigureAwait(false);
        var spec = info.Spec.Clone();
        spec.Nat64Prefix = prefix;
        var environment = await GatherEnvironmentAsync(excludeCluster: cluster).ConfigureAwait(false);
        // Only the new prefix is judged: the cluster's other ranges are in use by the cluster itself (the host's
        // /128 routes of its own bridge, inside the management prefix, would otherwise count as overlaps).
        var problem = SpecValidator.Validate(spec, environment).FirstOrDefault(p => p.ParameterName == "Nat64Prefix");
        if (problem is not null)
            throw problem; // it names -Nat64Prefix, the parameter of Set-Nat64Prefix too
        var plan = AddressPlanner.PlanValidated(spec, PlanEnvironment.Empty);
        var oldPlan = AddressPlanner.PlanValidated(info.Spec, PlanEnvironment.Empty);
        if (Nat64Advice.WellKnownPrefixWarning(plan.Nat64Prefix, plan.Dns64Upstream, spec.Subnet) is { } nat64Warning)
            Log.Warning(nat64Warning);
        var images = await ResolveImagesAsync(spec).ConfigureAwait(false);
        // Rendered before anything is removed: a config that cannot be rendered leaves the running ones alone.
        var tayga = LabContainers.Tayga(plan).Content;
        var bind9 = LabContainers.Bind9(plan).Content;
        var containers = await ContainersAsync(cluster).ConfigureAwait(false);
        var runner = new StepRunner("Set-Nat64Prefix", _ctx, AfterStep);
        // One undo for the whole move, recorded before anything changes: the previous NAT64/DNS64 come back and every
        // node is routed to the old prefix again (old state or nothing, also after Ctrl-C: the journal's budget, not
        // the cancelled token).
        runner.Journal.Record($"the move to {plan.Nat64Prefix}", async t =>
        {
            Log.Warning($"Restoring {oldPlan.Nat64Prefix} on '{cluster}'.");
            var restore = new DindLab(_docker, _ctx with { Cancellation = t }, _firewall);
            await restore.RecreateSupportAsync(info.Spec, oldPlan, replaceNat64: true).ConfigureAwait(false);
            await restore.SyncRoutesUnlockedAsync(cluster, null).ConfigureAwait(false);
        });
        var steps = new List<LabStep>
        {
            new(LabSteps.Nat64, $"replacing NAT64 (tayga) with one for {plan.Nat64Prefix}", 30, _ =>
                ReplaceNat64Async(spec, plan, images.Nat64, tayga, containers)),
            new(LabSteps.Dns64, $"replacing DNS64 (bind9) with one that synthesises into {plan.Nat64Prefix}", 30, _ =>
                ReplaceDns64Async(spec, plan, images.Dns64, bind9, containers)),
            new(LabSteps.Routes, "routing every node to the new prefix", 40, _ => SyncRoutesUnlockedAsync(cluster, null)),
        };
        try
        {
            await runner.RunAsync(steps).ConfigureAwait(false);
            // The answer is read inside the undoable part: a failure to read it back restores the old prefix rather
            // than report an error with the new one in place.
            var moved = (await GetClustersAsync(cluster).ConfigureAwait(false)).Single();
            // A Ctrl-C that came with the last step still counts: the caller gets the old prefix or the new one, never
            // "stopped" with the new one in place.
            Ct.ThrowIfCancellationRequested();
            runner.Journal.Commit();
            runner.Complete(LabSteps.Routes);
            return moved;
        }
        catch (Exception ex)
        {
            Log.Warning($"Moving the NAT64 prefix of '{cluster}' failed or was stopped during step '{runner.FailedStep}' ({ex.Message}); restoring {oldPlan.Nat64Prefix}.");
            var left = await runner.RollBackAsync(SupportRestoreBudget).ConfigureAwait(false);
            if (left.Count > 0)
                Log.Warning($"Restoring {oldPlan.Nat64Prefix} on '{cluster}' did not finish; Set-Nat64Prefix {cluster} -Nat64Prefix {oldPlan.Nat64Prefix} tries again.");
            throw;
        }
    }

    /// <summary>How long restoring a lab's previous DNS64/NAT64 and routes may take (bind9 and tayga each get a minute to answer).</summary>
    private static readonly TimeSpan SupportRestoreBudget = TimeSpan.FromMinutes(3);

    private async Task RecreateSupportAsync(DindClusterSpec spec, AddressPlan plan, bool replaceNat64)
    {
        var images = await ResolveImagesAsync(spec).ConfigureAwait(false);
        // Rendered before anything is removed: a config that cannot be rendered leaves the running ones alone.
        var bind9 = LabContainers.Bind9(plan).Content;
        var tayga = replaceNat64 ? LabContainers.Tayga(plan).Content : "";
        var containers = await ContainersAsync(spec.ClusterName).ConfigureAwait(false);
        if (replaceNat64)
        {
            await ReplaceNat64Async(spec, plan, images.Nat64, tayga, containers).ConfigureAwait(false);
            await StepDone(LabSteps.Nat64).ConfigureAwait(false);
        }
        await ReplaceDns64Async(spec, plan, images.Dns64, bind9, containers).ConfigureAwait(false);
        await StepDone(LabSteps.Dns64).ConfigureAwait(false);
    }

    /// <summary>The lab's NAT64 container removed and made again from <paramref name="spec"/> (not undone here: the caller restores the old one).</summary>
    private async Task ReplaceNat64Async(DindClusterSpec spec, AddressPlan plan, string image, string tayga, IReadOnlyList<ContainerInfo> containers)
    {
        foreach (var old in containers.Where(c => Role(c) == LabLabels.RoleNat64))
            await _docker.RemoveContainerAsync(old.Id, Ct).ConfigureAwait(false);
        var nat64 = await CreateAndStartAsync(LabContainers.Nat64(spec, plan, image), new Journal(Log), Ct, (LabContainers.Nat64Config, tayga)).ConfigureAwait(false);
        await ConfigureNat64Async(nat64, plan, TimeSpan.FromSeconds(60), Ct).ConfigureAwait(false);
    }

    /// <summary>The lab's DNS64 container (which carries the spec of record) removed and made again from <paramref name="spec"/>.</summary>
    private async Task ReplaceDns64Async(DindClusterSpec spec, AddressPlan plan, string image, string bind9, IReadOnlyList<ContainerInfo> containers)
    {
        foreach (var old in containers.Where(c => Role(c) == LabLabels.RoleDns64))
            await _docker.RemoveContainerAsync(old.Id, Ct).ConfigureAwait(false);
        var dns64 = await CreateAndStartAsync(LabContainers.Dns64(spec, plan, image, SpecYaml.Serialize(spec)), new Journal(Log), Ct, (LabContainers.Dns64Config, bind9)).ConfigureAwait(false);
        await WaitForDns64Async(dns64, TimeSpan.FromSeconds(60), Ct).ConfigureAwait(false);
    }

    /// <summary>tayga's dynamic map: which IPv6 source is translated to which pool address.</summary>
    public async Task<IReadOnlyList<Nat64Mapping>> GetNat64MappingsAsync(string cluster)
    {
        await RequireAsync(cluster).ConfigureAwait(false);
        var nat64 = (await ContainersAsync(cluster).ConfigureAwait(false)).FirstOrDefault(c => Role(c) == LabLabels.RoleNat64)
            ?? throw new DindException(ErrorIds.DockerObjectNotFound, DindErrorCategory.ObjectNotFound, $"Cluster '{cluster}' has no NAT64 container.", cluster);
        var map = await _docker.GetFileAsync(nat64.Id, "/var/spool/tayga/dynamic.map", Ct).ConfigureAwait(false) ?? "";
        return ParseDynamicMap(cluster, map);
    }

    /// <summary>tayga writes "ipv4 ipv6 last-use-unix-time" lines, tab-separated (0.9.2); any whitespace is accepted.</summary>
    public static IReadOnlyList<Nat64Mapping> ParseDynamicMap(string cluster, string map) =>
        map.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith('#'))
            .Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 2 && System.Net.IPAddress.TryParse(f[0], out _) && System.Net.IPAddress.TryParse(f[1], out _))
            .Select(f => new Nat64Mapping
            {
                ClusterName = cluster,
                IPv4Address = f[0],
                IPv6Address = System.Net.IPAddress.Parse(f[1]).ToString(),
                LastUse = f.Length >= 3 && long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? DateTimeOffset.FromUnixTimeSeconds(t) : null,
            })
            .ToList();
}
