using System.Globalization;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.IntegrationTests.Lab;

/// <summary>
/// Least privilege, read back from the real daemon: a 2-node network lab's containers carry exactly the intended
/// capabilities, devices and security options, nothing is privileged and nothing is published; the capability
/// bounding set inside each container (/proc/1/status CapBnd) is Docker's default set plus only those additions.
/// Also: an argument list given to Invoke-DindCommand arrives in the node as the same arguments, shell
/// metacharacters and all (no shell in between).
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
        ["SYS_ADMIN"] = 21, ["MKNOD"] = 27, ["AUDIT_WRITE"] = 29, ["SETFCAP"] = 31,
    };

    private static readonly string[] DockerDefault =
        { "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP" };

    private static ulong Mask(IEnumerable<string> caps) => caps.Aggregate(0UL, (m, c) => m | (1UL << Bits[c]));

    /// <summary>What each role may have beyond Docker's defaults (LabContainers' contract).</summary>
    private static readonly (string Role, string[] CapAdd, string[] Devices, string[] SecurityOptions)[] Intended =
    {
        (LabLabels.RoleDns64, Array.Empty<string>(), Array.Empty<string>(), Array.Empty<string>()),
        (LabLabels.RoleNat64, new[] { "NET_ADMIN" }, new[] { "/dev/net/tun" }, Array.Empty<string>()),
        // apparmor=unconfined: ip netns add mounts (pod probes); docker-default forbids it where AppArmor is loaded.
        (LabLabels.RoleNode, new[] { "NET_ADMIN", "NET_RAW", "SYS_ADMIN" }, Array.Empty<string>(), new[] { "apparmor=unconfined" }),
    };

    [Fact]
    public async Task NetworkLabContainersHaveOnlyTheirIntendedPrivilegesAndPublishNothing()
    {
        const string name = "it-priv";
        try
        {
            _f.Ps.Run($"New-DindCluster {name} -Nodes 2 -NetworkOnly -Dns64Upstream {_f.Upstream}").AssertSuccess();
            var containers = await _f.Docker.ListContainersAsync(LabLabels.ClusterFilter(name), default);
            Assert.Equal(4, containers.Count);

            var problems = new List<string>();
            foreach (var listed in containers)
            {
                var c = await _f.Docker.InspectContainerAsync(listed.Id, default) ?? throw new Xunit.Sdk.XunitException($"{listed.Name} vanished");
                var role = c.Labels[LabLabels.Role];
                var intended = Intended.Single(i => i.Role == role);
                void Expect(bool ok, string what) { if (!ok) problems.Add($"{c.Name} ({role}): {what}"); }

                Expect(!c.Privileged, "privileged");
                Expect(c.CapAdd.Order().SequenceEqual(intended.CapAdd.Order()), $"CapAdd [{string.Join(",", c.CapAdd)}], intended [{string.Join(",", intended.CapAdd)}]");
                Expect(c.CapDrop.Count == 0, $"CapDrop [{string.Join(",", c.CapDrop)}]");
                Expect(c.Devices.SequenceEqual(intended.Devices), $"devices [{string.Join(",", c.Devices)}], intended [{string.Join(",", intended.Devices)}]");
                Expect(c.SecurityOptions.Order().SequenceEqual(intended.SecurityOptions.Order()),
                    $"security options [{string.Join(",", c.SecurityOptions)}], intended [{string.Join(",", intended.SecurityOptions)}]");
                Expect(c.Ports.Count == 0 && c.PortBindings.Count == 0 && !c.PublishAllPorts,
                    $"publishes {string.Join(", ", c.PortBindings.Concat(c.Ports).Select(p => $"{p.Key} on [{p.Value.HostIp}]:{p.Value.HostPort}"))}{(c.PublishAllPorts ? " (-P)" : "")}");

                // What the kernel enforces: the bounding set of the container's PID 1 (no process in it can gain more).
                var status = await _f.Docker.ExecAsync(c.Id, new[] { "cat", "/proc/1/status" }, null, null, default);
                Assert.True(status.Succeeded, status.StandardError);
                var line = status.StandardOutput.Split('\n').Single(l => l.StartsWith("CapBnd:", StringComparison.Ordinal));
                var bounding = ulong.Parse(line["CapBnd:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var expected = Mask(DockerDefault.Concat(intended.CapAdd));
                Expect(bounding == expected, $"CapBnd {bounding:x16}, expected {expected:x16} (Docker's default set plus {string.Join(",", intended.CapAdd.DefaultIfEmpty("nothing"))})");
            }
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
}
