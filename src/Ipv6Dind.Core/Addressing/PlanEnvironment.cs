namespace Ipv6Dind.Core.Addressing;

/// <summary>What a range is reserved by, outside the spec.</summary>
public enum ReservationKind
{
    /// <summary>An address or route of the host itself.</summary>
    Host,
    /// <summary>An existing Docker network.</summary>
    DockerNetwork,
    /// <summary>Another Ipv6Dind cluster.</summary>
    Cluster,
}

/// <summary>A range a new cluster must not overlap (IPv4 or IPv6 prefix text).</summary>
public sealed record ReservedRange(string Prefix, ReservationKind Kind, string Origin);

/// <summary>
/// The facts validation needs from outside the spec. Gathered by the caller (host, Docker, other clusters)
/// so that planning and validation themselves stay pure and testable.
/// </summary>
public sealed class PlanEnvironment
{
    public static readonly PlanEnvironment Empty = new();

    public IReadOnlyList<ReservedRange> Reserved { get; init; } = Array.Empty<ReservedRange>();

    /// <summary>
    /// The host's own usable resolvers (non-loopback), used when a spec names no DNS64 upstream;
    /// null when they were not gathered (pure planning), which defers the "no upstream" check to bring-up.
    /// </summary>
    public IReadOnlyList<string>? HostResolvers { get; init; }
}
