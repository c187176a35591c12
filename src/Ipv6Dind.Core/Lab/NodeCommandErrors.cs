namespace Ipv6Dind.Core.Lab;

/// <summary>
/// The errors of Invoke-DindCommand, worded for the person at the prompt: which node of which cluster, the command
/// as typed, the exit code and the reason (the program's stderr; or what the exit code means when it said nothing).
/// </summary>
public static class NodeCommandErrors
{
    /// <summary>Longest reason kept in the message; the whole stderr stays on the result (the error's target).</summary>
    private const int MaxReason = 2000;

    /// <summary>A command that ran and exited non-zero.</summary>
    public static DindException Failed(DindCommandResult result, IReadOnlyList<string> argv)
    {
        var reason = Reason(result);
        return new DindException(ErrorIds.ExecFailed, DindErrorCategory.InvalidResult,
            $"{Quote(argv)} exited with {result.ExitCode} in node '{result.NodeName}' of cluster '{result.ClusterName}': {reason}",
            result, "Command",
            result.ExitCode is 126 or 127
                ? $"Check the program's name and path in the node: Invoke-DindCommand {result.ClusterName} {result.NodeName} sh -c 'command -v {Program(argv)}'."
                : null);
    }

    /// <summary>The node's container exists but is not running (stopped with Stop-DindCluster, or it exited).</summary>
    public static DindException NotRunning(string cluster, string node, string state, Exception? inner = null) =>
        new(ErrorIds.NodeNotRunning, DindErrorCategory.ResourceUnavailable,
            $"Node '{node}' of cluster '{cluster}' is not running ({(string.IsNullOrEmpty(state) ? "not running" : state)}): it cannot run a command.",
            node, "NodeName", $"Start-DindCluster {cluster}", inner);

    /// <summary>Why it failed: stderr; else stdout (docker exec reports "executable file not found" there); else the exit code's meaning.</summary>
    internal static string Reason(DindCommandResult result)
    {
        var text = result.Error.Trim();
        if (text.Length == 0) text = result.Output.Trim();
        if (text.Length > MaxReason) text = "…" + text[^MaxReason..];
        var meaning = result.ExitCode switch
        {
            126 => "the program was found but could not be run (not executable, or permission denied)",
            127 => "the program was not found",
            > 128 and < 160 => $"killed by signal {result.ExitCode - 128}",
            _ => "",
        };
        if (text.Length == 0) return meaning.Length > 0 ? meaning : "it wrote nothing to stderr";
        return meaning.Length > 0 ? $"{text} ({meaning})" : text;
    }

    /// <summary>The argument list as a shell would show it: arguments with blanks or quotes in single quotes.</summary>
    internal static string Quote(IReadOnlyList<string> argv) =>
        string.Join(' ', argv.Select(a => a.Length > 0 && a.All(c => char.IsLetterOrDigit(c) || "-_./=:@%+,".Contains(c))
            ? a
            : "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));

    private static string Program(IReadOnlyList<string> argv) => argv.Count == 0 ? "" : Quote(new[] { argv[0] });
}
