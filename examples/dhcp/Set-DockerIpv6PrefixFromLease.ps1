<#
.SYNOPSIS
    Called by the DHCPv6 hooks beside it: gives Docker the first /80 (or -SubnetLength/-Index) of the prefix the
    DHCPv6 server delegated, and restarts dockerd only when that changed. The prefix arrives as a parameter, never
    as script text, so nothing in a lease is ever parsed as PowerShell.

.EXAMPLE
    pwsh -NoProfile -File examples/dhcp/Set-DockerIpv6PrefixFromLease.ps1 -DelegatedPrefix 2001:db8:1234:5600::/56
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $DelegatedPrefix,
    [int] $SubnetLength = 80,
    [long] $Index = 0,
    [string] $ConfigPath = '/etc/docker/daemon.json',
    # Without systemd: dockerd's pid file (the daemon is restarted with its own command line).
    [string] $PidFile,
    # Write daemon.json only; restart Docker some other way.
    [switch] $NoRestart
)

$ErrorActionPreference = 'Stop'
$restart = @{ Restart = -not $NoRestart }
if ($PidFile) { $restart.PidFile = $PidFile }
Set-DockerIpv6Prefix -DelegatedPrefix $DelegatedPrefix -SubnetLength $SubnetLength -Index $Index -ConfigPath $ConfigPath -Confirm:$false -PassThru @restart | Out-Host
