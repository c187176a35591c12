using System.Diagnostics;

namespace Ipv6Dind.Tests;

/// <summary>
/// examples/dhcp: the dhclient enter hook, sourced by sh the way dhclient-script does, starts pwsh (here `dotnet pwsh`) on the
/// example script, which writes the first /80 of the delegated prefix into a daemon.json (a temp file here; no restart).
/// </summary>
public sealed class DhcpHookTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-dhcp-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private (int Code, string Log) SourceHook(string reason, string prefix)
    {
        var config = Path.Combine(_dir, "daemon.json");
        var wrapper = Path.Combine(_dir, "wrapper.ps1");
        File.WriteAllText(wrapper,
            "param([string] $DelegatedPrefix)\n" +
            $"& '{Path.Combine(Repo.Root, "examples", "dhcp", "Set-DockerIpv6PrefixFromLease.ps1")}' -DelegatedPrefix $DelegatedPrefix -ConfigPath '{config}' -NoRestart\n");
        var log = Path.Combine(_dir, "hook.log");
        // From the repository root: `dotnet pwsh` finds its tool manifest there (.config/dotnet-tools.json).
        var psi = new ProcessStartInfo("/bin/sh") { WorkingDirectory = Repo.Root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // What dhclient-script does: set reason and the lease's variables, then source the hook.
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(". \"$0\"; echo sourced");
        psi.ArgumentList.Add(Path.Combine(Repo.Root, "examples", "dhcp", "dhclient-enter-hook"));
        psi.Environment["reason"] = reason;
        psi.Environment["new_ip6_prefix"] = prefix;
        psi.Environment["IPV6DIND"] = "dotnet pwsh -NoProfile";
        PwshProcess.AddModulePath(psi);   // the built module, found by name as an installed one would be
        psi.Environment["IPV6DIND_SCRIPT"] = wrapper;
        psi.Environment["IPV6DIND_LOG"] = log;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Contains("sourced", stdout);   // the hook returned to its caller: no 'exit' in a sourced file
        return (p.ExitCode, File.Exists(log) ? File.ReadAllText(log) : "");
    }

    [Fact]
    public void BoundWritesTheFirst80OfTheDelegatedPrefix()
    {
        var (code, log) = SourceHook("BOUND6", "2001:db8:1234:5600::/56");
        Assert.Equal(0, code);
        Assert.Contains("2001:db8:1234:5600::/80", File.ReadAllText(Path.Combine(_dir, "daemon.json")));
        Assert.Contains("2001:db8:1234:5600::/80", log);
    }

    [Fact]
    public void OtherReasonsDoNothing()
    {
        var (code, log) = SourceHook("PREINIT6", "2001:db8:1234:5600::/56");
        Assert.Equal(0, code);
        Assert.Equal("", log);
        Assert.False(File.Exists(Path.Combine(_dir, "daemon.json")));
    }
}
