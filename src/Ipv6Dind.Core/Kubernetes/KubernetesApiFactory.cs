using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Exceptions;

namespace Ipv6Dind.Core.Kubernetes;

public static class KubernetesApiFactory
{
    /// <summary>
    /// A client for the cluster of <paramref name="kubeconfigYaml"/> (as kubeadm writes admin.conf: CA data and a
    /// client certificate/key, or a token), using its current context. <paramref name="serverOverride"/> replaces the
    /// cluster's server URL (a lab publishes its API server on https://[::1]:port). Nothing is sent until the first
    /// call. A kubeconfig that cannot be used fails here with KubeconfigInvalid (InvalidData).
    /// </summary>
    public static IKubernetesApi FromKubeconfig(string kubeconfigYaml, string? serverOverride = null, KubernetesApiOptions? options = null)
    {
        // Our own reading first: its messages name the field that is wrong, KubernetesClient's often do not.
        Kubeconfig.Validate(kubeconfigYaml, nameof(kubeconfigYaml), requireContext: true);
        if (serverOverride is not null && !Kubeconfig.IsServerUrl(serverOverride))
            throw new DindException(ErrorIds.KubeconfigInvalid, DindErrorCategory.InvalidArgument,
                $"serverOverride: '{serverOverride}' is not an absolute http(s) URL.", serverOverride, nameof(serverOverride),
                "Give the API server's URL, for example https://[::1]:6443.");

        KubernetesClientConfiguration configuration;
        try
        {
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(kubeconfigYaml));
            var model = KubernetesClientConfiguration.LoadKubeConfig(stream)
                ?? throw new KubeConfigException("the document is empty");
            configuration = KubernetesClientConfiguration.BuildConfigFromConfigObject(model, currentContext: null, masterUrl: serverOverride);
            if (configuration.Host.StartsWith("https:", StringComparison.OrdinalIgnoreCase) && !configuration.SkipTlsVerify && configuration.SslCaCerts is null)
                throw new KubeConfigException("the cluster entry has no certificate-authority-data (nor certificate-authority) to verify the API server with");
        }
        catch (Exception e) when (e is KubeConfigException or YamlDotNet.Core.YamlException or FormatException
                                      or CryptographicException or ArgumentException or IOException or InvalidOperationException)
        {
            throw Invalid(nameof(kubeconfigYaml), $"it cannot be used: {e.Message}", e);
        }

        try
        {
            // The client reads the client certificate and key here, so bad key data fails now, not at the first call.
            return new KubernetesApi(configuration, options ?? KubernetesApiOptions.Default);
        }
        catch (Exception e) when (e is KubeConfigException or CryptographicException or ArgumentException or FormatException)
        {
            throw Invalid(nameof(kubeconfigYaml), $"it cannot be used: {e.Message}", e);
        }
    }

    internal static DindException Invalid(string parameterName, string problem, Exception? inner = null) =>
        new(ErrorIds.KubeconfigInvalid, DindErrorCategory.InvalidData,
            $"{parameterName}: the kubeconfig is not valid; {problem}", target: parameterName, parameterName: parameterName,
            recommendedAction: "Give a kubeconfig as kubeadm writes it (/etc/kubernetes/admin.conf): apiVersion v1, kind Config, "
                + "clusters with server and certificate-authority-data, users with client-certificate-data/client-key-data or a token, "
                + "and a current-context naming one of its contexts.",
            inner: inner);
}
