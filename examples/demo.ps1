<#
.SYNOPSIS
    The README's demo: an IPv6-only lab whose nodes resolve and fetch an IPv4-only web site through DNS64/NAT64.
    Run by examples/demo.sh (in `dotnet pwsh`) after it started Docker and the simulated outside world.

.EXAMPLE
    PSModulePath="$PWD/out" dotnet pwsh -NoProfile -File examples/demo.ps1   (after dotnet tool restore and a build)
#>
[CmdletBinding()]
param(
    [Alias('Name')] [string] $ClusterName = 'demo',
    [int] $Nodes = 2,
    # The outside world's resolver (examples/outside-world); on a real host, your own resolver.
    [string] $Dns64Upstream = '198.51.100.53'
)

$ErrorActionPreference = 'Stop'

# Images are built once, offline, from Debian packages; later runs find them cached.
Build-DindImage | Out-Host

if (Get-DindCluster | Where-Object ClusterName -eq $ClusterName) {
    Remove-DindCluster $ClusterName -Confirm:$false
}
New-DindCluster -ClusterName $ClusterName -Nodes $Nodes -NetworkOnly -Dns64Upstream $Dns64Upstream | Out-Host
Get-DindCluster $ClusterName | Get-DindNode | Out-Host

# Every check of the lab, from inside its own containers.
Test-DindCluster $ClusterName -ProbeName www.example.test -ProbeUrl http://www.example.test/ -AaaaProbeName dual.example.test | Out-Host

# The point of it all: an IPv6-only node asks for www.example.test (A record only) and gets an address inside the
# NAT64 prefix; fetching it goes through tayga to 198.51.100.80.
$node = "$ClusterName-node-1"
Invoke-DindCommand $ClusterName $node dig +short AAAA www.example.test | Out-Host
Invoke-DindCommand $ClusterName $node curl -sS --max-time 5 http://www.example.test/ | Out-Host
Get-Nat64Mapping $ClusterName | Out-Host
