using System.Globalization;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// Least privilege, read back from the real daemon: a 2-node network lab's containers, and Test-DindCluster's probe
/// containers started the way the product starts them (LabContainers.ToolsProbe, LabContainers.PodProbeHelper),
/// carry exactly the intended security settings (capabilities, devices, security options, masked and read-only
/// paths, PID and network namespaces); the capability bounding set inside each (/proc/1/status CapBnd) is exactly
/// what those settings give; and from inside each, the classic container escapes through /proc and mount are
/// refused (core_pattern, sysrq-trigger, mount) - with the PodToPod helper's one documented exception.
/// Also: Test-DindCluster still passes PodToPod and every other check with the unprivileged nodes, and leaves no
/// probe container; an argument list given to Invoke-DindCommand arrives in the node as the same arguments.
/// </summary>
[Collection("lab")]
public sealed class LeastPrivilegeTests
{
    private readonly LabFixture _f;
    public LeastPrivilegeTests(LabFixture fixture) => _f = fixture;

    // Capability bits (linux/capability.h) and Docker's default set (moby oci/caps/defaults.go):
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
    private static readonly Dictionary<string, int> Bits = new()
    {
        ["CHOWN"] = 0, ["DAC_OVERRIDE"] = 1, ["FOWNER"] = 3, ["FSETID"] = 4, ["KILL"] = 5, ["SETGID"] = 6, ["SETUID"] = 7,
        ["SETPCAP"] = 8, ["NET_BIND_SERVICE"] = 10, ["NET_ADMIN"] = 12, ["NET_RAW"] = 13, ["SYS_CHROOT"] = 18,
        ["SYS_PTRACE"] = 19, ["SYS_ADMIN"] = 21, ["MKNOD"] = 27, ["AUDIT_WRITE"] = 29, ["SETFCAP"] = 31,
    };

    private static readonly string[] DockerDefault =
        { "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP" };

    // Docker 20.10's defaults (moby oci/defaults.go), which the daemon records in HostConfig at creation.
    private static readonly string[] DefaultMasked =
        { "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware" };
    private static readonly string[] DefaultReadonly = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };

    private static ulong Mask(IEnumerable<string> caps) => caps.Aggregate(0UL, (m, c) => m | (1UL << Bits[c]));

    private const string Tools = "probe:" + LabLabels.ProbeTools;
    private const string Pod = "probe:" + LabLabels.ProbePod;

    /// <summary>
    /// What each role needs, from what it does (not from LabContainers). Nothing is privileged, no seccomp or AppArmor
    /// override, Docker's masked and read-only paths everywhere. OwnNetwork: on the lab network (else the node's
    /// network namespace); no role joins another's PID namespace.
    /// </summary>
    private static readonly (string Role, string[] CapAdd, string[] CapDrop, string[] Devices, bool OwnNetwork, string Why)[] Intended =
    {
        (LabLabels.RoleDns64, Array.Empty<string>(), Array.Empty<string>(), Array.Empty<string>(), true,
            "named binds port 53 as root, then runs as bind: Docker's default set"),
        (LabLabels.RoleNat64, new[] { "NET_ADMIN" }, Array.Empty<string>(), new[] { "/dev/net/tun" }, true,
            "tayga opens a tun device; its link, routes and the MASQUERADE rule need NET_ADMIN"),
        (LabLabels.RoleNode, new[] { "NET_ADMIN", "NET_RAW" }, Array.Empty<string>(), Array.Empty<string>(), true,
            "flushes its IPv4 address, replaces routes, adds an ip6tables rule (NET_ADMIN); ping (NET_RAW)"),
        (Tools, new[] { "NET_RAW" }, new[] { "ALL" }, Array.Empty<string>(), false,
            "dig, curl, ip show and ping in the node's network namespace: ping's raw socket only"),
        (Pod, new[] { "NET_ADMIN", "NET_RAW", "SYS_ADMIN" }, new[] { "ALL" }, Array.Empty<string>(), false,
            "unshare of a network namespace and setns into it (SYS_ADMIN; the default seccomp allows both only with it), " +
            "the CNI plugin's links, addresses and routes (NET_ADMIN), ping from the stand-in pod (NET_RAW)"),
    };

    /// <summary>
    /// What may be done from inside each role: core_pattern and sysrq-trigger are opened for writing without writing a
    /// byte (dd of=… from /dev/null, conv=notrunc: nothing on the host changes even if it were allowed), mount is a
    /// tmpfs on /mnt (unmounted again if it worked). The PodToPod helper can mount: SYS_ADMIN, needed for unshare and
    /// setns, also allows mount under Docker's default seccomp and without AppArmor (this kernel loads none), so it could
    /// also remount its read-only /proc/sys (not tried: a write to core_pattern would change the host). Acceptable
    /// because it lives for one check, runs the module's image and commands only, and has its own PID namespace: the
    /// node can neither see nor ptrace it, and shares no files with it.
    /// </summary>
    private static readonly Dictionary<string, (bool CorePattern, bool SysrqTrigger, bool Mount)> MayDo = new()
    {
        [LabLabels.RoleDns64] = (false, false, false),
        [LabLabels.RoleNat64] = (false, false, false),
        [LabLabels.RoleNode] = (false, false, false),
        [Tools] = (false, false, false),
        [Pod] = (false, false, true),
    };

    private static string RoleOf(ContainerInfo c) =>
        c.Labels[LabLabels.Role] == LabLabels.RoleProbe ? "probe:" + c.Labels[LabLabels.Probe] : c.Labels[LabLabels.Role];

    /// <summary>The probe containers of Test-DindCluster for a node, started as the product starts them (no racing a running check).</summary>
    private async Task<IReadOnlyList<string>> StartProbesAsync(string cluster, DindNode node)
    {
        var ids = new List<string>();
        foreach (var spec in new[] { LabContainers.ToolsProbe(cluster, node), LabContainers.PodProbeHelper(cluster, node) })
        {
            var id = await _f.Docker.CreateContainerAsync(spec, default);
            ids.Add(id);
            await _f.Docker.StartContainerAsync(id, default);
        }
        return ids;
    }

    [Fact]
    public async Task NetworkLabContainersHaveOnlyTheirIntendedPrivilegesAndPublishNothing()
    {
        const string name = "it-pv-priv";
        try
        {
            _f.Ps.Run($"New-DindCluster {name} -Nodes 2 -NetworkOnly -Dns64Upstream {_f.Upstream}").AssertSuccess();
            var node1 = (await _f.Lab().GetNodesAsync(name)).Single(n => n.Index == 1);
            await StartProbesAsync(name, node1);
            var containers = await _f.Docker.ListContainersAsync(LabLabels.ClusterFilter(name), default);
            Assert.Equal(6, containers.Count);

            var problems = new List<string>();
            var seen = new HashSet<string>();
            foreach (var listed in containers)
            {
                var c = await _f.Docker.InspectContainerAsync(listed.Id, default) ?? throw new Xunit.Sdk.XunitException($"{listed.Name} vanished");
                var role = RoleOf(c);
                seen.Add(role);
                var intended = Intended.Single(i => i.Role == role);
                void Expect(bool ok, string what) { if (!ok) problems.Add($"{c.Name} ({role}): {what}"); }
                static string L(IEnumerable<string> xs) => "[" + string.Join(",", xs) + "]";

                Expect(!c.Privileged, "privileged");
                Expect(c.CapAdd.Order().SequenceEqual(intended.CapAdd.Order()), $"CapAdd {L(c.CapAdd)}, intended {L(intended.CapAdd)}");
                Expect(c.CapDrop.Order().SequenceEqual(intended.CapDrop.Order()), $"CapDrop {L(c.CapDrop)}, intended {L(intended.CapDrop)}");
                Expect(c.Devices.SequenceEqual(intended.Devices), $"devices {L(c.Devices)}, intended {L(intended.Devices)}");
                Expect(c.SecurityOptions.Count == 0, $"security options {L(c.SecurityOptions)}: no seccomp or AppArmor override intended");
                Expect(c.MaskedPaths.Order().SequenceEqual(DefaultMasked.Order()), $"masked paths {L(c.MaskedPaths)}, intended Docker's default {L(DefaultMasked)}");
                Expect(c.ReadonlyPaths.Order().SequenceEqual(DefaultReadonly.Order()), $"read-only paths {L(c.ReadonlyPaths)}, intended Docker's default {L(DefaultReadonly)}");
                Expect(c.PidMode == "", $"PidMode '{c.PidMode}': every role has its own PID namespace");
                Expect(intended.OwnNetwork ? c.NetworkMode == LabNames.Network(name) : c.NetworkMode == "container:" + node1.ContainerId,
                    $"NetworkMode '{c.NetworkMode}', intended {(intended.OwnNetwork ? LabNames.Network(name) : "container:<node>")}");
                Expect(c.Ports.Count == 0 && c.PortBindings.Count == 0 && !c.PublishAllPorts,
                    $"publishes {string.Join(", ", c.PortBindings.Concat(c.Ports).Select(p => $"{p.Key} on [{p.Value.HostIp}]:{p.Value.HostPort}"))}{(c.PublishAllPorts ? " (-P)" : "")}");

                // What the kernel enforces: the bounding set of the container's PID 1 (no process in it can gain more).
                var status = await _f.Docker.ExecAsync(c.Id, new[] { "cat", "/proc/1/status" }, null, null, default);
                Assert.True(status.Succeeded, status.StandardError);
                var line = status.StandardOutput.Split('\n').Single(l => l.StartsWith("CapBnd:", StringComparison.Ordinal));
                var bounding = ulong.Parse(line["CapBnd:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var basis = intended.CapDrop.Contains("ALL") ? Array.Empty<string>() : DockerDefault;
                var expected = Mask(basis.Concat(intended.CapAdd));
                Expect(bounding == expected, $"CapBnd {bounding:x16}, expected {expected:x16} ({(basis.Length == 0 ? "none" : "Docker's default set")} plus {string.Join(",", intended.CapAdd.DefaultIfEmpty("nothing"))})");
            }
            Assert.Equal(Intended.Select(i => i.Role).Order(), seen.Order());
            Assert.True(problems.Count == 0, string.Join("\n", problems));

            // An argument list stays an argument list: printf gets each string as one argument, unexpanded.
            string[] argv = { "printf", "<%s>\\n", "a; rm -rf /", "$(id)", "`id`", "x\ny", "--version", "'\"" };
            var r = _f.Ps.Run($"Invoke-DindCommand {name} {name}-node-1 -Command $argv", new Dictionary<string, object?> { ["argv"] = argv });
            r.AssertSuccess();
            Assert.Equal(string.Concat(argv.Skip(2).Select(a => $"<{a}>\n")), r.Single<DindCommandResult>().Output);
        }
        finally
        {
            _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false").AssertSuccess();
            Assert.Empty(await _f.LeftoversAsync(name));
        }
    }

    [Fact]
    public async Task FromInsideNoRoleCanWriteCorePatternOrSysrqAndOnlyThePodProbeHelperCanMount()
    {
        const string name = "it-pv-escape";
        try
        {
            _f.Ps.Run($"New-DindCluster {name} -Nodes 1 -NetworkOnly -Dns64Upstream {_f.Upstream}").AssertSuccess();
            var node1 = (await _f.Lab().GetNodesAsync(name)).Single();
            await StartProbesAsync(name, node1);
            var containers = await _f.Docker.ListContainersAsync(LabLabels.ClusterFilter(name), default);

            var observed = new Dictionary<string, (bool CorePattern, bool SysrqTrigger, bool Mount)>();
            var details = new List<string>();
            foreach (var c in containers)
            {
                async Task<bool> Can(params string[] argv)
                {
                    var r = await _f.Docker.ExecAsync(c.Id, argv, null, null, default);
                    details.Add($"{c.Name}: {string.Join(' ', argv)} → {r.ExitCode} {r.StandardError.Trim()}");
                    return r.Succeeded;
                }
                Task<bool> CanOpenForWriting(string path) => Can("dd", "if=/dev/null", $"of={path}", "conv=notrunc", "status=none");

                var core = await CanOpenForWriting("/proc/sys/kernel/core_pattern");
                var sysrq = await CanOpenForWriting("/proc/sysrq-trigger");
                var mount = await Can("mount", "-t", "tmpfs", "none", "/mnt");
                if (mount) await Can("umount", "/mnt");
                observed[RoleOf(c)] = (core, sysrq, mount);
            }
            Assert.True(MayDo.OrderBy(kv => kv.Key).SequenceEqual(observed.OrderBy(kv => kv.Key)),
                "may do: " + string.Join("; ", MayDo.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}")) +
                "\nobserved: " + string.Join("; ", observed.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}")) +
                "\n" + string.Join("\n", details));
        }
        finally
        {
            _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false").AssertSuccess();
            Assert.Empty(await _f.LeftoversAsync(name));
        }
    }

    [Fact]
    public async Task UnprivilegedNodesPassEveryCheckPodToPodIncludedAndNoProbeOutlivesTheChecks()
    {
        const string name = "it-pv-e2e";
        try
        {
            _f.Ps.Run($"New-DindCluster {name} -Nodes 2 -NetworkOnly -Dns64Upstream {_f.Upstream}").AssertSuccess();
            var r = _f.Ps.Run($"Test-DindCluster {name} -ProbeName www.example.test -ProbeUrl http://www.example.test/ -AaaaProbeName dual.example.test");
            r.AssertSuccess();
            var checks = r.All<CheckResult>().ToList();
            var failed = checks.Where(c => c.Status == CheckStatus.Fail).Select(c => $"{c.Target} {c.Check} {c.Status}: {c.Detail}").ToList();
            Assert.True(failed.Count == 0, string.Join("\n", failed));
            Assert.Equal(2, checks.Count(c => c.Check == "PodToPod" && c.Status == CheckStatus.Pass));
            Assert.Equal(2, checks.Count(c => c.Check == "NodeToNode" && c.Status == CheckStatus.Pass));
            foreach (var check in new[] { "Dns64Synthesis", "Nat64Reachability", "ForcedSynthesis", "Routes", "Ipv6Only" })
                Assert.Contains(checks, c => c.Check == check);

            var left = await _f.Docker.ListContainersAsync(LabLabels.ClusterFilter(name), default);
            Assert.DoesNotContain(left, c => c.Labels[LabLabels.Role] == LabLabels.RoleProbe);
            // The stand-in pods are gone from the nodes too: no veth or ptp link left beside eth0 (the bridge may stay).
            foreach (var node in left.Where(c => c.Labels[LabLabels.Role] == LabLabels.RoleNode))
            {
                var links = await _f.Docker.ExecAsync(node.Id, new[] { "ip", "-o", "link", "show", "type", "veth" }, null, null, default);
                Assert.True(links.Succeeded, links.StandardError);
                var pods = links.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.Contains(" eth0@", StringComparison.Ordinal)).ToList();
                Assert.True(pods.Count == 0, $"{node.Name}: {string.Join("\n", pods)}");
            }
        }
        finally
        {
            _f.Ps.Run($"Remove-DindCluster {name} -Confirm:$false").AssertSuccess();
            Assert.Empty(await _f.LeftoversAsync(name));
        }
    }
}
