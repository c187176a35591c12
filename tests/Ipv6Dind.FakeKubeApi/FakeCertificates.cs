using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ipv6Dind.FakeKubeApi;

/// <summary>
/// The fake's PKI, made in memory: a CA, a server certificate for [::1] / 127.0.0.1 / localhost (plus any extra
/// names asked for) and an admin client certificate (CN kubernetes-admin, O system:masters, as kubeadm's
/// admin.conf has). RSA keys with PKCS#1 PEM, as kubeadm writes them.
/// </summary>
public sealed class FakeCertificates
{
    private static readonly Lazy<FakeCertificates> SharedDefault = new(() => new FakeCertificates([]));

    /// <summary>One set per process for the default names (key generation costs; tests start many servers).</summary>
    public static FakeCertificates Default => SharedDefault.Value;

    public static FakeCertificates Create(IEnumerable<string> extraServerNames) => new(extraServerNames);

    private FakeCertificates(IEnumerable<string> extraServerNames)
    {
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = notBefore.AddDays(2);

        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=ipv6dind-fake-kubernetes-ca", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        Ca = caRequest.CreateSelfSigned(notBefore, notAfter.AddDays(1));
        CaPem = Ca.ExportCertificatePem() + "\n";
        // kubeadm join's --discovery-token-ca-cert-hash: SHA-256 of the CA's SubjectPublicKeyInfo.
        CaCertHash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Ca.PublicKey.ExportSubjectPublicKeyInfo()));

        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.IPv6Loopback);
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        san.AddDnsName("kubernetes");
        foreach (var name in extraServerNames)
        {
            if (IPAddress.TryParse(name, out var ip)) san.AddIpAddress(ip);
            else san.AddDnsName(name);
        }
        Server = Issue("CN=kube-apiserver", san.Build(), new Oid("1.3.6.1.5.5.7.3.1"), notBefore, notAfter, caKey, out _);
        Client = Issue("CN=kubernetes-admin, O=system:masters", null, new Oid("1.3.6.1.5.5.7.3.2"), notBefore, notAfter, caKey, out var clientKeyPem);
        ClientCertificatePem = Client.ExportCertificatePem() + "\n";
        ClientKeyPem = clientKeyPem;
    }

    private X509Certificate2 Issue(string subject, X509Extension? san, Oid usage, DateTimeOffset notBefore, DateTimeOffset notAfter,
        RSA caKey, out string keyPem)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Ca, true, false));
        if (san is not null) request.CertificateExtensions.Add(san);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var signed = request.Create(Ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1), notBefore, notAfter, serial);
        keyPem = key.ExportRSAPrivateKeyPem() + "\n";
        // Through PKCS#12 so that the private key is usable by SslStream on every platform.
        using var withKey = signed.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    public X509Certificate2 Ca { get; }
    public string CaPem { get; }
    /// <summary>"sha256:&lt;hex&gt;", what kubeadm join's --discovery-token-ca-cert-hash takes.</summary>
    public string CaCertHash { get; }
    public X509Certificate2 Server { get; }
    public X509Certificate2 Client { get; }
    public string ClientCertificatePem { get; }
    public string ClientKeyPem { get; }

    /// <summary>True when <paramref name="certificate"/> was issued by this CA (client certificate authentication).</summary>
    public bool Issued(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
