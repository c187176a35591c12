<#
.SYNOPSIS
    The README's first command (until the lab cmdlets arrive): plan a 3-node IPv6-only cluster and show
    every address it would get, its spec file and its kubeadm configuration. Creates nothing but files in
    a temporary folder, which it removes again.

.EXAMPLE
    dotnet run --project src/Ipv6Dind.Host -- examples/show-plan.ps1
#>
[CmdletBinding()]
param(
    [string] $Name = 'demo',
    [int] $Nodes = 3,
    # The simulated outside world's resolver in tests and demos; on a real host give your own resolver.
    [string[]] $Dns64Upstream = @('198.51.100.53')
)

$ErrorActionPreference = 'Stop'

$spec = New-DindClusterSpec -Name $Name -Nodes $Nodes -Dns64Upstream $Dns64Upstream
$spec

$spec | Get-DindAddressPlan

# DNS64 synthesizes this address for an IPv4-only web server at 198.51.100.80; NAT64 translates it back.
ConvertTo-Nat64Address -IPv4Address 198.51.100.80 -Prefix $spec.Nat64Prefix

$folder = Join-Path ([System.IO.Path]::GetTempPath()) "ipv6dind-$Name-$PID"
try {
    $spec | Export-DindClusterSpec -Path (Join-Path $folder "$Name.yaml") -PassThru
    $spec | New-KubeadmConfig -OutputDirectory $folder
}
finally {
    if (Test-Path -LiteralPath $folder) { Remove-Item -LiteralPath $folder -Recurse -Force }
}
