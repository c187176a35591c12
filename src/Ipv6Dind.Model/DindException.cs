namespace Ipv6Dind;

/// <summary>
/// What went wrong, in PowerShell's terms but without a PowerShell reference: the cmdlet layer turns
/// this into an ErrorRecord with <see cref="ErrorId"/> as its FullyQualifiedErrorId, <see cref="Category"/>
/// as its ErrorCategory (same names) and <see cref="Target"/> as its TargetObject.
/// </summary>
public class DindException : Exception
{
    public DindException(string errorId, DindErrorCategory category, string message,
        object? target = null, string? parameterName = null, string? recommendedAction = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Category = category;
        Target = target;
        ParameterName = parameterName;
        RecommendedAction = recommendedAction;
    }

    /// <summary>Stable id, one of <see cref="ErrorIds"/>.</summary>
    public string ErrorId { get; }
    public DindErrorCategory Category { get; }
    /// <summary>The offending value (a prefix, a name, a path).</summary>
    public object? Target { get; }
    /// <summary>The cmdlet parameter (or spec field) the value came from.</summary>
    public string? ParameterName { get; }
    /// <summary>What would be valid / what to do.</summary>
    public string? RecommendedAction { get; }
}

/// <summary>Mirror of System.Management.Automation.ErrorCategory (same names) for the PowerShell-free core.</summary>
public enum DindErrorCategory
{
    NotSpecified,
    InvalidArgument,
    InvalidData,
    InvalidOperation,
    InvalidResult,
    InvalidType,
    ObjectNotFound,
    ResourceExists,
    ResourceUnavailable,
    ResourceBusy,
    ConnectionError,
    NotInstalled,
    NotImplemented,
    OperationStopped,
    OperationTimeout,
    PermissionDenied,
    ReadError,
    WriteError,
    SyntaxError,
    LimitsExceeded,
    DeviceError,
    OpenError,
    ParserError,
    SecurityError,
}
