namespace Ipv6Dind.Core.Docker;

/// <summary>
/// Where the daemon is and how to talk to it, resolved the way the docker CLI resolves it: an explicit host,
/// else DOCKER_HOST, else the default unix socket; DOCKER_TLS_VERIFY (or DOCKER_TLS) with DOCKER_CERT_PATH
/// (default ~/.docker) for a tcp endpoint behind client certificates.
/// </summary>
public sealed record DockerEndpoint
{
    public const string DefaultHost = "unix:///var/run/docker.sock";

    private DockerEndpoint(Uri uri, string display) { Uri = uri; Display = display; }

    /// <summary>What Docker.DotNet connects to (unix:///path or tcp://host:port).</summary>
    public Uri Uri { get; }
    /// <summary>The endpoint as a user would write it, for messages.</summary>
    public string Display { get; }
    /// <summary>Client certificate files and CA when the endpoint speaks TLS; null for plain.</summary>
    public DockerTlsFiles? Tls { get; private init; }

    public static DockerEndpoint Resolve(string? dockerHost) => Resolve(dockerHost, Environment.GetEnvironmentVariable);

    /// <summary><paramref name="getEnvironment"/> lets tests supply DOCKER_* without touching the process environment.</summary>
    public static DockerEndpoint Resolve(string? dockerHost, Func<string, string?> getEnvironment)
    {
        var host = !string.IsNullOrWhiteSpace(dockerHost) ? dockerHost.Trim()
            : getEnvironment("DOCKER_HOST") is { Length: > 0 } fromEnv ? fromEnv.Trim()
            : DefaultHost;

        if (!Uri.TryCreate(host, UriKind.Absolute, out var uri))
            throw Invalid(host, "it is not a URL");

        switch (uri.Scheme.ToLowerInvariant())
        {
            case "unix":
                // unix:///run/docker.sock: the path must be absolute; unix://relative puts it in the host part.
                if (!string.IsNullOrEmpty(uri.Host) || uri.AbsolutePath is not { Length: > 1 } path || !path.StartsWith('/'))
                    throw Invalid(host, "a unix endpoint needs an absolute socket path, e.g. unix:///var/run/docker.sock");
                return new DockerEndpoint(new Uri("unix://" + path), "unix://" + path);

            case "tcp":
                if (string.IsNullOrEmpty(uri.Host))
                    throw Invalid(host, "a tcp endpoint needs a host, e.g. tcp://127.0.0.1:2376");
                if (uri.AbsolutePath is { Length: > 1 })
                    throw Invalid(host, "a tcp endpoint takes no path");
                var tls = TlsFiles(host, getEnvironment);
                // Docker's own defaults when the port is left out: 2376 with TLS, 2375 without.
                var port = uri.IsDefaultPort || uri.Port <= 0 ? (tls is null ? 2375 : 2376) : uri.Port;
                var hostPart = uri.HostNameType == UriHostNameType.IPv6 ? $"[{uri.DnsSafeHost}]" : uri.Host;
                var normalized = $"tcp://{hostPart}:{port}";
                return new DockerEndpoint(new Uri(normalized), normalized) { Tls = tls };

            case "ssh":
                throw Invalid(host, "ssh:// endpoints are not supported; forward the remote socket (ssh -L /tmp/docker.sock:/var/run/docker.sock host) and set DOCKER_HOST=unix:///tmp/docker.sock");
            case "npipe":
                throw Invalid(host, "named pipes exist only on Windows; this module runs its labs on Linux");
            default:
                throw Invalid(host, $"the scheme '{uri.Scheme}' is not one of unix:// or tcp://");
        }
    }

    /// <summary>
    /// DOCKER_TLS_VERIFY or DOCKER_TLS turns TLS on. Unlike the CLI, DOCKER_TLS alone does not skip checking the
    /// daemon's certificate: it is still checked against ca.pem, because unverified TLS is not offered here.
    /// </summary>
    private static DockerTlsFiles? TlsFiles(string host, Func<string, string?> getEnvironment)
    {
        var verify = !string.IsNullOrEmpty(getEnvironment("DOCKER_TLS_VERIFY"));
        var tls = verify || !string.IsNullOrEmpty(getEnvironment("DOCKER_TLS"));
        if (!tls) return null;

        var certPath = getEnvironment("DOCKER_CERT_PATH") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker");
        var files = new DockerTlsFiles(Path.Combine(certPath, "ca.pem"), Path.Combine(certPath, "cert.pem"), Path.Combine(certPath, "key.pem"));
        foreach (var file in new[] { files.CaPath, files.CertificatePath, files.KeyPath })
            if (!File.Exists(file))
                throw Invalid(host, $"TLS is requested (DOCKER_TLS_VERIFY/DOCKER_TLS) but {file} does not exist; set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem");
        return files;
    }

    private static DindException Invalid(string host, string why) =>
        new(ErrorIds.DockerHostInvalid, DindErrorCategory.InvalidArgument,
            $"The Docker endpoint '{host}' is not usable: {why}.",
            target: host, parameterName: "DOCKER_HOST",
            recommendedAction: "Set DOCKER_HOST to unix:///path/to/docker.sock or tcp://host:port, or unset it to use unix:///var/run/docker.sock.");

    // Whether the daemon runs on this machine is not a property of the scheme (a unix path can be a forward to
    // another host): Host/DaemonLocality.cs decides it from /proc.

    public override string ToString() => Display;
}

/// <summary>PEM files of a TLS endpoint: the CA that signed the daemon's certificate, and our client pair.</summary>
public sealed record DockerTlsFiles(string CaPath, string CertificatePath, string KeyPath);
