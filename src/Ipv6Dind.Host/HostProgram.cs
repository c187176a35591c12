using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace Ipv6Dind.Host;

/// <summary>
/// Runs one command or script file in a runspace whose host is <see cref="ConsoleHost"/>, with the module
/// imported, formats results through Out-Default, and turns what happened into an exit code.
/// </summary>
internal static class HostProgram
{
    public const int ExitSuccess = 0;
    public const int ExitError = 1;
    /// <summary>As pwsh: 64 (EX_USAGE), so a script's own `exit 2` stays distinguishable.</summary>
    public const int ExitUsage = 64;
    public const int ExitInterrupted = 130;

    private const string ModuleFileName = "Ipv6Dind.psd1";
    private const string ModuleEnvironmentVariable = "IPV6DIND_MODULE";

    /// <param name="stdinIsTerminal">
    /// Whether stdin is a terminal: when it is not, answers read for prompts are echoed so the transcript reads
    /// naturally (a terminal echoes them itself).
    /// </param>
    public static int Run(
        string[] args,
        TextReader stdin,
        TextWriter stdout,
        TextWriter stderr,
        bool stdoutIsTerminal = false,
        bool stderrIsTerminal = false,
        bool stdinIsTerminal = false)
    {
        HostOptions options;
        try
        {
            options = CommandLine.Parse(args);
        }
        catch (CommandLineException e)
        {
            stderr.WriteLine($"ipv6dind: {e.Message}");
            stderr.WriteLine();
            stderr.WriteLine(CommandLine.Usage);
            return ExitUsage;
        }

        if (options.Help)
        {
            stdout.WriteLine(CommandLine.Usage);
            return ExitSuccess;
        }

        string? modulePath = null;
        if (!options.NoModule)
        {
            modulePath = ResolveModule(options.Module, Environment.GetEnvironmentVariable, AppContext.BaseDirectory, out string? problem);
            if (modulePath is null)
            {
                stderr.WriteLine($"ipv6dind: {problem}");
                return ExitUsage;
            }
        }

        if (options.File is not null && !IsScriptFile(options.File, out string? fileProblem))
        {
            // Checked up front, like pwsh -File: a typo in a cron line is a usage error, not a script failure.
            stderr.WriteLine($"ipv6dind: {fileProblem}");
            return ExitUsage;
        }

        string? script = options.Command;
        if (options.CommandFromStdin)
        {
            // The whole of stdin is the script, so nothing is left to answer prompts with.
            script = stdin.ReadToEnd();
        }

        var ui = new ConsoleHostUserInterface(
            stdin,
            stdout,
            stderr,
            stdinIsTerminal,
            stdoutIsTerminal,
            stderrIsTerminal,
            nonInteractive: options.NonInteractive || options.CommandFromStdin,
            ConsoleHostRawUserInterface.MeasureConsole(stdoutIsTerminal),
            ConsoleHostRawUserInterface.MeasureConsole(stderrIsTerminal).Width);
        var host = new ConsoleHost(ui);

        using var runspace = RunspaceFactory.CreateRunspace(host, InitialSessionState.CreateDefault2());
        runspace.Open();

        if (modulePath is not null && !ImportModule(runspace, modulePath, ui, stderr))
        {
            return ExitUsage;
        }

        using var ps = CreateUserPipeline(runspace, options, script);

        int errorCount = 0;
        ps.Streams.Error.DataAdded += (sender, e) =>
        {
            var record = ((PSDataCollection<ErrorRecord>)sender!)[e.Index];
            Interlocked.Increment(ref errorCount);
            ui.WriteErrorRecord(record);
        };

        bool interrupted = false;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // A blocked stdin read cannot be interrupted, and a second Ctrl-C means "stop now": let it kill us.
            if (interrupted || ui.IsReading)
            {
                return;
            }

            interrupted = true;
            e.Cancel = true;
            ps.BeginStop(null, null);
        };
        Console.CancelKeyPress += onCancel;

        bool threw = false;
        try
        {
            if (options.File is not null)
            {
                // Only `exit N` (or a native command) sets it; clear it so a stale value cannot leak in.
                runspace.SessionStateProxy.SetVariable("global:LASTEXITCODE", null);
            }

            ps.Invoke();
        }
        catch (PipelineStoppedException) when (interrupted)
        {
        }
        catch (RuntimeException e)
        {
            threw = true;
            // A -ErrorAction Stop error may already have been printed from the error stream.
            if (!ps.Streams.Error.Contains(e.ErrorRecord))
            {
                ui.WriteErrorRecord(e.ErrorRecord, e);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            threw = true;
            ui.WriteErrorLine($"ipv6dind: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            ui.EndProgress();
            stdout.Flush();
            stderr.Flush();
        }

        if (interrupted)
        {
            return ExitInterrupted;
        }

        if (host.ShouldExit)
        {
            return host.ExitCode;
        }

        if (options.File is not null && !threw && ScriptExitCode(runspace) is int code and not 0)
        {
            // A script file's `exit N` ends only the script (pwsh -File rethrows it, through an internal flag);
            // it leaves N in $LASTEXITCODE. An `exit 0` cannot be told from no exit, so errors still give 1 then.
            return code;
        }

        return threw || errorCount > 0 ? ExitError : ExitSuccess;
    }

    /// <summary>
    /// The module's .psd1: from -Module, else $IPV6DIND_MODULE, else out/Ipv6Dind/Ipv6Dind.psd1 in the program's
    /// directory or any parent (a build tree), else Ipv6Dind/Ipv6Dind.psd1 beside the program (an install).
    /// </summary>
    internal static string? ResolveModule(string? explicitPath, Func<string, string?> getEnvironment, string baseDirectory, out string? problem)
    {
        problem = null;
        string? requested = explicitPath;
        string origin = "-Module";
        if (requested is null && getEnvironment(ModuleEnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            requested = fromEnvironment;
            origin = $"${ModuleEnvironmentVariable}";
        }

        if (requested is not null)
        {
            string full = Path.GetFullPath(requested);
            string candidate = Directory.Exists(full) ? Path.Combine(full, ModuleFileName) : full;
            if (File.Exists(candidate))
            {
                return candidate;
            }

            problem = $"module not found: {origin} names '{requested}', but there is no {(Directory.Exists(full) ? $"{ModuleFileName} in that directory" : "such file")}.";
            return null;
        }

        for (var dir = new DirectoryInfo(baseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "out", "Ipv6Dind", ModuleFileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        string beside = Path.Combine(baseDirectory, "Ipv6Dind", ModuleFileName);
        if (File.Exists(beside))
        {
            return beside;
        }

        problem = $"cannot find the Ipv6Dind module: no out/Ipv6Dind/{ModuleFileName} above '{baseDirectory}' and no '{beside}'. "
            + $"Build it (dotnet build), or pass -Module <path>, set ${ModuleEnvironmentVariable}, or use -NoModule.";
        return null;
    }

    /// <summary>The user's command or script file piped to Out-Default.</summary>
    private static PowerShell CreateUserPipeline(Runspace runspace, HostOptions options, string? script)
    {
        var ps = PowerShell.Create();
        ps.Runspace = runspace;
        if (options.File is not null)
        {
            // As a command (not script text) so $PSScriptRoot, $PSCommandPath and param() work as in pwsh -File.
            var command = new Command(Path.GetFullPath(options.File), isScript: false, useLocalScope: true);
            foreach (var argument in options.FileArguments)
            {
                command.Parameters.Add(argument);
            }

            ps.Commands.AddCommand(command);
        }
        else
        {
            // Runs in the global scope like pwsh -Command; the text is never pasted into other script text.
            ps.AddScript(script ?? string.Empty);
        }

        // Out-Default renders objects through their format views and writes through the host UI, as pwsh does.
        ps.AddCommand("Out-Default");
        return ps;
    }

    private static bool IsScriptFile(string path, [NotNullWhen(false)] out string? problem)
    {
        problem = !path.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase)
            ? $"cannot run '{path}': a script file must have the .ps1 extension."
            : !File.Exists(path)
                ? $"script file not found: '{path}'."
                : null;
        return problem is null;
    }

    private static bool ImportModule(Runspace runspace, string modulePath, ConsoleHostUserInterface ui, TextWriter stderr)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddCommand("Import-Module").AddParameter("Name", modulePath).AddParameter("ErrorAction", ActionPreference.Stop);
        try
        {
            ps.Invoke();
        }
        catch (RuntimeException e)
        {
            ui.WriteErrorRecord(e.ErrorRecord, e);
            stderr.WriteLine($"ipv6dind: cannot import the module '{modulePath}'.");
            return false;
        }

        return true;
    }

    private static int? ScriptExitCode(Runspace runspace) =>
        runspace.SessionStateProxy.GetVariable("global:LASTEXITCODE") is int code ? code : null;
}
