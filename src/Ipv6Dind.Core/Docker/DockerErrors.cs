using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using Docker.DotNet;

namespace Ipv6Dind.Core.Docker;

/// <summary>
/// Turns what Docker.DotNet throws into our <see cref="DindException"/>s, by exception type and HTTP status code
/// (never by matching message text, which changes between daemon versions).
/// </summary>
internal static class DockerErrors
{
    public static DindException Map(Exception e, string endpoint, string operation, string? target)
    {
        switch (e)
        {
            case DindException dind:
                return dind;
            case DockerApiException api:
                return FromStatus(api, operation, target);
            case AuthenticationException:
                return new DindException(ErrorIds.DockerUnreachable, DindErrorCategory.ConnectionError,
                    $"The TLS handshake with the Docker daemon at {endpoint} failed during {operation}: {e.Message}",
                    target: endpoint, inner: e,
                    recommendedAction: "Check that DOCKER_CERT_PATH holds the ca.pem that signed the daemon's certificate and a client cert.pem/key.pem it accepts.");
            case HttpRequestException or SocketException or IOException or ObjectDisposedException:
                return Unreachable(endpoint, operation, e);
            default:
                return new DindException(ErrorIds.DockerApiError, DindErrorCategory.InvalidOperation,
                    $"Docker {operation} failed: {e.Message}", target: target, inner: e);
        }
    }

    public static DindException Unreachable(string endpoint, string operation, Exception? inner) =>
        new(ErrorIds.DockerUnreachable, DindErrorCategory.ConnectionError,
            $"Cannot reach the Docker daemon at {endpoint} ({operation}){(inner is null ? "" : ": " + Innermost(inner).Message)}.",
            target: endpoint, inner: inner,
            recommendedAction: "Start Docker (dockerd, or tests/lab/ensure-dockerd in this repository) or set DOCKER_HOST to a daemon that answers.");

    public static DindException Timeout(string endpoint, string operation, TimeSpan timeout) =>
        new(ErrorIds.DockerUnreachable, DindErrorCategory.OperationTimeout,
            $"The Docker daemon at {endpoint} did not finish {operation} within {timeout.TotalSeconds:0} s.",
            target: endpoint,
            recommendedAction: "Check that the daemon is healthy (its log, `docker info`); a stuck daemon needs a restart.");

    private static DindException FromStatus(DockerApiException api, string operation, string? target)
    {
        var message = DaemonMessage(api.ResponseBody) ?? api.StatusCode.ToString();
        return api.StatusCode switch
        {
            HttpStatusCode.NotFound => new DindException(ErrorIds.DockerObjectNotFound, DindErrorCategory.ObjectNotFound,
                $"Docker {operation}: {message}", target: target, inner: api),
            HttpStatusCode.Conflict => new DindException(ErrorIds.DockerConflict, DindErrorCategory.ResourceExists,
                $"Docker {operation}: {message}", target: target, inner: api),
            _ => new DindException(ErrorIds.DockerApiError, CategoryOf(api.StatusCode),
                $"Docker {operation} failed ({(int)api.StatusCode}): {message}", target: target, inner: api),
        };
    }

    private static DindErrorCategory CategoryOf(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => DindErrorCategory.InvalidArgument,
        HttpStatusCode.Unauthorized => DindErrorCategory.PermissionDenied,
        // dockerd answers 403 for "forbidden in this state" (a network with active endpoints, say).
        HttpStatusCode.Forbidden => DindErrorCategory.ResourceBusy,
        HttpStatusCode.NotImplemented => DindErrorCategory.NotImplemented,
        HttpStatusCode.ServiceUnavailable => DindErrorCategory.ResourceUnavailable,
        _ => DindErrorCategory.InvalidOperation,
    };

    /// <summary>dockerd's error body is {"message":"…"}; older paths answer plain text.</summary>
    public static string? DaemonMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object &&
                doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                return m.GetString();
        }
        catch (JsonException) { }
        return body.Trim();
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
