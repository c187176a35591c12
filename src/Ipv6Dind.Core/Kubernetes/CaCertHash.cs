using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ipv6Dind.Core.Kubernetes;

/// <summary>
/// kubeadm's CA pin: "sha256:" + hex of SHA-256 over the CA certificate's DER SubjectPublicKeyInfo
/// (cmd/kubeadm/app/util/pubkeypin: Hash(certificate) = sha256 of RawSubjectPublicKeyInfo), the value
/// `kubeadm init` prints as --discovery-token-ca-cert-hash and JoinConfiguration's caCertHashes takes.
/// </summary>
public static class CaCertHash
{
    public static string FromPem(string pem)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw new DindException(ErrorIds.KubeadmFailed, DindErrorCategory.InvalidData,
                $"The cluster CA certificate written by kubeadm init is not a PEM certificate: {e.Message}", "ca.crt", inner: e);
        }
        using (certificate)
        {
            var spki = certificate.PublicKey.ExportSubjectPublicKeyInfo();
            return "sha256:" + Convert.ToHexString(SHA256.HashData(spki)).ToLowerInvariant();
        }
    }
}
