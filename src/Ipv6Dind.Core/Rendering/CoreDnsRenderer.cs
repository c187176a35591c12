using System.Text;

namespace Ipv6Dind.Core.Rendering;

/// <summary>What the cluster's Corefile says.</summary>
/// <param name="Dns64Address">The cluster's DNS64 server, where every name outside the cluster domain is forwarded.</param>
/// <param name="ServicePrefix">The service range (named in the header, for the reader).</param>
/// <param name="PodPrefix">The pod supernet (named in the header, for the reader).</param>
/// <param name="ClusterDomain">kubeadm's networking.dnsDomain.</param>
/// <param name="DisableClusterDomainCache">
/// kubeadm 1.32+ keeps the cluster domain out of CoreDNS's cache (kubernetes/kubernetes#128359); the CoreDNS
/// versions shipped with older releases may not know the option, so it follows the Kubernetes version.
/// </param>
/// <param name="ClusterName">Named in the header only.</param>
public sealed record CoreDnsOptions(
    string Dns64Address,
    string ServicePrefix,
    string PodPrefix,
    string ClusterDomain = "cluster.local",
    bool DisableClusterDomainCache = true,
    string ClusterName = "")
{
    /// <summary>Kubernetes release from which kubeadm's Corefile has the cache "disable" block.</summary>
    public static readonly Version CacheDisableSince = new(1, 32);

    /// <summary>Options from the plan; <paramref name="kubernetesVersion"/> ("v1.33.0") picks the cache block, default: present.</summary>
    public static CoreDnsOptions From(AddressPlan plan, string? kubernetesVersion = null, string clusterDomain = "cluster.local") =>
        new(plan.Dns64Address, plan.ServicePrefix, plan.PodPrefix, clusterDomain,
            ParseKubernetesVersion(kubernetesVersion) is not { } v || v >= CacheDisableSince, plan.ClusterName);

    private static Version? ParseKubernetesVersion(string? text)
    {
        var t = (text ?? "").Trim().TrimStart('v', 'V');
        var end = t.IndexOfAny(new[] { '-', '+' });
        if (end >= 0) t = t[..end];
        return Version.TryParse(t, out var v) ? new Version(v.Major, Math.Max(0, v.Minor)) : null;
    }
}

/// <summary>
/// Renders the Corefile of the cluster's CoreDNS (the "Corefile" key of ConfigMap kube-system/coredns, mounted
/// at /etc/coredns/Corefile). It is kubeadm's default Corefile (cmd/kubeadm/app/phases/addons/dns/manifests.go,
/// CoreDNSConfigMap) with one change: "forward ." goes to the cluster's DNS64 instead of the node's
/// /etc/resolv.conf, so pods get synthesized AAAA answers for IPv4-only names. The bare IPv6 address is what
/// the forward plugin expects (coredns plugin/pkg/parse HostPortOrFile adds [ ]:53 itself; brackets without
/// a port are rejected).
/// </summary>
public static class CoreDnsRenderer
{
    public const string Kind = "CoreDns";
    public const string FileName = "Corefile";
    public const string ContainerPath = "/etc/coredns/Corefile";

    public static RenderedConfig RenderCorefile(CoreDnsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dns64 = NetworkRenderText.Ipv6Address(options.Dns64Address, nameof(options.Dns64Address));
        var services = NetworkRenderText.Ipv6Prefix(options.ServicePrefix, nameof(options.ServicePrefix), ErrorIds.InvalidServicePrefix);
        var pods = NetworkRenderText.Ipv6Prefix(options.PodPrefix, nameof(options.PodPrefix), ErrorIds.InvalidPodPrefix);
        var domain = (options.ClusterDomain ?? "").Trim().TrimEnd('.').ToLowerInvariant();
        if (domain.Length == 0 || domain.Length > 253
            || domain.Split('.').Any(l => l.Length is 0 or > 63 || l.StartsWith('-') || l.EndsWith('-') || !l.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')))
            throw NetworkRenderText.Invalid(ErrorIds.InvalidClusterDomain, nameof(options.ClusterDomain), options.ClusterDomain,
                $"'{options.ClusterDomain}' is not a DNS domain such as cluster.local.");

        var sb = new StringBuilder();
        sb.Append("# Corefile of cluster '").Append(NetworkRenderText.Label(options.ClusterName)).Append("', ").Append(NetworkRenderText.GeneratedBy).Append(".\n");
        sb.Append("# kubeadm's default, except that names outside ").Append(domain).Append(" go to the cluster's DNS64\n");
        sb.Append("# instead of the node's /etc/resolv.conf. Pods ").Append(pods).Append(", services ").Append(services).Append(".\n");
        sb.Append(".:53 {\n");
        sb.Append("    errors\n");
        sb.Append("    health {\n");
        sb.Append("       lameduck 5s\n");
        sb.Append("    }\n");
        sb.Append("    ready\n");
        sb.Append("    kubernetes ").Append(domain).Append(" in-addr.arpa ip6.arpa {\n");
        sb.Append("       pods insecure\n");
        sb.Append("       fallthrough in-addr.arpa ip6.arpa\n");
        sb.Append("       ttl 30\n");
        sb.Append("    }\n");
        sb.Append("    prometheus :9153\n");
        sb.Append("    forward . ").Append(Addressing.Ipv6Prefix.Format(dns64)).Append(" {\n");
        sb.Append("       max_concurrent 1000\n");
        sb.Append("    }\n");
        if (options.DisableClusterDomainCache)
        {
            sb.Append("    cache 30 {\n");
            sb.Append("       disable success ").Append(domain).Append('\n');
            sb.Append("       disable denial ").Append(domain).Append('\n');
            sb.Append("    }\n");
        }
        else
        {
            sb.Append("    cache 30\n");
        }
        sb.Append("    loop\n");
        sb.Append("    reload\n");
        sb.Append("    loadbalance\n");
        sb.Append("}\n");

        return new RenderedConfig
        {
            ClusterName = options.ClusterName,
            Kind = Kind,
            FileName = FileName,
            ContainerPath = ContainerPath,
            Content = NetworkRenderText.Finish(sb.ToString()),
        };
    }
}
