using System.Security.Cryptography;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Rendering;

/// <summary>Every Kubernetes-side file of one cluster, from its spec and address plan.</summary>
public static class KubernetesConfigs
{
    private const string TokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>
    /// kubeadm init for node 1, kubeadm join for every other node, and the Calico files when the spec's CNI is
    /// calico. <paramref name="caCertHash"/> is null before init has run (joins then skip CA pinning); the lab
    /// flow renders the joins again with the hash it read from the control plane.
    /// </summary>
    public static IEnumerable<RenderedConfig> ForCluster(DindClusterSpec spec, AddressPlan plan, string bootstrapToken, string? caCertHash)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.NodeAddresses.Count == 0)
            throw new ArgumentException("plan: the address plan has no nodes, so there is no control plane to render for.", nameof(plan));

        // Unset fields take the planner's defaults, as they did when the plan was made.
        spec = SpecDefaults.Complete(spec);

        // Rendered eagerly so that a bad input throws here, not halfway through a caller's loop.
        var options = KubeadmOptions.From(spec, plan, bootstrapToken);
        var files = new List<RenderedConfig> { KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]) };
        files.AddRange(plan.NodeAddresses.Skip(1).Select(node => KubeadmRenderer.RenderJoin(options, node, caCertHash)));
        if (spec.Cni == "calico")
            files.AddRange(CalicoRenderer.Render(CalicoOptions.From(spec, plan)));
        return files;
    }

    /// <summary>
    /// A fresh bootstrap token, [a-z0-9]{6}.[a-z0-9]{16} as kubeadm requires. <paramref name="random"/> returns a
    /// value in [0, n) and exists for tests; the default is RandomNumberGenerator, since the token authenticates joins.
    /// </summary>
    public static string NewBootstrapToken(Func<int, int>? random = null)
    {
        random ??= RandomNumberGenerator.GetInt32;
        var chars = new char[23];
        for (var i = 0; i < chars.Length; i++)
        {
            if (i == 6)
            {
                chars[i] = '.';
                continue;
            }
            var n = random(TokenAlphabet.Length);
            if (n < 0 || n >= TokenAlphabet.Length)
                throw new ArgumentOutOfRangeException(nameof(random), n, $"random(n) must return a value in [0, {TokenAlphabet.Length}).");
            chars[i] = TokenAlphabet[n];
        }
        return new string(chars);
    }
}
