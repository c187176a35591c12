# examples/pester/DindLab.Tests.ps1, the Pester suite users run against a lab, run here through a real nested
# Invoke-Pester (a container with -Data, as its help says) against chosen check results: which tests it generates,
# their names, tags and outcomes, the remedy in failure messages, warnings inconclusive, areas without checks skipped.
#
# The lab's cmdlets are stood in for by global functions of the same names: a function wins over a cmdlet of the
# same name, and the suite's own scopes (discovery and run) see global functions, which Pester's Mock would not
# reach from this outer run into the nested one. The suite then does not import the module itself (it imports only
# when Test-DindCluster is not a command yet); this file imports it for the CheckResult type.
BeforeAll {
    Import-Module $env:IPV6DIND_MODULE -Force
    $script:suitePath = Join-Path (Split-Path (Split-Path $PSScriptRoot)) 'examples' 'pester' 'DindLab.Tests.ps1'

    function global:Get-DindCluster {
        [CmdletBinding()] param([string] $Name)
        $global:DindLabSuiteCalls.Add("Get-DindCluster $Name")
        if ($Name -eq 'lab') { [pscustomobject]@{ ClusterName = 'lab'; State = 'Running'; Nodes = 2 } }
    }
    function global:Test-DindCluster {
        [CmdletBinding()] param([string] $ClusterName, [string] $ProbeName, [string] $ProbeUrl, [string] $AaaaProbeName)
        $global:DindLabSuiteCalls.Add("Test-DindCluster $ClusterName url=$ProbeUrl")
        [Ipv6Dind.CheckResult]@{ Target = 'lab-dns64'; Check = 'ContainerRunning'; Status = 'Pass'; Detail = 'running' }
        [Ipv6Dind.CheckResult]@{ Target = 'lab-node-1'; Check = 'Ipv6Only'; Status = 'Pass'; Detail = 'no global IPv4 address' }
        [Ipv6Dind.CheckResult]@{ Target = 'lab-node-1'; Check = 'Dns64Synthesis'; Status = 'Pass'; Detail = 'synthesized' }
        [Ipv6Dind.CheckResult]@{ Target = 'lab-node-1'; Check = 'Nat64Reachability'; Status = 'Fail'; Detail = 'GET failed'; Remedy = 'Get-Nat64Mapping lab' }
        [Ipv6Dind.CheckResult]@{ Target = 'lab-node-2'; Check = 'Routes'; Status = 'Warn'; Detail = 'slow'; Remedy = 'Sync-DindRoute lab' }
        [Ipv6Dind.CheckResult]@{ Target = 'lab'; Check = 'SomeFutureCheck'; Status = 'Pass'; Detail = 'new' }
    }

    # One line per generated test: "<Describe> [<tags>] / <It> => <Result>", and its message when it has one.
    function Invoke-DindLabSuite([hashtable] $Data) {
        # As users run it: without strict mode, which tests/pwsh/Invoke-PwshTests.ps1 turns on and which would reach
        # into the nested run (the suite reads .Count of a $null when the lab does not exist).
        Set-StrictMode -Off
        $global:DindLabSuiteCalls = [System.Collections.Generic.List[string]]::new()
        $container = New-PesterContainer -Path $script:suitePath -Data $Data
        $run = Invoke-Pester -Container $container -PassThru -Output None
        $tests = foreach ($t in $run.Tests) {
            $message = if ($t.ErrorRecord.Count -gt 0) { $t.ErrorRecord[0].Exception.Message } else { '' }
            [pscustomobject]@{
                Line    = "$($t.Block.ExpandedName) [$($t.Block.Tag -join ',')] / $($t.ExpandedName) => $($t.Result)"
                Result  = "$($t.Result)"
                Message = $message
            }
        }
        [pscustomobject]@{ Run = $run; Tests = @($tests); Calls = @($global:DindLabSuiteCalls) }
    }
}

AfterAll {
    Remove-Item Function:\Get-DindCluster, Function:\Test-DindCluster -ErrorAction SilentlyContinue
    Remove-Variable DindLabSuiteCalls -Scope Global -ErrorAction SilentlyContinue
}

Describe 'examples/pester/DindLab.Tests.ps1 against a lab with one failed and one warned check' {
    BeforeAll {
        $script:suite = Invoke-DindLabSuite @{ ClusterName = 'lab'; ProbeUrl = 'http://www.example.test/' }
    }

    It 'runs its container without errors in discovery or setup' {
        $script:suite.Run.FailedContainersCount | Should -Be 0
        $script:suite.Run.FailedBlocksCount | Should -Be 0
    }

    It 'gathers the facts once: one Get-DindCluster, one Test-DindCluster with the probe URL' {
        $script:suite.Calls | Should -Be @('Get-DindCluster lab', 'Test-DindCluster lab url=http://www.example.test/')
    }

    It 'turns every check into one tagged test, grouped by area, with its verdict' {
        $script:suite.Tests.Line | Should -Be @(
            'Lab lab [Lab] / exists on this Docker host => Passed'
            'Lab lab [Lab] / has every container running => Passed'
            'Lab lab [Lab] / answered Test-DindCluster => Passed'
            'Containers of lab [Containers] / lab-dns64: ContainerRunning => Passed'
            'IPv6-only network of lab [Network] / lab-node-1: Ipv6Only => Passed'
            'IPv6-only network of lab [Network] / lab-node-2: Routes => Inconclusive'
            'DNS64 of lab [Dns64] / lab-node-1: Dns64Synthesis => Passed'
            'NAT64 of lab [Nat64] / lab-node-1: Nat64Reachability => Failed'
            'Kubernetes of lab [Kubernetes] / lab: Kubernetes => Skipped'
            'Other checks of lab [Other] / lab: SomeFutureCheck => Passed'
        )
    }

    It 'fails a failed check with its detail and remedy' {
        $failed = $script:suite.Tests | Where-Object Result -eq 'Failed'
        $failed.Message | Should -BeLike "Expected strings to be the same, because GET failed; remedy: Get-Nat64Mapping lab, but they were different.*Expected: 'Pass'*But was:  'Fail'*"
        $script:suite.Run.FailedCount | Should -Be 1
    }

    It 'shows a warning as inconclusive, with its detail and remedy' {
        $warned = $script:suite.Tests | Where-Object Result -eq 'Inconclusive'
        $warned.Message | Should -BeLike '*warning: slow; Sync-DindRoute lab*'
        $script:suite.Run.InconclusiveCount | Should -Be 1
    }

    It 'skips an area without checks, saying why' {
        $skipped = $script:suite.Tests | Where-Object Result -eq 'Skipped'
        $skipped.Message | Should -BeLike '*a network lab (-NetworkOnly) has no Kubernetes*'
    }
}

Describe 'examples/pester/DindLab.Tests.ps1 against a lab that does not exist' {
    BeforeAll {
        $script:suite = Invoke-DindLabSuite @{ ClusterName = 'gone' }
    }

    It 'runs no checks' {
        $script:suite.Run.FailedContainersCount | Should -Be 0
        $script:suite.Calls | Should -Be @('Get-DindCluster gone')
    }

    It 'fails clearly, naming the command that creates the lab' {
        $exists = $script:suite.Tests | Where-Object Line -like 'Lab gone `[Lab`] / exists on this Docker host => *'
        $exists.Result | Should -Be 'Failed'
        $exists.Message | Should -BeLike 'Expected a value, because Get-DindCluster lists the labs; New-DindCluster gone creates it, but got $null or empty.*'
        ($script:suite.Tests | Where-Object Line -like 'Lab gone `[Lab`] / answered Test-DindCluster => *').Result | Should -Be 'Failed'
    }

    It 'still shows every area, skipped, rather than dropping it from the report' {
        ($script:suite.Tests | Where-Object Result -eq 'Skipped').Line | Should -Be @(
            'Containers of gone [Containers] / gone: Containers => Skipped'
            'IPv6-only network of gone [Network] / gone: Network => Skipped'
            'DNS64 of gone [Dns64] / gone: Dns64 => Skipped'
            'NAT64 of gone [Nat64] / gone: Nat64 => Skipped'
            'Kubernetes of gone [Kubernetes] / gone: Kubernetes => Skipped'
            'Other checks of gone [Other] / gone: Other => Skipped'
        )
    }
}
