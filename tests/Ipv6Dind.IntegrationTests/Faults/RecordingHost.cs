using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace Ipv6Dind.IntegrationTests.Faults;

/// <summary>
/// A non-interactive PowerShell host that records what is written to its UI (test code only). With the
/// PowerShell API the pipeline's streams go to PowerShell.Streams, not to the host; the host's UI gets only what a
/// cmdlet writes there itself - after Ctrl-C, the rollback's lines (src/Ipv6Dind/DindCmdlet.cs).
/// </summary>
public sealed class RecordingHost : PSHost
{
    private readonly RecordingHostUI _ui = new();

    public override string Name => "Ipv6Dind.RecordingHost";
    public override Version Version => new(1, 0);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;

    /// <summary>"WARNING: …" / "VERBOSE: …" lines since <see cref="Clear"/>.</summary>
    public IReadOnlyList<string> Lines => _ui.Snapshot();
    public IEnumerable<string> Warnings => Lines.Where(l => l.StartsWith("WARNING: ", StringComparison.Ordinal)).Select(l => l["WARNING: ".Length..]);
    public IEnumerable<string> Verbose => Lines.Where(l => l.StartsWith("VERBOSE: ", StringComparison.Ordinal)).Select(l => l["VERBOSE: ".Length..]);
    public void Clear() => _ui.Clear();

    public override void SetShouldExit(int exitCode) { }
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }

    private sealed class RecordingHostUI : PSHostUserInterface
    {
        private readonly List<string> _lines = new();

        public IReadOnlyList<string> Snapshot() { lock (_lines) return _lines.ToList(); }
        public void Clear() { lock (_lines) _lines.Clear(); }
        private void Add(string line) { lock (_lines) _lines.Add(line); }

        public override PSHostRawUserInterface? RawUI => null;
        public override string ReadLine() => throw new NotSupportedException("non-interactive");
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException("non-interactive");
        public override void Write(string value) => Add(value);
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Add(value);
        public override void WriteLine(string value) => Add(value);
        public override void WriteErrorLine(string value) => Add("ERROR: " + value);
        public override void WriteDebugLine(string message) => Add("DEBUG: " + message);
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) => Add("VERBOSE: " + message);
        public override void WriteWarningLine(string message) => Add("WARNING: " + message);
        public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) => throw new NotSupportedException("non-interactive");
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException("non-interactive");
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException("non-interactive");
        public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) => throw new NotSupportedException("non-interactive");
    }
}
