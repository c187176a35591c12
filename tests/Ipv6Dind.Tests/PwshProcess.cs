using System.Diagnostics;

namespace Ipv6Dind.Tests;

/// <summary>
/// Real pwsh as a child process, the way cron, systemd, a dhclient hook or a shell start a script: `dotnet pwsh`, the
/// local .NET tool pinned in .config/dotnet-tools.json (found through the repository root as working directory),
/// with -NoProfile -NonInteractive, and out/ (the built module, out/Ipv6Dind) first on PSModulePath, so that scripts
/// find the module's cmdlets by name (module auto-loading), as after Install-PSResource. Arguments are an argv vector,
/// never a shell string.
/// </summary>
public static class PwshProcess
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
    }

    /// <summary>The folder whose Ipv6Dind subfolder is the built module: what PSModulePath gets first.</summary>
    public static string ModuleParent => Path.GetDirectoryName(Path.GetDirectoryName(Repo.ModuleManifest))!;

    /// <summary>`dotnet pwsh -NoProfile -NonInteractive` then <paramref name="arguments"/>, started from the repository root.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Repo.Root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "pwsh", "-NoProfile", "-NonInteractive" }.Concat(arguments)) psi.ArgumentList.Add(a);
        AddModulePath(psi);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return psi;
    }

    /// <summary>
    /// out/ alone on PSModulePath: pwsh adds its own folders (user, shared, $PSHOME/Modules) when it starts. Whatever the
    /// test process inherited is left out, so that a module installed on the machine cannot stand in for the build.
    /// </summary>
    public static void AddModulePath(ProcessStartInfo psi) => psi.Environment["PSModulePath"] = ModuleParent;

    /// <summary>Runs pwsh to completion (the whole tree is killed after <paramref name="timeout"/>, and the test fails).</summary>
    public static async Task<Result> RunAsync(IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var p = Process.Start(StartInfo(arguments, environment))!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"pwsh did not finish in {timeout}:\n{await stdout}\n{await stderr}");
        }
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    public static Result Run(IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null) =>
        RunAsync(arguments, timeout, environment).GetAwaiter().GetResult();
}
