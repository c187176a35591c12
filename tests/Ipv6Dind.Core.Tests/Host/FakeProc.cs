using System.Globalization;

namespace Ipv6Dind.Core.Tests.Host;

/// <summary>
/// A fake /proc under a temp folder: processes (exe link, cmdline, stat, ns/net link, fd links to sockets),
/// /proc/net/unix and /proc/self/ns/net, for DaemonLocality and the restarter.
/// </summary>
internal sealed class FakeProc : IDisposable
{
    public const string HostNetns = "net:[4026531833]";
    private readonly List<string> _unix = new() { "Num       RefCount Protocol Flags    Type St Inode Path" };

    public FakeProc()
    {
        Root = Directory.CreateTempSubdirectory("ipv6dind-proc-").FullName;
        Directory.CreateDirectory(Path.Combine(Root, "proc/self/ns"));
        Directory.CreateDirectory(Path.Combine(Root, "proc/net"));
        File.CreateSymbolicLink(Path.Combine(Root, "proc/self/ns/net"), HostNetns);
        File.WriteAllLines(Path.Combine(Root, "proc/net/unix"), _unix);
    }

    public string Root { get; }

    public void Process(int pid, string? exe, string[] argv, string netns = HostNetns, char state = 'S', int parent = 1, params long[] sockets)
    {
        var dir = Path.Combine(Root, $"proc/{pid}");
        Directory.CreateDirectory(Path.Combine(dir, "fd"));
        Directory.CreateDirectory(Path.Combine(dir, "ns"));
        if (exe is not null) File.CreateSymbolicLink(Path.Combine(dir, "exe"), exe);
        File.CreateSymbolicLink(Path.Combine(dir, "ns/net"), netns);
        File.WriteAllText(Path.Combine(dir, "cmdline"), string.Join('\0', argv) + "\0");
        File.WriteAllText(Path.Combine(dir, "stat"), $"{pid} ({Path.GetFileName(argv.FirstOrDefault() ?? "x")}) {state} {parent} {pid} {pid} 0 -1");
        File.CreateSymbolicLink(Path.Combine(dir, "fd/0"), "/dev/null");
        var n = 3;
        foreach (var inode in sockets)
            File.CreateSymbolicLink(Path.Combine(dir, $"fd/{n++}"), $"socket:[{inode.ToString(CultureInfo.InvariantCulture)}]");
    }

    /// <summary>A socket bound at <paramref name="path"/>: listening (flags 00010000, state 01) or an accepted connection.</summary>
    public void Listen(long inode, string path, bool listening = true)
    {
        _unix.Add($"0000000000000000: 00000002 00000000 {(listening ? "00010000" : "00000000")} 0001 {(listening ? "01" : "03")} {inode} {path}");
        File.WriteAllLines(Path.Combine(Root, "proc/net/unix"), _unix);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
