# tests/pester/Ipv6Dind.Spec.Tests.ps1, the spec-file checks users run before building a lab, run here through a
# real nested Invoke-Pester against spec files made with New-DindClusterSpec | Export-DindClusterSpec. The suite
# takes the spec file from $env:IPV6DIND_SPEC and the module from $env:IPV6DIND_MODULE (set by
# tests/pwsh/Invoke-PwshTests.ps1).
BeforeAll {
    Import-Module $env:IPV6DIND_MODULE -Force
    $script:suitePath = Join-Path (Split-Path (Split-Path $PSScriptRoot)) 'tests' 'pester' 'Ipv6Dind.Spec.Tests.ps1'

    function Invoke-SpecSuite([string] $SpecPath) {
        # As users run it: without the strict mode of tests/pwsh/Invoke-PwshTests.ps1.
        Set-StrictMode -Off
        $saved = $env:IPV6DIND_SPEC
        $env:IPV6DIND_SPEC = $SpecPath
        try { $run = Invoke-Pester -Container (New-PesterContainer -Path $script:suitePath) -PassThru -Output None }
        finally { $env:IPV6DIND_SPEC = $saved }
        $tests = foreach ($t in $run.Tests) {
            [pscustomobject]@{
                Line    = "$($t.ExpandedPath) => $($t.Result)"
                Result  = "$($t.Result)"
                Message = $(if ($t.ErrorRecord.Count -gt 0) { $t.ErrorRecord[0].Exception.Message } else { '' })
            }
        }
        [pscustomobject]@{ Run = $run; Tests = @($tests) }
    }
}

Describe 'tests/pester/Ipv6Dind.Spec.Tests.ps1 with a spec file of 3 nodes' {
    BeforeAll {
        $script:spec = Join-Path $TestDrive 'lab.yaml'
        New-DindClusterSpec lab -Nodes 3 -Subnet fd00:77::/48 -Dns64Upstream 198.51.100.53 -SkipHostCheck |
            Export-DindClusterSpec -Path $script:spec
        $script:suite = Invoke-SpecSuite $script:spec
    }

    It 'runs the module checks and every check of the spec file, all passing' {
        $script:suite.Run.FailedContainersCount | Should -Be 0
        $failures = ($script:suite.Tests | Where-Object Result -ne 'Passed' | ForEach-Object { "$($_.Line): $($_.Message)" }) -join '; '
        $script:suite.Tests.Line | Should -Because $failures -Be @(
            'Ipv6Dind module.exports New-DindClusterSpec => Passed'
            'Ipv6Dind module.exports Import-DindClusterSpec => Passed'
            'Ipv6Dind module.exports Get-DindAddressPlan => Passed'
            'Ipv6Dind module.exports Split-Ipv6Prefix => Passed'
            'Ipv6Dind module.rejects a NAT64 prefix of the wrong length with InvalidNat64PrefixLength => Passed'
            'Ipv6Dind module.embeds 198.51.100.80 under the well-known prefix as 64:ff9b::c633:6450 => Passed'
            "Spec file $($script:spec).validates against this host (no overlap with its addresses, routes or rules) => Passed"
            "Spec file $($script:spec).gives every node its own management address and pod prefix => Passed"
            "Spec file $($script:spec).names a DNS64 upstream => Passed"
            "Spec file $($script:spec).round-trips through Export-DindClusterSpec unchanged => Passed"
        )
    }
}

Describe 'tests/pester/Ipv6Dind.Spec.Tests.ps1 with a spec file edited by hand' {
    BeforeAll {
        # A comment line: the file still imports, but Export-DindClusterSpec no longer writes it back unchanged.
        $script:spec = Join-Path $TestDrive 'edited.yaml'
        New-DindClusterSpec lab -Nodes 2 -Subnet fd00:78::/48 -Dns64Upstream 198.51.100.53 -SkipHostCheck |
            Export-DindClusterSpec -Path $script:spec
        Set-Content -LiteralPath $script:spec -Value (@('# edited by hand') + @(Get-Content -LiteralPath $script:spec))
        $script:suite = Invoke-SpecSuite $script:spec
    }

    It 'fails the round trip, and still imports and validates the file' {
        $result = @{}
        foreach ($t in $script:suite.Tests) { $result[$t.Line -replace ' => \w+$', ''] = $t.Result }
        $result["Spec file $($script:spec).round-trips through Export-DindClusterSpec unchanged"] | Should -Be 'Failed'
        $result["Spec file $($script:spec).validates against this host (no overlap with its addresses, routes or rules)"] | Should -Be 'Passed'
        $result["Spec file $($script:spec).names a DNS64 upstream"] | Should -Be 'Passed'
    }
}

Describe 'tests/pester/Ipv6Dind.Spec.Tests.ps1 without a spec file' {
    It 'skips the spec checks and still runs the module checks' {
        $suite = Invoke-SpecSuite (Join-Path $TestDrive 'missing.yaml')
        $suite.Run.PassedCount | Should -Be 6
        $suite.Run.FailedCount | Should -Be 0
        @($suite.Tests | Where-Object Result -eq 'Skipped').Count | Should -Be 4
    }
}
