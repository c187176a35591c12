namespace Ipv6Dind;

/// <summary>The outcome of one check (Test-DindCluster, Test-DindHost): Pester-friendly.</summary>
public sealed class CheckResult
{
    public string Target { get; init; } = "";
    public string Check { get; init; } = "";
    public CheckStatus Status { get; init; }
    public bool Passed => Status != CheckStatus.Fail;
    public string Detail { get; init; } = "";
    public string Remedy { get; init; } = "";
    public override string ToString() => $"{Status} {Target} {Check}: {Detail}";
}

public enum CheckStatus { Pass, Warn, Fail }
