using System.Globalization;
using System.Management.Automation.Host;

namespace Ipv6Dind.Host;

/// <summary>
/// The PSHost the engine talks to: it carries the UI (output, prompts, progress) and records `exit N`.
/// </summary>
internal sealed class ConsoleHost : PSHost
{
    private readonly ConsoleHostUserInterface _ui;
    private readonly CultureInfo _culture = CultureInfo.CurrentCulture;
    private readonly CultureInfo _uiCulture = CultureInfo.CurrentUICulture;

    public ConsoleHost(ConsoleHostUserInterface ui) => _ui = ui;

    public override string Name => "ipv6dind";

    public override Version Version { get; } = typeof(ConsoleHost).Assembly.GetName().Version ?? new Version(0, 0);

    public override Guid InstanceId { get; } = Guid.NewGuid();

    public override PSHostUserInterface UI => _ui;

    // The engine reads these on its own threads; capture them once so scripts see the caller's culture.
    public override CultureInfo CurrentCulture => _culture;

    public override CultureInfo CurrentUICulture => _uiCulture;

    /// <summary>Set when the script ran `exit`; the process then exits with <see cref="ExitCode"/>.</summary>
    public bool ShouldExit { get; private set; }

    public int ExitCode { get; private set; }

    public override void SetShouldExit(int exitCode)
    {
        ShouldExit = true;
        ExitCode = exitCode;
    }

    // A one-shot host has no REPL to nest; choosing [S] Suspend therefore fails with this message.
    public override void EnterNestedPrompt() =>
        throw new NotSupportedException("ipv6dind runs one command and has no interactive prompt to suspend into.");

    public override void ExitNestedPrompt() =>
        throw new NotSupportedException("ipv6dind has no nested prompt to exit.");

    public override void NotifyBeginApplication()
    {
    }

    public override void NotifyEndApplication()
    {
    }
}
