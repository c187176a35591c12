using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Files;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Spec;

namespace Ipv6Dind.Core.Lab;

/// <summary>Export-DindLog: every container's log, rendered configs, routes and addresses, into a folder of root's.</summary>
public sealed partial class DindLab
{
    // ---------------------------------------------------------------- logs

    /// <summary>
    /// Like kind's export logs: per container its log, inspect data, rendered configs and (for nodes) routes and
    /// addresses, under <paramref name="directory"/>/&lt;container&gt;/. Returns the files written.
    /// </summary>
    public async Task<IReadOnlyList<string>> ExportLogsAsync(string cluster, string directory)
    {
        LabInput.ClusterName(cluster);
        LabInput.Path(directory);
        var (_, plan) = await RequireAsync(cluster).ConfigureAwait(false);
        var written = new List<string>();
        // Relative to the open folder, never through a link (SecureDirectory); owner-only, as logs and configs may hold secrets.
        const UnixFileMode folderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        const UnixFileMode fileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var root = OpenExportFolder(directory, folderMode);
        var folders = new Dictionary<string, SecureDirectory>(StringComparer.Ordinal);
        try
        {
        Task Write(string container, string file, string content)
        {
            Ct.ThrowIfCancellationRequested();
            if (!folders.TryGetValue(container, out var dir)) folders[container] = dir = root.Subdirectory(container, folderMode);
            written.Add(dir.WriteFile(file, content, fileMode));
            return Task.CompletedTask;
        }
        await Write("cluster", "spec.yaml", SpecYaml.Serialize((await GetClustersAsync(cluster).ConfigureAwait(false)).Single().Spec)).ConfigureAwait(false);
        await Write("cluster", "address-plan.txt", string.Join('\n', AddressPlanner.Rows(plan).Select(r => $"{r.Role,-14} {r.Name,-26} {r.IPAddress,-40} {r.Prefix}")) + "\n").ConfigureAwait(false);
        foreach (var c in await ContainersAsync(cluster).ConfigureAwait(false))
        {
            await Write(c.Name, "container.log", await _docker.GetLogsAsync(c.Id, Ct).ConfigureAwait(false)).ConfigureAwait(false);
            await Write(c.Name, "state.txt", $"id {c.Id}\nimage {c.Image}\nstate {c.State}\ncap-add {string.Join(',', c.CapAdd)}\ncap-drop {string.Join(',', c.CapDrop)}\n" +
                string.Join("", c.Networks.Select(n => $"network {n.Key} ipv6 {n.Value.Ipv6} ipv4 {n.Value.Ipv4}\n"))).ConfigureAwait(false);
            var files = Role(c) switch
            {
                LabLabels.RoleDns64 => new[] { LabContainers.Dns64Config },
                LabLabels.RoleNat64 => new[] { LabContainers.Nat64Config, "/var/spool/tayga/dynamic.map" },
                _ => new[] { "/etc/resolv.conf" },
            };
            foreach (var file in files)
                if (await _docker.GetFileAsync(c.Id, file, Ct).ConfigureAwait(false) is { } text)
                    await Write(c.Name, Path.GetFileName(file), text).ConfigureAwait(false);
            if (c.Running && Role(c) is LabLabels.RoleNode or LabLabels.RoleNat64)
            {
                var routes = await _docker.ExecAsync(c.Id, new[] { "ip", "route", "show", "table", "all" }, null, null, Ct).ConfigureAwait(false);
                var addresses = await _docker.ExecAsync(c.Id, new[] { "ip", "address", "show" }, null, null, Ct).ConfigureAwait(false);
                await Write(c.Name, "ip-route.txt", routes.StandardOutput + routes.StandardError).ConfigureAwait(false);
                await Write(c.Name, "ip-address.txt", addresses.StandardOutput + addresses.StandardError).ConfigureAwait(false);
            }
        }
        var rules = await HostRuleCommentAsync(cluster).ConfigureAwait(false) is { } comment
            ? await _firewall.ListByCommentAsync(comment, Ct).ConfigureAwait(false)
            : Array.Empty<HostRule>();
        await Write("host", "ip6tables-rules.txt", string.Join('\n', rules.Select(r => $"-t {r.Table} -A {r.Chain} {string.Join(' ', r.Specification)}")) + "\n").ConfigureAwait(false);
        return written;
        }
        finally
        {
            foreach (var folder in folders.Values) folder.Dispose();
        }
    }

    private static SecureDirectory OpenExportFolder(string directory, UnixFileMode mode)
    {
        try { return SecureDirectory.Open(directory, mode); }
        catch (IOException e)
        {
            throw new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.WriteError,
                $"Path: cannot open or create the folder '{directory}': {e.Message}", directory, "Path", "Give a folder you may write, e.g. ./logs.", e);
        }
    }
}
