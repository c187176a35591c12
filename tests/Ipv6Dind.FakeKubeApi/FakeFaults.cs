namespace Ipv6Dind.FakeKubeApi;

public enum FakeFaultKind
{
    /// <summary>Answer with a status code and a Status body (503 while "starting", 403, 500, ...).</summary>
    Status,
    /// <summary>Abort the connection without an answer (a crashing API server, a proxy reset).</summary>
    DropConnection,
    /// <summary>Wait before answering normally (a slow API server; request timeouts).</summary>
    Delay,
}

/// <summary>One injected fault: applies to the next <see cref="Remaining"/> matching requests.</summary>
public sealed class FakeFault
{
    internal FakeFault(FakeFaultKind kind, int count, string? pathPrefix, int statusCode, TimeSpan delay, string? method = null, int skip = 0) =>
        (Kind, Remaining, PathPrefix, StatusCode, Delay, Method, Skip) = (kind, count, pathPrefix, statusCode, delay, method, skip);

    /// <summary>Only requests of this method (PATCH, GET, …); null: any.</summary>
    public string? Method { get; }
    /// <summary>Matching requests still let through before it applies (the second PATCH of a path, say).</summary>
    public int Skip { get; internal set; }

    public FakeFaultKind Kind { get; }
    public string? PathPrefix { get; }
    public int StatusCode { get; }
    public TimeSpan Delay { get; }
    /// <summary>Requests it still applies to (int.MaxValue: all).</summary>
    public int Remaining { get; internal set; }
    /// <summary>Requests it was applied to.</summary>
    public int Hits { get; internal set; }
}

/// <summary>
/// Faults applied before authentication and routing, first added first. Each takes the next matching requests
/// (path starts with PathPrefix, or any path), then stops applying.
/// </summary>
public sealed class FakeFaults
{
    private readonly object _gate = new();
    private readonly List<FakeFault> _faults = [];

    /// <summary>The next <paramref name="count"/> requests answer <paramref name="statusCode"/> (503: "the API server is starting").</summary>
    public FakeFault FailRequests(int statusCode, int count = int.MaxValue, string? pathPrefix = null, string? method = null, int skip = 0) =>
        Add(new FakeFault(FakeFaultKind.Status, count, pathPrefix, statusCode, TimeSpan.Zero, method, skip));

    /// <summary>The next <paramref name="count"/> requests have their connection aborted.</summary>
    public FakeFault DropConnections(int count = int.MaxValue, string? pathPrefix = null) =>
        Add(new FakeFault(FakeFaultKind.DropConnection, count, pathPrefix, 0, TimeSpan.Zero));

    /// <summary>The next <paramref name="count"/> requests are answered after <paramref name="delay"/>.</summary>
    public FakeFault DelayRequests(TimeSpan delay, int count = int.MaxValue, string? pathPrefix = null) =>
        Add(new FakeFault(FakeFaultKind.Delay, count, pathPrefix, 0, delay));

    public void Clear()
    {
        lock (_gate) _faults.Clear();
    }

    private FakeFault Add(FakeFault fault)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fault.Remaining);
        lock (_gate) _faults.Add(fault);
        return fault;
    }

    internal FakeFault? Take(string method, string path)
    {
        lock (_gate)
        {
            foreach (var fault in _faults)
            {
                if (fault.Remaining <= 0) continue;
                if (fault.PathPrefix is not null && !path.StartsWith(fault.PathPrefix, StringComparison.Ordinal)) continue;
                if (fault.Method is not null && !string.Equals(fault.Method, method, StringComparison.OrdinalIgnoreCase)) continue;
                if (fault.Skip > 0) { fault.Skip--; continue; }
                if (fault.Remaining != int.MaxValue) fault.Remaining--;
                fault.Hits++;
                return fault;
            }
            return null;
        }
    }
}

/// <summary>One request as the fake saw it. StatusCode is 0 while unanswered and for dropped connections.</summary>
public sealed class FakeRequest
{
    internal FakeRequest(DateTimeOffset time, string method, string path, string? query, string? contentType, string body, string authentication) =>
        (Time, Method, Path, Query, ContentType, Body, Authentication) = (time, method, path, query, contentType, body, authentication);

    public DateTimeOffset Time { get; }
    public string Method { get; }
    public string Path { get; }
    /// <summary>The query string without '?', or null.</summary>
    public string? Query { get; }
    public string? ContentType { get; }
    public string Body { get; }
    /// <summary>"token", "certificate" or "none".</summary>
    public string Authentication { get; }
    public int StatusCode { get; internal set; }

    public override string ToString() => $"{Method} {Path}{(Query is null ? "" : "?" + Query)} -> {StatusCode}";
}
