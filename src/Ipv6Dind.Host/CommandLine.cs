using System.Management.Automation.Runspaces;

namespace Ipv6Dind.Host;

/// <summary>What the command line asked for.</summary>
/// <param name="Command">Script text of -Command (null when reading it from stdin or running a file).</param>
/// <param name="CommandFromStdin">-Command - : the script text is read from stdin.</param>
/// <param name="File">Script path of -File or of a leading *.ps1 argument.</param>
/// <param name="FileArguments">Arguments for the script file, already shaped as parameters and arguments.</param>
/// <param name="Module">-Module: a .psd1 or a directory holding Ipv6Dind.psd1.</param>
/// <param name="NoModule">-NoModule: import nothing.</param>
/// <param name="NonInteractive">-NonInteractive: prompts fail instead of waiting.</param>
/// <param name="Help">-Help / -? : print usage and stop.</param>
internal sealed record HostOptions(
    string? Command,
    bool CommandFromStdin,
    string? File,
    IReadOnlyList<CommandParameter> FileArguments,
    string? Module,
    bool NoModule,
    bool NonInteractive,
    bool Help);

/// <summary>Raised for a command line the host cannot run; the message goes to stderr with the usage text.</summary>
internal sealed class CommandLineException(string message) : Exception(message);

/// <summary>Parses the pwsh-like command line of ipv6dind.</summary>
internal static class CommandLine
{
    public const string Usage =
        """
        Usage: ipv6dind [options] -Command <script text> | -Command -
               ipv6dind [options] -File <script.ps1> [script arguments]
               ipv6dind [options] <script.ps1> [script arguments]

        Runs PowerShell script text or a script file with the Ipv6Dind module imported.

        Options:
          -Command, -c <text>   Script text to run; all remaining arguments are joined into it.
                                '-' reads the script from stdin (prompts then fail instead of waiting).
          -File, -f <path>      Script file to run; remaining arguments are bound to its parameters
                                (-Name value, -Switch, -Switch:$false, positional values).
          -Module, -m <path>    Module to import: a .psd1 file or a directory holding Ipv6Dind.psd1.
                                Default: $IPV6DIND_MODULE, else out/Ipv6Dind/Ipv6Dind.psd1 found upward
                                from the program's directory, else Ipv6Dind/Ipv6Dind.psd1 beside it.
          -NoModule             Import no module.
          -NonInteractive       Fail instead of prompting (confirmation, Read-Host, mandatory parameters).
          -NoProfile, -NoLogo   Accepted for pwsh compatibility; ignored.
          -Help, -?             Show this text.

        Exit codes: 0 success; 1 an error was written or the script threw; N from 'exit N';
                    64 bad command line or module not found (as pwsh); 130 interrupted by Ctrl-C.
        """;

    public static HostOptions Parse(IReadOnlyList<string> args)
    {
        string? command = null;
        bool commandFromStdin = false;
        string? file = null;
        var fileArguments = new List<CommandParameter>();
        string? module = null;
        bool noModule = false, nonInteractive = false, help = false;

        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!IsOption(arg))
            {
                // Like pwsh, a bare first argument is a script file; we only accept *.ps1 so typos are not run as scripts.
                if (!arg.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase))
                {
                    throw new CommandLineException($"Unexpected argument '{arg}'. Use -Command for script text or -File for a .ps1 file.");
                }

                file = arg;
                fileArguments.AddRange(ShapeScriptArguments(args.Skip(i + 1)));
                break;
            }

            switch (OptionName(arg))
            {
                case "command" or "c":
                    if (i + 1 >= args.Count)
                    {
                        throw new CommandLineException("-Command needs script text, or '-' to read it from stdin.");
                    }

                    if (args[i + 1] == "-" && i + 2 == args.Count)
                    {
                        commandFromStdin = true;
                    }
                    else
                    {
                        // pwsh joins everything after -Command into one script, so unquoted words still work.
                        command = string.Join(' ', args.Skip(i + 1));
                    }

                    i = args.Count;
                    break;
                case "file" or "f":
                    if (i + 1 >= args.Count)
                    {
                        throw new CommandLineException("-File needs a script path.");
                    }

                    file = args[i + 1];
                    fileArguments.AddRange(ShapeScriptArguments(args.Skip(i + 2)));
                    i = args.Count;
                    break;
                case "module" or "m":
                    if (i + 1 >= args.Count)
                    {
                        throw new CommandLineException("-Module needs a path.");
                    }

                    module = args[++i];
                    break;
                case "nomodule":
                    noModule = true;
                    break;
                case "noninteractive" or "noni":
                    nonInteractive = true;
                    break;
                case "noprofile" or "nop" or "nologo":
                    break;
                case "help" or "h" or "?":
                    help = true;
                    break;
                default:
                    throw new CommandLineException($"Unknown option '{arg}'.");
            }
        }

        if (help)
        {
            return new HostOptions(null, false, null, [], module, noModule, nonInteractive, true);
        }

        if (command is null && !commandFromStdin && file is null)
        {
            throw new CommandLineException("Nothing to run: give -Command or -File.");
        }

        if (module is not null && noModule)
        {
            throw new CommandLineException("-Module and -NoModule exclude each other.");
        }

        return new HostOptions(command, commandFromStdin, file, fileArguments, module, noModule, nonInteractive, false);
    }

    /// <summary>
    /// Turns script-file arguments into parameters the way pwsh -File does. The names keep their dash: the
    /// binder then treats "-Name" like a parameter token on a command line and pairs it with the next value
    /// unless it is a switch (a bare name without the dash would bind as a valueless switch). "-Name:value"
    /// carries its value, where the texts $true/$false become booleans so switches can be turned off.
    /// </summary>
    internal static IEnumerable<CommandParameter> ShapeScriptArguments(IEnumerable<string> args)
    {
        foreach (string arg in args)
        {
            if (arg.Length < 2 || arg[0] != '-' || char.IsDigit(arg[1]) || arg[1] == '.')
            {
                // Negative numbers and a lone '-' are values, not parameter names.
                yield return new CommandParameter(null, arg);
                continue;
            }

            int colon = arg.IndexOf(':');
            if (colon < 0 || colon == arg.Length - 1)
            {
                // "-Name:" with nothing after it takes the next argument, like "-Name".
                yield return new CommandParameter(arg.TrimEnd(':'));
                continue;
            }

            string text = arg[(colon + 1)..];
            object value = text.ToLowerInvariant() switch
            {
                "$true" => true,
                "$false" => false,
                _ => text,
            };
            yield return new CommandParameter(arg[..colon], value);
        }
    }

    private static bool IsOption(string arg) => arg.Length > 1 && (arg[0] == '-' || arg == "/?");

    private static string OptionName(string arg)
    {
        if (arg == "/?")
        {
            return "?";
        }

        // Accept GNU-style --command as well as pwsh's -Command.
        string name = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : arg[1..];
        return name.ToLowerInvariant();
    }
}
