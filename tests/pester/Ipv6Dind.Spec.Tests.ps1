#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
<#
    Pester 5 checks of a spec file before a lab is built from it (for users; tests/pwsh/SpecSuite.Tests.ps1 runs
    it in CI against spec files it makes). Run:

        Invoke-Pester ./tests/pester -Output Detailed   (with $env:IPV6DIND_SPEC pointing at a spec file)
#>

BeforeDiscovery {
    $specPath = if ($env:IPV6DIND_SPEC) { $env:IPV6DIND_SPEC } else { Join-Path $PSScriptRoot 'lab.yaml' }
    $haveSpec = Test-Path -LiteralPath $specPath
}

BeforeAll {
    $modulePath = if ($env:IPV6DIND_MODULE) { $env:IPV6DIND_MODULE } else { Join-Path $PSScriptRoot '..' '..' 'out' 'Ipv6Dind' 'Ipv6Dind.psd1' }
    Import-Module $modulePath -Force
    $specPath = if ($env:IPV6DIND_SPEC) { $env:IPV6DIND_SPEC } else { Join-Path $PSScriptRoot 'lab.yaml' }
}

Describe 'Ipv6Dind module' -Tag 'Module' {
    It 'exports <_>' -ForEach @('New-DindClusterSpec', 'Import-DindClusterSpec', 'Get-DindAddressPlan', 'Split-Ipv6Prefix') {
        Get-Command -Module Ipv6Dind -Name $_ | Should -Not -BeNullOrEmpty
    }

    It 'rejects a NAT64 prefix of the wrong length with InvalidNat64PrefixLength' {
        { New-DindClusterSpec -ClusterName lab -Nat64Prefix fd00:77:64::/80 -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidNat64PrefixLength,Ipv6Dind.Commands.NewDindClusterSpecCommand'
    }

    It 'embeds 198.51.100.80 under the well-known prefix as 64:ff9b::c633:6450' {
        (ConvertTo-Nat64Address 198.51.100.80).IPv6Address | Should -Be '64:ff9b::c633:6450'
    }
}

Describe 'Spec file <_>' -Tag 'Spec' -Skip:(-not $haveSpec) -ForEach @($specPath) {
    BeforeAll {
        $spec = Import-DindClusterSpec -Path $_ -ErrorAction Stop
        $plan = $spec | Get-DindAddressPlan -AsObject
    }

    It 'validates against this host (no overlap with its addresses, routes or rules)' {
        $spec | Should -Not -BeNullOrEmpty
    }

    It 'gives every node its own management address and pod prefix' {
        ($plan.NodeAddresses.IPv6Address | Sort-Object -Unique).Count | Should -Be $spec.Nodes
        ($plan.NodeAddresses.PodPrefix | Sort-Object -Unique).Count | Should -Be $spec.Nodes
    }

    It 'names a DNS64 upstream' {
        $plan.Dns64Upstream | Should -Not -BeNullOrEmpty -Because 'bind9 forwards only; without an upstream nothing resolves'
    }

    It 'round-trips through Export-DindClusterSpec unchanged' {
        $copy = Join-Path $TestDrive 'copy.yaml'
        $spec | Export-DindClusterSpec -Path $copy
        Get-Content -Raw $copy | Should -Be (Get-Content -Raw $_)
    }
}
