using System.Runtime.CompilerServices;

using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Lab.Tests;

/// <summary>
/// The lab takes cross-process locks in a directory (<see cref="ClusterLock"/>); this process uses a private, fresh
/// one (IPV6DIND_LOCK_DIR), set before any test runs and deleted when the process exits, so that it never touches
/// /run/ipv6dind nor needs root.
/// </summary>
internal static class LockDirectory
{
    public static string Path { get; private set; } = "";

#pragma warning disable CA2255 // a test assembly's own set-up, before the first test
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        Path = Directory.CreateTempSubdirectory("ipv6dind-lab-tests-").FullName;
        Environment.SetEnvironmentVariable(ClusterLock.DirectoryVariable, Path);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Path, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        };
    }
}
