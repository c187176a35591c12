using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using k8s.Autorest;

namespace Ipv6Dind.Core.Kubernetes;

/// <summary>
/// A failure worth another try: the API server is not listening yet, dropped the connection, answered 5xx or
/// 429, or a request ran past its timeout. <see cref="Final"/> is what the caller sees once it stops retrying.
/// </summary>
internal sealed class KubernetesTransientException(DindException final) : Exception(final.Message, final)
{
    public DindException Final { get; } = final;
}

/// <summary>
/// Turns what KubernetesClient throws into our exceptions, by exception type and HTTP status code (never by
/// message text): transient ones become <see cref="KubernetesTransientException"/>, the rest
/// <see cref="DindException"/> (KubernetesApiError) at once.
/// </summary>
internal static class KubernetesErrors
{
    public static Exception Map(Exception e, string server, string operation, string? target)
    {
        switch (e)
        {
            case DindException or KubernetesTransientException:
                return e;
            case HttpOperationException http:
                return FromStatus(http, server, operation, target);
            case HttpRequestException when Find<AuthenticationException>(e) is { } tls:
                // A certificate the kubeconfig's CA did not sign, or a client certificate refused: retrying
                // cannot help.
                return new DindException(ErrorIds.KubernetesApiError, DindErrorCategory.ConnectionError,
                    $"The TLS handshake with the Kubernetes API server at {server} failed during {operation}: {tls.Message}",
                    target: server, inner: e,
                    recommendedAction: "Check that the kubeconfig's certificate-authority-data is the CA that signed the API server's certificate and that the certificate names the address in use.");
            case HttpRequestException or SocketException or IOException:
                return new KubernetesTransientException(new DindException(ErrorIds.KubernetesApiError, DindErrorCategory.ConnectionError,
                    $"Cannot reach the Kubernetes API server at {server} ({operation}): {Innermost(e).Message}",
                    target: server, inner: e,
                    recommendedAction: "Check that the control-plane node runs and that kube-apiserver is up (crictl ps in the node, its log)."));
            case JsonException or ArgumentException or FormatException:
                return new DindException(ErrorIds.KubernetesApiError, DindErrorCategory.InvalidResult,
                    $"The Kubernetes API server at {server} sent an answer to {operation} that could not be read: {e.Message}",
                    target: target ?? server, inner: e);
            default:
                return new DindException(ErrorIds.KubernetesApiError, DindErrorCategory.InvalidOperation,
                    $"Kubernetes {operation} failed: {e.Message}", target: target ?? server, inner: e);
        }
    }

    public static KubernetesTransientException Timeout(string server, string operation, TimeSpan timeout) =>
        new(new DindException(ErrorIds.KubernetesApiError, DindErrorCategory.OperationTimeout,
            $"The Kubernetes API server at {server} did not answer {operation} within {timeout.TotalSeconds:0.#} s.",
            target: server,
            recommendedAction: "Check that kube-apiserver is healthy (its log in the control-plane node)."));

    public static bool IsNotFound(Exception e) => e is HttpOperationException { Response.StatusCode: HttpStatusCode.NotFound };

    private static Exception FromStatus(HttpOperationException e, string server, string operation, string? target)
    {
        var status = e.Response?.StatusCode ?? 0;
        var code = (int)status;
        var detail = StatusMessage(e.Response?.Content) ?? status.ToString();
        var message = $"The Kubernetes API server at {server} answered {operation} with {code} ({status}): {detail}";
        if (code >= 500 || status == HttpStatusCode.TooManyRequests)
            return new KubernetesTransientException(new DindException(ErrorIds.KubernetesApiError, DindErrorCategory.ResourceUnavailable,
                message, target: server, inner: e,
                recommendedAction: "The API server is starting or overloaded; check kube-apiserver and etcd in the control-plane node."));
        return status switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new DindException(ErrorIds.KubernetesApiError, DindErrorCategory.PermissionDenied,
                message, target: target ?? server, inner: e,
                recommendedAction: "Use the cluster's admin kubeconfig (/etc/kubernetes/admin.conf of the control-plane node); its credentials may be for another cluster."),
            HttpStatusCode.NotFound => new DindException(ErrorIds.KubernetesApiError, DindErrorCategory.ObjectNotFound,
                message, target: target ?? server, inner: e),
            HttpStatusCode.Conflict => new DindException(ErrorIds.KubernetesApiError, DindErrorCategory.ResourceBusy,
                message, target: target ?? server, inner: e),
            _ => new DindException(ErrorIds.KubernetesApiError, DindErrorCategory.InvalidOperation,
                message, target: target ?? server, inner: e),
        };
    }

    /// <summary>The API server's error body is a Status object, {"kind":"Status","message":"…"}: the same shape as dockerd's.</summary>
    internal static string? StatusMessage(string? body)
    {
        var text = Docker.DockerErrors.DaemonMessage(body);
        return text is { Length: > 300 } ? text[..300] + "…" : text;
    }

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
            if (e is T t) return t;
        return null;
    }

    internal static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
