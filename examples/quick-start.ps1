<#
.SYNOPSIS
    Quick start: from a fresh Linux host to a validated IPv6-only lab, one step at a time, and away again.

.DESCRIPTION
    The README's walkthrough "From a fresh host to a validated lab" as a script. Each step says what it does; read
    it first, then run it in pwsh (7.4 or later):

        pwsh ./examples/quick-start.ps1 -Dns64Upstream 198.51.100.53
        IPV6DIND_MODULE=$PWD/out/Ipv6Dind/Ipv6Dind.psd1 pwsh ./examples/quick-start.ps1 -Keep     # a build tree's module

    It imports the module itself: the one already loaded, else $env:IPV6DIND_MODULE (a module manifest), else the
    installed module by name (Import-Module Ipv6Dind).

    1. Test-DindHost       what this host lacks (IPv6, forwarding, swap, Docker, modules, conntrack, ...); stops
                           here when something fails, with each remedy
    2. Build-DindImage     the dns64 (bind9), nat64 (tayga) and node images, offline from Debian packages; cached
    3. New-DindCluster     the lab: a network lab (-NetworkOnly) by default, Kubernetes with -NodeImage
    4. Test-DindCluster    every check, from inside the lab's own containers
    5. Remove-DindCluster  everything again (containers, network, volumes, host rules), unless -Keep

    The Kubernetes variant needs a kindest/node-compatible image already in Docker (images are never pulled):

        docker pull kindest/node:v1.31.2        # on a machine with a registry, or docker load it
        pwsh ./examples/quick-start.ps1 -NodeImage kindest/node:v1.31.2 -Keep
        kubectl --context ipv6dind-quickstart get nodes -o wide

    Exit codes: 0 every check passed (the lab was removed unless -Keep), 1 a host check failed (nothing was
    created), 2 a lab check failed, 3 the module could not be imported; a failed bring-up ends the script with
    its error (pwsh exits 1) after the cmdlet removed what it made.

.EXAMPLE
    ./examples/quick-start.ps1 -Name try -Nodes 3 -Dns64Upstream 198.51.100.53 -Keep
#>
[CmdletBinding()]
param(
    [string] $Name = 'quickstart',
    [int] $Nodes = 2,
    # The resolver DNS64 forwards to. Default: the host's own non-loopback resolvers (never a public one).
    [string[]] $Dns64Upstream,
    # A kindest/node-compatible image: Kubernetes on the lab instead of a network lab.
    [string] $NodeImage,
    # Leave the lab up at the end (remove it later with Remove-DindCluster <name>).
    [switch] $Keep,
    # Go on even when Test-DindHost reports failures.
    [switch] $Force
)

$ErrorActionPreference = 'Stop'

# 0. The module: the one loaded, else $env:IPV6DIND_MODULE (never silently another one when it is set), else by name.
if (-not (Get-Module Ipv6Dind)) {
    $module = if ($env:IPV6DIND_MODULE) { $env:IPV6DIND_MODULE } else { 'Ipv6Dind' }
    try {
        Import-Module $module -ErrorAction Stop
    }
    catch {
        $from = if ($env:IPV6DIND_MODULE) { "from IPV6DIND_MODULE=$($env:IPV6DIND_MODULE)" } else { 'by name (IPV6DIND_MODULE is not set)' }
        [Console]::Error.WriteLine("quick-start: the Ipv6Dind module could not be imported ${from}: $($_.Exception.Message)")
        [Console]::Error.WriteLine('quick-start: set IPV6DIND_MODULE to its manifest (out/Ipv6Dind/Ipv6Dind.psd1 after dotnet build Ipv6Dind.sln -c Release) or install it where Import-Module Ipv6Dind finds it ($env:PSModulePath).')
        exit 3
    }
}

function Show-Step([string] $Text) { "`n==> $Text" | Out-Host }

# 1. The host. Read-only: it changes nothing, every failure comes with its remedy (see the README's Troubleshooting).
Show-Step 'Test-DindHost: what this host lacks'
$hostChecks = @(Test-DindHost)
$hostChecks | Out-Host
$failed = @($hostChecks | Where-Object { -not $_.Passed })
if ($failed.Count -gt 0 -and -not $Force) {
    "`n$($failed.Count) host check(s) failed; fix them (each Remedy says how) or run again with -Force:" | Out-Host
    foreach ($f in $failed) { "  $($f.Target) $($f.Check): $($f.Remedy)" | Out-Host }
    exit 1
}

# 2. Images: built offline (debootstrap + Debian packages) the first time, about two minutes; later runs find them.
Show-Step 'Build-DindImage: the dns64, nat64 and node images'
Build-DindImage | Out-Host

# 3. The lab. -WhatIf would show the plan without creating anything; any failure or Ctrl-C removes what was made.
$new = @{ Name = $Name; Nodes = $Nodes }
if ($Dns64Upstream) { $new.Dns64Upstream = $Dns64Upstream }
if ($NodeImage) {
    Show-Step "New-DindCluster ${Name}: $Nodes Kubernetes node(s) from $NodeImage"
    $new.NodeImage = $NodeImage
    $new.Cni = 'ptp'
}
else {
    Show-Step "New-DindCluster ${Name}: a network lab with $Nodes IPv6-only node(s), DNS64 and NAT64"
    $new.NetworkOnly = $true
}
New-DindCluster @new | Out-Host
Get-DindCluster $Name | Get-DindNode | Out-Host

# 4. Validate: containers, IPv6-only nodes, DNS64 synthesis, NAT64, routes (and Kubernetes when it is there).
Show-Step "Test-DindCluster ${Name}"
$checks = @(Test-DindCluster $Name)
$checks | Out-Host
$bad = @($checks | Where-Object { -not $_.Passed })
if ($bad.Count -gt 0) {
    "`n$($bad.Count) check(s) failed. A DNS64 or NAT64 failure usually means the upstream resolver is unreachable " +
    "from the DNS64 container (see the README's Troubleshooting); Export-DindLog $Name ./logs collects everything." | Out-Host
}
else {
    "`nAll $($checks.Count) checks passed." | Out-Host
}

if ($NodeImage) {
    # The API server is published on [::1] only; the kubeconfig is written 0600.
    Get-DindKubeconfig $Name -Merge -SetCurrentContext | Out-Host
}

# 5. Away again, unless asked to keep it.
if ($Keep) {
    "`nThe lab '$Name' stays up. Remove it with: Remove-DindCluster $Name" | Out-Host
}
else {
    Show-Step "Remove-DindCluster ${Name}"
    Remove-DindCluster $Name -Confirm:$false
    'Removed: no container, network, volume or host rule of the lab is left.' | Out-Host
}
if ($bad.Count -gt 0) { exit 2 }
