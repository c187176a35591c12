namespace Ipv6Dind.Core.Rendering;

/// <summary>
/// Every network-side file of one cluster, in bring-up order: the DNS64's named.conf, the NAT64's tayga.conf,
/// one CNI conflist per node (bridge or ptp; none for Calico, which installs its own), and CoreDNS's Corefile.
/// Host-level files (daemon.json, ndppd.conf) are not per cluster and are rendered on request only.
/// </summary>
public static class NetworkConfigs
{
    public static IEnumerable<RenderedConfig> ForCluster(DindClusterSpec spec, AddressPlan plan)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(plan);
        var cni = (spec.Cni ?? "").Trim().ToLowerInvariant();
        if (cni.Length == 0) cni = "bridge";
        if (cni != "calico" && !CniRenderer.Plugins.Contains(cni))
            throw NetworkRenderText.Invalid(ErrorIds.InvalidCni, nameof(spec.Cni), spec.Cni,
                $"'{spec.Cni}' is not a CNI plugin Ipv6Dind knows (bridge, ptp or calico).");

        // Rendered eagerly, so that a bad value fails the call rather than a later enumeration.
        var configs = new List<RenderedConfig>
        {
            Bind9Renderer.Render(Dns64Options.From(plan)),
            TaygaRenderer.Render(Nat64Options.From(plan)),
        };
        if (cni != "calico")
            configs.AddRange(plan.NodeAddresses.Select(node => CniRenderer.Render(CniOptions.From(plan, node, cni))));
        configs.Add(CoreDnsRenderer.RenderCorefile(CoreDnsOptions.From(plan, spec.KubernetesVersion)));
        return configs;
    }
}
