namespace Ipv6Dind.Core.Rendering;

/// <summary>User-supplied kubeadm inputs (New-KubeadmConfig -Token/-CaCertHash/-NodeName), checked with user-facing errors.</summary>
public static class KubeadmInputs
{
    /// <summary>The given token when it is well formed, a fresh one when none is given.</summary>
    public static string Token(string? token)
    {
        if (string.IsNullOrEmpty(token)) return KubernetesConfigs.NewBootstrapToken();
        if (!KubernetesChecks.BootstrapTokenPattern().IsMatch(token))
            throw new DindException(ErrorIds.InvalidBootstrapToken, DindErrorCategory.InvalidArgument,
                "Token: a kubeadm bootstrap token is 6 then 16 characters from [a-z0-9] joined by a dot.", "(token hidden)", "Token",
                "Give a token such as abcdef.0123456789abcdef, or omit -Token to get a fresh one.");
        return token;
    }

    /// <summary>The CA hash in kubeadm's "sha256:&lt;64 hex&gt;" form, or null.</summary>
    public static string? CaCertHash(string? hash)
    {
        if (string.IsNullOrEmpty(hash)) return null;
        try { return KubeadmRenderer.NormalizeCaCertHash(hash); }
        catch (ArgumentException)
        {
            throw new DindException(ErrorIds.InvalidCaCertHash, DindErrorCategory.InvalidArgument,
                $"CaCertHash: '{hash}' is not a CA public key hash.", hash, "CaCertHash",
                "Give sha256:<64 hex digits>, as `kubeadm token create --print-join-command` prints it.");
        }
    }
}
