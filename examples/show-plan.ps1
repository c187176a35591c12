<#
.SYNOPSIS
    The README's first command (until the lab cmdlets arrive): plan a 3-node IPv6-only cluster and show
    every address it would get, its spec file and its kubeadm configuration. Creates nothing but files in
    a temporary folder, which it removes again.

.EXAMPLE
    PSModulePath="$PWD/out" dotnet pwsh -NoProfile -File examples/show-plan.ps1
#>
[CmdletBinding()]
param(
    [Alias('Name')] [string] $ClusterName = 'demo',
    [int] $Nodes = 3,
    # The simulated outside world's resolver in tests and demos; on a real host give your own resolver.
    [string[]] $Dns64Upstream = @('198.51.100.53')
)

$ErrorActionPreference = 'Stop'

# Each result goes to Out-Host on its own, so that each type gets its table view (a script's mixed output
# would show every type after the first as a list).
$spec = New-DindClusterSpec -ClusterName $ClusterName -Nodes $Nodes -Dns64Upstream $Dns64Upstream
$spec | Out-Host

$spec | Get-DindAddressPlan | Out-Host

# DNS64 synthesizes this address for an IPv4-only web server at 198.51.100.80; NAT64 translates it back.
ConvertTo-Nat64Address -IPv4Address 198.51.100.80 -Nat64Prefix $spec.Nat64Prefix | Out-Host

$folder = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "ipv6dind-$ClusterName-$PID")
try {
    $spec | Export-DindClusterSpec -Path ([System.IO.Path]::Combine($folder, "$ClusterName.yaml")) -PassThru | Out-Host
    $spec | New-KubeadmConfig -OutputDirectory $folder | Out-Host
}
finally {
    if ([System.IO.Directory]::Exists($folder)) { [System.IO.Directory]::Delete($folder, $true) }
}
