@{
    # The module's root is the cmdlet assembly; its dependencies load in their own AssemblyLoadContext
    # (see src/Ipv6Dind/LoadContext.cs). Built layout: out/Ipv6Dind/ (build.ps1, or any dotnet build).
    RootModule           = 'bin/Ipv6Dind.dll'
    ModuleVersion        = '0.3.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '5f0d6c1e-3b7a-4e55-9a61-2b8e7d0c64a9'
    Author               = 'Ipv6Dind contributors'
    CompanyName          = 'Ipv6Dind contributors'
    Copyright            = '(c) Ipv6Dind contributors. Apache License 2.0.'
    Description          = 'IPv6-only Kubernetes-in-Docker labs with DNS64/NAT64 on one Linux Docker host: the network lab itself (bind9 DNS64, tayga NAT64, IPv6-only nodes, routes, checks), address planning and validation, spec files (including kubeadm-dind-cluster and Lazyjack settings), and the bind9, tayga, CNI, kubeadm, kubelet, kube-proxy, CoreDNS, ndppd, Calico and Docker configs such a lab needs.'
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('Ipv6Dind.Format.ps1xml')
    CmdletsToExport      = @(
        'New-DindClusterSpec'
        'Import-DindClusterSpec'
        'Export-DindClusterSpec'
        'Get-DindAddressPlan'
        'ConvertTo-Nat64Address'
        'ConvertFrom-Nat64Address'
        'Split-Ipv6Prefix'
        'New-KubeadmConfig'
        'New-NdppdConfig'
        'New-CalicoConfig'
        'Build-DindImage'
        'New-DindCluster'
        'Get-DindCluster'
        'Remove-DindCluster'
        'Get-DindNode'
        'Get-DindRoute'
        'Sync-DindRoute'
        'Test-DindCluster'
        'Invoke-DindCommand'
        'Start-DindCluster'
        'Stop-DindCluster'
        'Get-Dns64'
        'Set-Dns64'
        'Set-Nat64Prefix'
        'Get-Nat64Mapping'
        'Add-DindNode'
        'Remove-DindNode'
        'Export-DindLog'
        'Reset-DindCluster'
        'Get-DindKubeconfig'
        'Copy-DindImage'
        'Test-DindHost'
        'Get-ConntrackHashsize'
        'Repair-ConntrackHashsize'
        'Enable-DockerIpv6'
        'Set-DockerIpv6Prefix'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('IPv6', 'Kubernetes', 'Docker', 'DNS64', 'NAT64', 'kubeadm', 'Lab', 'Linux', 'PSEdition_Core')
            LicenseUri   = 'https://www.apache.org/licenses/LICENSE-2.0'
            ProjectUri   = 'https://example.invalid/ipv6dind'
            ReleaseNotes = 'See CHANGELOG.md. 0.3.0: Kubernetes on the lab (kubeadm init/join over IPv6 on kindest/node-compatible images, CoreDNS to DNS64, kubeconfig, rebuild, image loading), host tooling (host checks, conntrack hashsize, Docker IPv6 and DHCPv6-PD, host routes), hardening (faults, locks, hostile input, completion, nightly rebuild). 0.2.0: the IPv6-only network lab on Docker (DNS64/NAT64 containers, IPv6-only nodes and routes, AAAA mode, checks, removal without debris). 0.1.0: address planning and validation, spec files, config renderers.'
        }
    }
}
