using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ipv6Dind.FakeKubeApi;

public sealed record FakeKubeApiOptions
{
    /// <summary>Where it listens; loopback only, by the test rules.</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.IPv6Loopback;
    /// <summary>0: a free port chosen by the kernel.</summary>
    public int Port { get; init; }
    public string KubernetesVersion { get; init; } = "v1.31.2";
    /// <summary>The bearer token it accepts; null: a random one.</summary>
    public string? Token { get; init; }
    /// <summary>Extra names (DNS or IP) for the server certificate besides ::1, 127.0.0.1, localhost and kubernetes.</summary>
    public IReadOnlyList<string> ExtraServerNames { get; init; } = [];
}

/// <summary>
/// TEST DOUBLE: a fake Kubernetes API server on loopback over HTTPS with its own in-memory CA, serving what the
/// module's KubernetesClient code uses (GET /version, GET /api/v1/nodes, GET/PATCH ConfigMap and Deployment
/// kube-system/coredns, GET/PATCH ConfigMap and DaemonSet kube-system/kube-proxy, GET /api/v1/namespaces/{ns}/pods). Requests need the bearer <see cref="Token"/> or a client
/// certificate of its CA (both are in the kubeconfigs it hands out), except /version. State is scripted through
/// <see cref="Cluster"/>, faults through <see cref="Faults"/>; <see cref="Requests"/> logs what it was asked.
/// </summary>
public sealed class FakeKubeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly FakeCertificates _certificates;
    private readonly List<FakeRequest> _requests = [];
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    private FakeKubeApiServer(WebApplication app, FakeCertificates certificates, FakeKubeApiOptions options, string token)
    {
        _app = app;
        _certificates = certificates;
        Token = token;
        Cluster = new FakeCluster(options.KubernetesVersion);
    }

    /// <summary>Starts a fake with no nodes and CoreDNS deployed (two replicas, available at once).</summary>
    public static async Task<FakeKubeApiServer> StartAsync(FakeKubeApiOptions? options = null, CancellationToken ct = default)
    {
        options ??= new FakeKubeApiOptions();
        var certificates = options.ExtraServerNames.Count == 0 ? FakeCertificates.Default : FakeCertificates.Create(options.ExtraServerNames);
        var token = options.Token ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(options.ListenAddress, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = certificates.Server;
                    // As kube-apiserver: a client certificate is optional; one the CA did not issue is simply not
                    // an identity (checked per request), not a handshake failure.
                    https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                    https.ClientCertificateValidation = (_, _, _) => true;
                });
            });
        });
        var app = builder.Build();
        var server = new FakeKubeApiServer(app, certificates, options, token);
        app.Run(server.HandleAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Port = new Uri(address).Port;
        var host = options.ListenAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{options.ListenAddress}]" : options.ListenAddress.ToString();
        server.Server = $"https://{host}:{server.Port}";
        return server;
    }

    /// <summary>A fake with these nodes (Ready after <paramref name="readyAfterPolls"/> node lists) and CoreDNS: a lab in one call.</summary>
    public static async Task<FakeKubeApiServer> StartWithNodesAsync(IEnumerable<string> nodeNames, int? readyAfterPolls = 0,
        FakeKubeApiOptions? options = null, CancellationToken ct = default)
    {
        var server = await StartAsync(options, ct).ConfigureAwait(false);
        server.Cluster.AddNodes(nodeNames, readyAfterPolls);
        return server;
    }

    /// <summary>https://[::1]:port</summary>
    public string Server { get; private set; } = "";
    public int Port { get; private set; }
    public FakeCluster Cluster { get; }
    public FakeFaults Faults { get; } = new();
    public string Token { get; }
    public string CaPem => _certificates.CaPem;
    /// <summary>What kubeadm join's --discovery-token-ca-cert-hash would be for this CA.</summary>
    public string CaCertHash => _certificates.CaCertHash;
    public string ClientCertificatePem => _certificates.ClientCertificatePem;
    public string ClientKeyPem => _certificates.ClientKeyPem;

    /// <summary>A kubeconfig for this fake with the bearer token (context kubernetes-admin@kubernetes, as kubeadm names it).</summary>
    public string Kubeconfig => CreateKubeconfig();

    /// <summary>The same with the admin client certificate and key instead of a token (as kubeadm's admin.conf).</summary>
    public string ClientCertificateKubeconfig => CreateKubeconfig(clientCertificate: true);

    /// <summary>
    /// A kubeconfig in kubeadm's admin.conf layout. <paramref name="server"/> replaces this fake's URL (an admin.conf
    /// names the node's own address; the module then overrides it with the published one).
    /// </summary>
    public string CreateKubeconfig(string? server = null, bool clientCertificate = false, string clusterName = "kubernetes", string userName = "kubernetes-admin")
    {
        static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        var credentials = clientCertificate
            ? $"""
                  client-certificate-data: {B64(ClientCertificatePem)}
                  client-key-data: {B64(ClientKeyPem)}
              """
            : $"""
                  token: {Token}
              """;
        return $"""
            apiVersion: v1
            clusters:
            - cluster:
                certificate-authority-data: {B64(CaPem)}
                server: {server ?? Server}
              name: {clusterName}
            contexts:
            - context:
                cluster: {clusterName}
                user: {userName}
              name: {userName}@{clusterName}
            current-context: {userName}@{clusterName}
            kind: Config
            preferences: {"{}"}
            users:
            - name: {userName}
              user:
            {credentials}

            """;
    }

    /// <summary>Every request so far, in arrival order.</summary>
    public IReadOnlyList<FakeRequest> Requests
    {
        get { lock (_requests) return _requests.ToList(); }
    }

    public void ClearRequests()
    {
        lock (_requests) _requests.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            await _app.StopAsync(stop.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    // ---- request handling ------------------------------------------------------------------------------------

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
            body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        var authentication = Authenticate(context);
        var path = request.Path.Value ?? "/";
        var logged = new FakeRequest(DateTimeOffset.UtcNow, request.Method, path,
            request.QueryString.HasValue ? request.QueryString.Value![1..] : null, request.ContentType, body, authentication);
        lock (_requests) _requests.Add(logged);

        if (Faults.Take(request.Method, path) is { } fault)
        {
            switch (fault.Kind)
            {
                case FakeFaultKind.DropConnection:
                    context.Abort();
                    return;
                case FakeFaultKind.Status:
                    await RespondAsync(context, logged, fault.StatusCode,
                        FakeJson.Status(fault.StatusCode, ReasonOf(fault.StatusCode), $"injected fault: {fault.StatusCode}")).ConfigureAwait(false);
                    return;
                case FakeFaultKind.Delay:
                    try { await Task.Delay(fault.Delay, context.RequestAborted).ConfigureAwait(false); }
                    catch (OperationCanceledException) { return; }
                    break;
            }
        }

        if (authentication == "none" && path.TrimEnd('/') != "/version")
        {
            await RespondAsync(context, logged, 401, FakeJson.Status(401, "Unauthorized", "Unauthorized")).ConfigureAwait(false);
            return;
        }

        var (status, answer) = Dispatch(request.Method, path, request.Query["labelSelector"].FirstOrDefault(), request.ContentType, body);
        await RespondAsync(context, logged, status, answer).ConfigureAwait(false);
    }

    private string Authenticate(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.FirstOrDefault();
        if (header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) &&
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[7..].Trim()), Encoding.UTF8.GetBytes(Token)))
            return "token";
        if (context.Connection.ClientCertificate is { } certificate && _certificates.Issued(certificate))
            return "certificate";
        return "none";
    }

    private (int Status, JsonObject Body) Dispatch(string method, string path, string? labelSelector, string? contentType, string body)
    {
        const string configMap = "/api/v1/namespaces/kube-system/configmaps/coredns";
        const string deployment = "/apis/apps/v1/namespaces/kube-system/deployments/coredns";
        const string proxyConfigMap = "/api/v1/namespaces/kube-system/configmaps/kube-proxy";
        const string proxyDaemonSet = "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy";
        // KubernetesClient asks for "/version/"; kube-apiserver answers with or without the slash.
        path = path.Length > 1 ? path.TrimEnd('/') : path;
        var segments = path.Trim('/').Split('/');
        try
        {
            switch (method, path)
            {
                case ("GET", "/version"):
                    return (200, FakeJson.Version(Cluster.KubernetesVersion));
                case ("GET", "/api/v1/nodes"):
                    return (200, Cluster.ListNodes());
                case ("GET", configMap):
                    return Found(Cluster.CoreDns.GetConfigMap(), "configmaps", "coredns");
                case ("PATCH", configMap):
                    return Patch(contentType, body, Cluster.CoreDns.PatchConfigMap, "configmaps", "coredns");
                case ("GET", deployment):
                    return Found(Cluster.CoreDns.GetDeployment(), "deployments.apps", "coredns");
                case ("PATCH", deployment):
                    return Patch(contentType, body, Cluster.CoreDns.PatchDeployment, "deployments.apps", "coredns");
                case ("GET", proxyConfigMap):
                    return Found(Cluster.KubeProxy.GetConfigMap(), "configmaps", "kube-proxy");
                case ("PATCH", proxyConfigMap):
                    return Patch(contentType, body, Cluster.KubeProxy.PatchConfigMap, "configmaps", "kube-proxy");
                case ("GET", proxyDaemonSet):
                    return Found(Cluster.KubeProxy.GetDaemonSet(), "daemonsets.apps", "kube-proxy");
                case ("PATCH", proxyDaemonSet):
                    return Patch(contentType, body, Cluster.KubeProxy.PatchDaemonSet, "daemonsets.apps", "kube-proxy");
                case ("DELETE", _) when segments is ["api", "v1", "nodes", var node]:
                    return Cluster.RemoveNode(node)
                        ? (200, FakeJson.Deleted("nodes", node))
                        : (404, FakeJson.Status(404, "NotFound", $"nodes \"{node}\" not found"));
                case ("GET", _) when segments is ["api", "v1", "namespaces", var ns, "pods"]:
                    return (200, Cluster.ListPods(ns, labelSelector));
                case ("GET" or "PATCH", _):
                    return (404, FakeJson.Status(404, "NotFound", $"the server could not find the requested resource (the fake serves no {path})"));
                default:
                    return (405, FakeJson.Status(405, "MethodNotAllowed", $"the fake does not support {method} {path}"));
            }
        }
        catch (NotSupportedException e)
        {
            return (422, FakeJson.Status(422, "Invalid", e.Message));
        }
    }

    private static (int, JsonObject) Found(JsonObject? item, string resource, string name) =>
        item is null ? (404, FakeJson.Status(404, "NotFound", $"{resource} \"{name}\" not found")) : (200, item);

    private static (int, JsonObject) Patch(string? contentType, string body, Func<JsonNode, JsonObject?> apply, string resource, string name)
    {
        var mediaType = contentType?.Split(';')[0].Trim();
        if (mediaType is not ("application/merge-patch+json" or "application/strategic-merge-patch+json"))
            return (415, FakeJson.Status(415, "UnsupportedMediaType",
                $"the fake applies merge and strategic merge patches only, not '{contentType}'"));
        JsonNode? patch;
        try { patch = JsonNode.Parse(body); }
        catch (JsonException e) { return (400, FakeJson.Status(400, "BadRequest", $"error decoding patch: {e.Message}")); }
        if (patch is not JsonObject)
            return (400, FakeJson.Status(400, "BadRequest", "a merge patch must be a JSON object"));
        return Found(apply(patch), resource, name);
    }

    private static async Task RespondAsync(HttpContext context, FakeRequest logged, int status, JsonObject body)
    {
        logged.StatusCode = status;
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(Compact), context.RequestAborted).ConfigureAwait(false);
    }

    private static string ReasonOf(int status) => status switch
    {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };
}
