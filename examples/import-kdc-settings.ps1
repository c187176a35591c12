<#
.SYNOPSIS
    Moves a kubeadm-dind-cluster IPv6 setup to Ipv6Dind: reads the IP_MODE/DIND_SUBNET/... variables a
    k-d-c user exported, shows the resulting plan, and saves it as a spec file.

.EXAMPLE
    export IP_MODE=ipv6 DIND_SUBNET=fd00:77:: SERVICE_CIDR=fd00:77:30::/110 DNS64_PREFIX=fd00:77:64:ff9b::
    export REMOTE_DNS64_V4SERVER=198.51.100.53
    PSModulePath="$PWD/out" dotnet pwsh -NoProfile -File examples/import-kdc-settings.ps1 -Path ./lab.yaml
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)]
    [string] $Path,
    [Alias('Name')] [string] $ClusterName
)

$ErrorActionPreference = 'Stop'

$importArgs = @{ FromKdcEnvironment = $true }
if ($ClusterName) { $importArgs.ClusterName = $ClusterName }
$spec = Import-DindClusterSpec @importArgs

$spec | Get-DindAddressPlan
if ($PSCmdlet.ShouldProcess($Path, 'Write the spec file')) {
    $spec | Export-DindClusterSpec -Path $Path -PassThru
}
