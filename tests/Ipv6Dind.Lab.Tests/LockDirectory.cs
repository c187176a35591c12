using System.Globalization;
using System.Runtime.CompilerServices;

using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Lab.Tests;

/// <summary>
/// The lab takes cross-process locks in a directory (<see cref="ClusterLock"/>); this process uses a private, fresh
/// one (IPV6DIND_LOCK_DIR), set before any test runs and deleted when the process exits, so that it never touches
/// /run/ipv6dind nor needs root. The test host may be ended before its exit handlers finish: folders of test
/// processes that are gone are removed by the next run.
/// </summary>
internal static class LockDirectory
{
    private const string Prefix = "ipv6dind-lab-tests-";
    private const string OwnerFile = "owner.pid";

    public static string Path { get; private set; } = "";

#pragma warning disable CA2255 // a test assembly's own set-up, before the first test
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        Path = Directory.CreateTempSubdirectory(Prefix).FullName;
        File.WriteAllText(System.IO.Path.Combine(Path, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Environment.SetEnvironmentVariable(ClusterLock.DirectoryVariable, Path);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(Path);
        foreach (var folder in Directory.GetDirectories(System.IO.Path.GetTempPath(), Prefix + "*"))
            if (folder != Path && OwnerIsGone(folder)) TryDelete(folder);
    }

    private static bool OwnerIsGone(string folder)
    {
        try
        {
            return int.TryParse(File.ReadAllText(System.IO.Path.Combine(folder, OwnerFile)), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && !Directory.Exists($"/proc/{pid}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private static void TryDelete(string folder)
    {
        try { Directory.Delete(folder, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
