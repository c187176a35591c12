using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Internal;
using System.Security;
using System.Text;

namespace Ipv6Dind.Host;

/// <summary>
/// Host UI over plain text streams: formatted output, What-if text and information go to stdout; errors,
/// warnings, verbose, debug and progress go to stderr. Colours and the redrawn progress line are used only
/// when the stream is a terminal, so logs and tests see plain text. Prompts read lines from stdin.
/// </summary>
internal sealed class ConsoleHostUserInterface : PSHostUserInterface
{
    private const string Reset = "\u001b[0m";
    private const string Red = "\u001b[31;1m";
    private const string Yellow = "\u001b[33;1m";
    private const string EraseLine = "\r\u001b[2K";
    private const int ProgressBarWidth = 20;

    // One lock for every write and prompt: the engine, the error-stream handler and Out-Default may write
    // from different threads, and a prompt must not be split by other output.
    private readonly object _lock = new();
    private readonly TextReader _in;
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly bool _outIsTerminal;
    private readonly bool _errIsTerminal;
    private readonly bool _inIsTerminal;
    private readonly int _progressWidth;
    private readonly ConsoleHostRawUserInterface _raw;

    // Terminal progress: the live activities in update order; the last one is drawn.
    private readonly List<KeyValuePair<(long Source, int Activity), ProgressRecord>> _activeProgress = [];
    private bool _progressShown;

    // Non-terminal progress: each (activity, status) is logged once so cron logs stay short.
    private readonly HashSet<(string Activity, string Status)> _progressLogged = [];

    private volatile bool _reading;

    public ConsoleHostUserInterface(
        TextReader input,
        TextWriter output,
        TextWriter error,
        bool inputIsTerminal,
        bool outputIsTerminal,
        bool errorIsTerminal,
        bool nonInteractive,
        (int Width, int Height) outputSize,
        int progressWidth)
    {
        _in = input;
        _out = output;
        _err = error;
        _inIsTerminal = inputIsTerminal;
        _outIsTerminal = outputIsTerminal;
        _errIsTerminal = errorIsTerminal;
        _progressWidth = progressWidth;
        NonInteractive = nonInteractive;
        _raw = new ConsoleHostRawUserInterface(input, outputSize.Width, outputSize.Height);
    }

    /// <summary>When set, prompts and reads throw instead of waiting for stdin.</summary>
    public bool NonInteractive { get; private set; }

    /// <summary>True while blocked reading stdin for a prompt (Ctrl-C then has to end the process).</summary>
    public bool IsReading => _reading;

    public override PSHostRawUserInterface RawUI => _raw;

    // Scripts may ask; the formatter decorates text regardless, hence ForStream.
    public override bool SupportsVirtualTerminal => _outIsTerminal;

    public override void Write(string? value)
    {
        lock (_lock)
        {
            BeforeWrite(toError: false);
            _out.Write(ForStream(value, _outIsTerminal));
        }
    }

    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string? value)
    {
        lock (_lock)
        {
            BeforeWrite(toError: false);
            _out.Write(_outIsTerminal ? Colorize(value, foregroundColor, backgroundColor) : ForStream(value, terminal: false));
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_lock)
        {
            BeforeWrite(toError: false);
            _out.WriteLine(ForStream(value, _outIsTerminal));
        }
    }

    public override void WriteErrorLine(string? value) => WriteStderrLine(value, Red);

    public override void WriteWarningLine(string? message) => WriteStderrLine("WARNING: " + message, Yellow);

    public override void WriteVerboseLine(string? message) => WriteStderrLine("VERBOSE: " + message, Yellow);

    public override void WriteDebugLine(string? message) => WriteStderrLine("DEBUG: " + message, Yellow);

    // WriteInformation is deliberately not overridden: the engine hands every information record to it for
    // bookkeeping, whatever the preference, and itself calls WriteLine/Write for those that should be shown
    // (InformationPreference Continue, or Write-Host), so printing here would show hidden records and the
    // others twice.

    /// <summary>Prints an error record in pwsh's concise shape: "Command: message" then "  (ErrorId)".</summary>
    /// <param name="thrown">
    /// The exception the pipeline threw, if any: its record may only hold a ParentContainsErrorRecordException.
    /// </param>
    public void WriteErrorRecord(ErrorRecord record, Exception? thrown = null)
    {
        var exception = record.Exception is ParentContainsErrorRecordException && thrown is not null ? thrown : record.Exception;
        string text;
        if (exception is ParseException { Errors: { Length: > 0 } parseErrors })
        {
            // Parser messages carry their own position text; give each error's line/column instead.
            text = string.Join(
                Environment.NewLine,
                parseErrors.Select(e =>
                    $"ParserError: line {e.Extent.StartLineNumber}, column {e.Extent.StartColumnNumber}: {e.Message}{Environment.NewLine}  ({e.ErrorId})"));
        }
        else
        {
            string message = record.ErrorDetails?.Message is { Length: > 0 } details
                ? details
                : exception?.Message ?? record.ToString();
            text = $"{ErrorPrefix(record, exception)}: {message}{Environment.NewLine}  ({record.FullyQualifiedErrorId})";
        }

        lock (_lock)
        {
            BeforeWrite(toError: true);
            _err.WriteLine(_errIsTerminal ? Red + text + Reset : text);
        }
    }

    public override void WriteProgress(long sourceId, ProgressRecord record)
    {
        lock (_lock)
        {
            if (!_errIsTerminal)
            {
                if (record.RecordType != ProgressRecordType.Completed
                    && _progressLogged.Add((record.Activity, record.StatusDescription)))
                {
                    _err.WriteLine($"{record.Activity}: {record.StatusDescription}");
                }

                return;
            }

            var key = (sourceId, record.ActivityId);
            _activeProgress.RemoveAll(p => p.Key == key);
            if (record.RecordType != ProgressRecordType.Completed)
            {
                _activeProgress.Add(new(key, record));
            }

            if (_activeProgress.Count == 0)
            {
                EraseProgress();
            }
            else
            {
                _err.Write(EraseLine + ProgressLine(_activeProgress[^1].Value, _progressWidth - 1));
                _err.Flush();
                _progressShown = true;
            }
        }
    }

    /// <summary>Removes a progress line left on the terminal when the command ends (as pwsh does).</summary>
    public void EndProgress()
    {
        lock (_lock)
        {
            _activeProgress.Clear();
            EraseProgress();
        }
    }

    /// <summary>"Activity: Status [####      ] 40%" fitted into width; no bar when the percentage is unknown (-1).</summary>
    internal static string ProgressLine(ProgressRecord record, int width)
    {
        string bar = string.Empty;
        if (record.PercentComplete >= 0)
        {
            int percent = Math.Min(record.PercentComplete, 100);
            int filled = percent * ProgressBarWidth / 100;
            bar = $" [{new string('#', filled)}{new string(' ', ProgressBarWidth - filled)}] {percent}%";
        }

        string text = $"{record.Activity}: {record.StatusDescription}";
        int room = Math.Max(0, width - bar.Length);
        if (text.Length > room)
        {
            text = room > 3 ? text[..(room - 3)] + "..." : text[..room];
        }

        return text + bar;
    }

    public override string ReadLine()
    {
        lock (_lock)
        {
            EnsureInteractive("read a line");
            BeforeWrite(toError: false);
            return ReadInputLine();
        }
    }

    public override SecureString ReadLineAsSecureString()
    {
        lock (_lock)
        {
            EnsureInteractive("read a secret");
            BeforeWrite(toError: false);
            return ReadSecret();
        }
    }

    /// <summary>pwsh's choice prompt: caption, message, "[Y] Yes  [N] No  [?] Help (default is "Y"): ".</summary>
    public override int PromptForChoice(string? caption, string? message, Collection<ChoiceDescription> choices, int defaultChoice)
    {
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Count == 0)
        {
            throw new ArgumentException("There must be at least one choice.", nameof(choices));
        }

        if (defaultChoice < -1 || defaultChoice >= choices.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(defaultChoice), defaultChoice, "The default choice must be -1 or an index into the choices.");
        }

        lock (_lock)
        {
            EnsureInteractive(caption);
            BeforeWrite(toError: false);
            WriteCaptionAndMessage(caption, message);

            var (hotkeys, labels) = SplitChoiceLabels(choices);
            var prompt = new StringBuilder();
            for (int i = 0; i < choices.Count; i++)
            {
                prompt.Append(CultureInfo.InvariantCulture, $"[{hotkeys[i]}] {labels[i]}  ");
            }

            prompt.Append("[?] Help ");
            if (defaultChoice >= 0)
            {
                string shown = hotkeys[defaultChoice].Length > 0 ? hotkeys[defaultChoice] : labels[defaultChoice];
                prompt.Append(CultureInfo.InvariantCulture, $"(default is \"{shown}\")");
            }

            prompt.Append(": ");

            while (true)
            {
                _out.Write(prompt.ToString());
                string answer = ReadInputLine().Trim();
                if (answer.Length == 0)
                {
                    if (defaultChoice >= 0)
                    {
                        return defaultChoice;
                    }

                    continue;
                }

                if (answer == "?")
                {
                    for (int i = 0; i < choices.Count; i++)
                    {
                        string key = hotkeys[i].Length > 0 ? hotkeys[i] : labels[i];
                        _out.WriteLine($"{key} - {choices[i].HelpMessage}");
                    }

                    continue;
                }

                int picked = PickChoice(answer, hotkeys, labels);
                if (picked >= 0)
                {
                    return picked;
                }
            }
        }
    }

    /// <summary>Field prompts, as used for missing mandatory parameters: "Name: ", arrays until an empty line.</summary>
    public override Dictionary<string, PSObject> Prompt(string? caption, string? message, Collection<FieldDescription> descriptions)
    {
        ArgumentNullException.ThrowIfNull(descriptions);
        lock (_lock)
        {
            EnsureInteractive(caption);
            BeforeWrite(toError: false);
            WriteCaptionAndMessage(caption, message);
            if (descriptions.Any(d => !string.IsNullOrEmpty(d.HelpMessage)))
            {
                _out.WriteLine("(Type !? for Help.)");
            }

            var results = new Dictionary<string, PSObject>();
            foreach (var field in descriptions)
            {
                string label = (string.IsNullOrEmpty(field.Label) ? field.Name : field.Label).Replace("&", string.Empty, StringComparison.Ordinal);
                string type = field.ParameterTypeFullName ?? string.Empty;
                if (type == typeof(PSCredential).FullName)
                {
                    results[field.Name] = PSObject.AsPSObject(PromptForCredential(caption, message, null, field.Name));
                }
                else if (type == typeof(SecureString).FullName)
                {
                    _out.Write(label + ": ");
                    results[field.Name] = PSObject.AsPSObject(ReadSecret());
                }
                else if (type.EndsWith("[]", StringComparison.Ordinal))
                {
                    // An empty line ends the list, as in pwsh; the engine converts the strings to the element type.
                    var values = new List<object>();
                    while (true)
                    {
                        string value = PromptField($"{label}[{values.Count}]: ", field.HelpMessage);
                        if (value.Length == 0)
                        {
                            break;
                        }

                        values.Add(value);
                    }

                    results[field.Name] = PSObject.AsPSObject(values.ToArray());
                }
                else
                {
                    results[field.Name] = PSObject.AsPSObject(PromptField(label + ": ", field.HelpMessage));
                }
            }

            return results;
        }
    }

    public override PSCredential PromptForCredential(string? caption, string? message, string? userName, string? targetName) =>
        throw new NotImplementedException(
            "ipv6dind cannot prompt for credentials. Build a PSCredential in the script "
            + "([pscredential]::new($user, $secureString)) and pass it as a parameter.");

    public override PSCredential PromptForCredential(
        string? caption,
        string? message,
        string? userName,
        string? targetName,
        PSCredentialTypes allowedCredentialTypes,
        PSCredentialUIOptions options) =>
        PromptForCredential(caption, message, userName, targetName);

    // "!?" shows the field's help and asks again; an empty answer is returned (the binder judges it).
    private string PromptField(string prompt, string? helpMessage)
    {
        while (true)
        {
            _out.Write(prompt);
            string value = ReadInputLine();
            if (value == "!?")
            {
                _out.WriteLine(string.IsNullOrEmpty(helpMessage) ? "No help is available for this field." : helpMessage);
                continue;
            }

            return value;
        }
    }

    private void WriteCaptionAndMessage(string? caption, string? message)
    {
        if (!string.IsNullOrEmpty(caption))
        {
            // pwsh separates a prompt from earlier output with an empty line.
            _out.WriteLine();
            _out.WriteLine(caption);
        }

        if (!string.IsNullOrEmpty(message))
        {
            _out.WriteLine(message);
        }
    }

    /// <summary>"&amp;Yes to All" gives hotkey "A" and label "Yes to All"; a label without '&amp;' has no hotkey.</summary>
    private static (string[] Hotkeys, string[] Labels) SplitChoiceLabels(Collection<ChoiceDescription> choices)
    {
        var hotkeys = new string[choices.Count];
        var labels = new string[choices.Count];
        for (int i = 0; i < choices.Count; i++)
        {
            string label = choices[i].Label;
            int amp = label.IndexOf('&');
            if (amp >= 0 && amp + 1 < label.Length)
            {
                hotkeys[i] = char.ToUpper(label[amp + 1], CultureInfo.CurrentCulture).ToString();
                labels[i] = label.Remove(amp, 1).Trim();
            }
            else
            {
                hotkeys[i] = string.Empty;
                labels[i] = label.Replace("&", string.Empty, StringComparison.Ordinal).Trim();
            }
        }

        return (hotkeys, labels);
    }

    // A hotkey wins over a full label, both case-insensitive, as in pwsh.
    private static int PickChoice(string answer, string[] hotkeys, string[] labels)
    {
        for (int i = 0; i < hotkeys.Length; i++)
        {
            if (hotkeys[i].Length > 0 && string.Equals(answer, hotkeys[i], StringComparison.CurrentCultureIgnoreCase))
            {
                return i;
            }
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if (string.Equals(answer, labels[i], StringComparison.CurrentCultureIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    private void EnsureInteractive(string? what)
    {
        if (NonInteractive)
        {
            string subject = string.IsNullOrEmpty(what) ? "prompt" : $"prompt ({what})";
            throw new PromptingException(
                $"ipv6dind is running non-interactively (-NonInteractive, or the script was read from stdin) and cannot {subject}. "
                + "Supply the answer up front, e.g. -Confirm:$false, -Force or the missing parameter.",
                null,
                "NonInteractivePrompt",
                ErrorCategory.InvalidOperation);
        }
    }

    private string ReadInputLine()
    {
        _out.Flush();
        string? line;
        _reading = true;
        try
        {
            line = _in.ReadLine();
        }
        finally
        {
            _reading = false;
        }

        if (line is null)
        {
            // Nobody is left to answer: later prompts fail at once instead of printing themselves again.
            NonInteractive = true;
            _out.WriteLine();
            throw new PromptingException(
                "ipv6dind reached the end of stdin while waiting for an answer; treating the session as non-interactive.",
                null,
                "PromptEndOfInput",
                ErrorCategory.ReadError);
        }

        if (!_inIsTerminal)
        {
            // A terminal echoes what was typed; piped answers are echoed so the transcript reads naturally.
            _out.WriteLine(line);
        }

        return line;
    }

    private SecureString ReadSecret()
    {
        var secret = new SecureString();
        if (_inIsTerminal && ReferenceEquals(_in, Console.In))
        {
            // Read keys without echo so the secret never appears on screen.
            _reading = true;
            try
            {
                while (true)
                {
                    var key = Console.ReadKey(intercept: true);
                    if (key.Key == ConsoleKey.Enter)
                    {
                        break;
                    }

                    if (key.Key == ConsoleKey.Backspace)
                    {
                        if (secret.Length > 0)
                        {
                            secret.RemoveAt(secret.Length - 1);
                        }

                        continue;
                    }

                    secret.AppendChar(key.KeyChar);
                }
            }
            finally
            {
                _reading = false;
            }

            _out.WriteLine();
        }
        else
        {
            string? line = _in.ReadLine();
            if (line is null)
            {
                NonInteractive = true;
                _out.WriteLine();
                throw new PromptingException("ipv6dind reached the end of stdin while reading a secret.", null, "PromptEndOfInput", ErrorCategory.ReadError);
            }

            foreach (char c in line)
            {
                secret.AppendChar(c);
            }

            // Keep the transcript's line structure without revealing the secret.
            _out.WriteLine();
        }

        secret.MakeReadOnly();
        return secret;
    }

    private void WriteStderrLine(string? text, string color)
    {
        lock (_lock)
        {
            BeforeWrite(toError: true);
            _err.WriteLine(_errIsTerminal ? color + text + Reset : ForStream(text, terminal: false));
        }
    }

    // The progress line sits on the terminal's current line; remove it before anything else lands there.
    private void BeforeWrite(bool toError)
    {
        if (_progressShown && (toError || _outIsTerminal))
        {
            EraseProgress();
        }
    }

    private void EraseProgress()
    {
        if (_progressShown)
        {
            _err.Write(EraseLine);
            _err.Flush();
            _progressShown = false;
        }
    }

    /// <summary>
    /// The formatter decorates text (table headers, etc.) with ANSI whatever the host says, so strip it for
    /// anything that is not a terminal; done here rather than via $PSStyle, which is process-wide.
    /// </summary>
    private static string? ForStream(string? text, bool terminal) =>
        terminal || string.IsNullOrEmpty(text) || !text.Contains('\u001b', StringComparison.Ordinal)
            ? text
            : new StringDecorated(text).ToString(OutputRendering.PlainText);

    private string? Colorize(string? text, ConsoleColor foreground, ConsoleColor background)
    {
        if (string.IsNullOrEmpty(text) || (foreground == _raw.ForegroundColor && background == _raw.BackgroundColor))
        {
            return text;
        }

        var sgr = new StringBuilder("\u001b[");
        sgr.Append(AnsiColor(foreground, background: false));
        if (background != _raw.BackgroundColor)
        {
            sgr.Append(';').Append(AnsiColor(background, background: true));
        }

        return sgr.Append('m').Append(text).Append(Reset).ToString();
    }

    private static int AnsiColor(ConsoleColor color, bool background)
    {
        int code = color switch
        {
            ConsoleColor.Black => 30,
            ConsoleColor.DarkRed => 31,
            ConsoleColor.DarkGreen => 32,
            ConsoleColor.DarkYellow => 33,
            ConsoleColor.DarkBlue => 34,
            ConsoleColor.DarkMagenta => 35,
            ConsoleColor.DarkCyan => 36,
            ConsoleColor.Gray => 37,
            ConsoleColor.DarkGray => 90,
            ConsoleColor.Red => 91,
            ConsoleColor.Green => 92,
            ConsoleColor.Yellow => 93,
            ConsoleColor.Blue => 94,
            ConsoleColor.Magenta => 95,
            ConsoleColor.Cyan => 96,
            _ => 97,
        };
        return background ? code + 10 : code;
    }

    /// <summary>What pwsh's concise view puts before the message: the command, else the kind of failure.</summary>
    private static string ErrorPrefix(ErrorRecord record, Exception? exception)
    {
        if (record.InvocationInfo?.MyCommand?.Name is { Length: > 0 } command)
        {
            return command;
        }

        // A command that could not be found has no MyCommand, only the name as typed.
        if (record.InvocationInfo?.InvocationName is { Length: > 0 } typed)
        {
            return typed;
        }

        return exception switch
        {
            ParseException => "ParserError",
            RuntimeException { WasThrownFromThrowStatement: true } => "Exception",
            null => record.CategoryInfo.Category.ToString(),
            var e => e.GetType().Name,
        };
    }
}
