namespace Ipv6Dind.Core.Diagnostics;

/// <summary>
/// Progress of a long operation, in the core's own terms; the cmdlet layer turns it into a ProgressRecord
/// (Write-Progress), pwsh into a bar. Id/ParentId let nested steps (nodes inside bring-up) nest.
/// </summary>
public sealed record DindProgress(string Activity, string Status, int PercentComplete = -1, int Id = 0, int ParentId = -1, bool Completed = false)
{
    public string? CurrentOperation { get; init; }
}

/// <summary>Log lines of the core; the cmdlet layer maps them to Write-Verbose / Write-Warning / Write-Debug.</summary>
public interface IDindLog
{
    void Verbose(string message);
    void Warning(string message);
    void Debug(string message);
}

/// <summary>A log that drops everything (pure calls, tests).</summary>
public sealed class NullLog : IDindLog
{
    public static readonly NullLog Instance = new();
    public void Verbose(string message) { }
    public void Warning(string message) { }
    public void Debug(string message) { }
}

/// <summary>Everything a core operation needs from its caller: cancellation, progress, log.</summary>
public sealed record OperationContext(CancellationToken Cancellation, IProgress<DindProgress> Progress, IDindLog Log)
{
    public static OperationContext None { get; } = new(CancellationToken.None, new Progress<DindProgress>(), NullLog.Instance);
}
