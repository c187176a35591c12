using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Docker.DotNet;
using Microsoft.Net.Http.Client;

namespace Ipv6Dind.Core.Docker;

/// <summary>
/// Plain (no TLS) credentials that also switch off proxy lookup: Docker.DotNet's handler would otherwise send
/// tcp:// requests through HTTP_PROXY, which is never where a lab's daemon is.
/// </summary>
internal sealed class PlainDockerCredentials : Credentials
{
    public override bool IsTlsCredentials() => false;

    public override HttpMessageHandler GetHandler(HttpMessageHandler innerHandler)
    {
        if (innerHandler is ManagedHandler managed) managed.UseProxy = false;
        return innerHandler;
    }

    public override void Dispose() { }
}

/// <summary>
/// TLS the way DOCKER_TLS_VERIFY means it: our client certificate from cert.pem/key.pem, and the daemon's
/// certificate checked against ca.pem alone (not the system store: a daemon's CA is its own) and against the
/// host name. Written here rather than taken from Docker.DotNet.X509 because that package's credentials trust the
/// system store unless given a callback, and this is the whole of what we need from it.
/// </summary>
internal sealed class TlsDockerCredentials : Credentials
{
    private readonly X509Certificate2 _client;
    private readonly X509Certificate2Collection _ca;

    public TlsDockerCredentials(DockerTlsFiles files)
    {
        try
        {
            _client = X509Certificate2.CreateFromPemFile(files.CertificatePath, files.KeyPath);
            _ca = new X509Certificate2Collection();
            _ca.ImportFromPemFile(files.CaPath);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new DindException(ErrorIds.DockerHostInvalid, DindErrorCategory.InvalidArgument,
                $"The TLS files for the Docker endpoint cannot be read ({files.CertificatePath}, {files.KeyPath}, {files.CaPath}): {e.Message}",
                target: files.CertificatePath, parameterName: "DOCKER_CERT_PATH", inner: e);
        }
        if (_ca.Count == 0)
            throw new DindException(ErrorIds.DockerHostInvalid, DindErrorCategory.InvalidArgument,
                $"{files.CaPath} holds no certificate.", target: files.CaPath, parameterName: "DOCKER_CERT_PATH");
    }

    public override bool IsTlsCredentials() => true;

    public override HttpMessageHandler GetHandler(HttpMessageHandler innerHandler)
    {
        if (innerHandler is not ManagedHandler managed)
            throw new NotSupportedException("Docker.DotNet did not give a ManagedHandler; TLS cannot be configured.");
        managed.UseProxy = false;
        managed.ClientCertificates = new X509CertificateCollection { _client };
        managed.ServerCertificateValidationCallback = ValidateServer;
        return managed;
    }

    private bool ValidateServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null) return false;
        // A name mismatch or a missing certificate is fatal whatever the chain says.
        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0) return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
            foreach (var element in chain.ChainElements.Skip(1)) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        using var server = new X509Certificate2(certificate);
        return custom.Build(server);
    }

    public override void Dispose()
    {
        _client.Dispose();
        foreach (var c in _ca) c.Dispose();
    }
}
