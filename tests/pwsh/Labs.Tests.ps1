# The examples against a real network lab, in real pwsh: one BeforeAll brings up the simulated outside world
# (examples/outside-world) and the smallest lab, named 'lab' as in the README and examples/pester; one AfterAll
# removes every lab made here and the outside world. In order: examples/pester/DindLab.Tests.ps1 through a nested
# Invoke-Pester, examples/quick-start.ps1 and the branches of examples/nightly/Rebuild-DindLab.ps1, each as a child
# pwsh. Needs root and a Docker daemon with the module's images (Build-DindImage); without them the suite fails.
# Run it alone: dotnet pwsh -NoProfile -File tests/pwsh/Invoke-PwshTests.ps1 -Path tests/pwsh/Labs.Tests.ps1
BeforeAll {
    $script:OwnsLabs = $false
    $script:OwnsWorld = $false
    . (Join-Path $PSScriptRoot 'LabSupport.ps1')
    Import-Module $env:IPV6DIND_MODULE -Force
    $script:Lab = 'lab'
    # Every lab a test here may create; AfterAll removes them all, whatever happened.
    $script:Labs = @($Lab, 'nightly-new', 'nightly-spec', 'nightly-bad', 'quickstart')
    $script:Nightly = Join-Path $RepoRoot 'examples' 'nightly' 'Rebuild-DindLab.ps1'
    $script:Probes = @('-ProbeName', $OutsideName, '-ProbeUrl', $OutsideUrl)

    Assert-LabHost
    foreach ($name in $Labs) {
        if (Get-DindCluster -Name $name -ErrorAction SilentlyContinue) {
            throw "A lab named '$name' already exists on this Docker host; this suite would remove it. Remove it first."
        }
    }
    $script:OwnsLabs = $true
    $script:OwnsWorld = $true
    Start-OutsideWorld
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $null = New-DindCluster -ClusterName $Lab -Nodes 1 -NetworkOnly -Dns64Upstream $OutsideResolver -Confirm:$false
    Write-Host "Labs.Tests: lab '$Lab' (1 node) up in $([int]$watch.Elapsed.TotalSeconds) s"
}

AfterAll {
    if ($script:OwnsLabs) {
        foreach ($name in $Labs) { Remove-TestLab $name }
    }
    if ($script:OwnsWorld) { Stop-OutsideWorld }
}

Describe 'The examples against a real network lab' -Tag 'Lab' {
    Context 'examples/pester/DindLab.Tests.ps1 (nested Invoke-Pester, the README one-liner)' {
        It 'passes every check of the lab, with the module found by name' {
            # Installed: the module on PSModulePath, no IPV6DIND_MODULE; the README's -Path examples/pester (a folder).
            $r = Invoke-NestedPester -Path 'examples/pester' -Data @{ ClusterName = $Lab } `
                -Environment @{ IPV6DIND_MODULE = $null; PSModulePath = (Split-Path (Split-Path $env:IPV6DIND_MODULE)) }
            $r.ExitCode | Should -Be 0 -Because "$($r.Output)`n$($r.ErrorText)"
            $r.Output | Should -Match 'RESULT passed=([1-9][0-9]*) failed=0 '
            $r.Output | Should -Match 'Dns64Synthesis'
            $r.Output | Should -Match 'Nat64Reachability'
        }
    }

    Context 'examples/quick-start.ps1 (child pwsh)' {
        It 'exits 0 after a validated lab of its own, and leaves nothing' {
            $r = Invoke-Pwsh -ArgumentList @('-File', (Join-Path $RepoRoot 'examples' 'quick-start.ps1'),
                '-Name', 'quickstart', '-Nodes', '1', '-Dns64Upstream', $OutsideResolver) -TimeoutSec 900
            Write-Host "quick-start: exit $($r.ExitCode) in $($r.Seconds) s"
            $r.ExitCode | Should -Be 0 -Because "$($r.Output)`n$($r.ErrorText)"
            $r.Output | Should -Match '==> New-DindCluster quickstart'
            $r.Output | Should -Match 'All \d+ checks passed'
            $r.Output | Should -Match 'Removed: no container'
            @(Get-LabDebris 'quickstart') | Should -BeNullOrEmpty
        }
    }

    Context 'examples/nightly/Rebuild-DindLab.ps1 (child pwsh, as its systemd unit starts it)' {
        BeforeAll {
            function Invoke-Nightly([string[]] $Arguments, [hashtable] $Environment = @{}) {
                $r = Invoke-Pwsh -ArgumentList (@('-File', $Nightly) + $Arguments) -Environment $Environment -TimeoutSec 900
                Write-Host "nightly $($Arguments -join ' '): exit $($r.ExitCode) in $($r.Seconds) s"
                $r
            }
        }

        It 'resets the existing lab: exit 0, same node names and addresses, a summary and a log' {
            $before = @(Get-DindNode -ClusterName $Lab | ForEach-Object { "$($_.NodeName) $($_.IPv6Address)" })
            $log = Join-Path $TestDrive 'reset.log'
            $r = Invoke-Nightly (@('-ClusterName', $Lab, '-LogPath', $log) + $Probes)
            $r.ExitCode | Should -Be 0 -Because "$($r.Output)`n$($r.ErrorText)"
            $r.Output | Should -Match "rebuild of '$Lab' on .*: OK \(exit 0\)"
            $r.Output | Should -Match 'Reset-DindCluster in \d+ s'
            $r.Output | Should -Match 'checks: \d+ passed, \d+ warned, 0 failed'
            $text = Get-Content -Raw $log
            $text | Should -Match 'the lab exists .*: Reset-DindCluster'
            $text | Should -Match 'VERBOSE: '
            $text | Should -Match 'finished: exit 0'
            $after = @(Get-DindNode -ClusterName $Lab | ForEach-Object { "$($_.NodeName) $($_.IPv6Address)" })
            $before | Should -Not -BeNullOrEmpty
            $before[0] | Should -Match '^lab-node-1 fd'
            $after | Should -Be $before
        }

        It 'exits 2 when a check fails, with the check and its remedy in the summary' {
            # Nothing listens on port 81 of the IPv4-only web server: the NAT64 fetch fails.
            $log = Join-Path $TestDrive 'fail.log'
            $r = Invoke-Nightly @('-ClusterName', $Lab, '-LogPath', $log, '-ProbeName', $OutsideName, '-ProbeUrl', 'http://www.example.test:81/')
            $r.ExitCode | Should -Be 2 -Because "$($r.Output)`n$($r.ErrorText)"
            $r.Output | Should -Match 'CHECKS FAILED \(exit 2\)'
            $r.Output | Should -Match '  FAIL .*Nat64Reachability: .* -- remedy: '
            Get-Content -Raw $log | Should -Match 'finished: exit 2'
        }

        It 'exits 3 (busy) and changes nothing while another process holds the lab''s lock' {
            $lockFile = @(Get-ChildItem -Path '/run/ipv6dind' -Filter "*.$Lab.lock" -ErrorAction Stop)
            $lockFile.Count | Should -Be 1 -Because 'the lab was made under its lock (/run/ipv6dind/<daemon key>.<lab>.lock)'
            $before = (docker ps -a --filter "label=io.ipv6dind.cluster=$Lab" --format '{{.ID}}' | Sort-Object) -join ','
            # flock(1) takes the same flock(2) the module takes (src/Ipv6Dind.Core/Lab/ClusterLock.cs).
            $holder = [System.Diagnostics.Process]::Start('flock', [string[]]@('--exclusive', $lockFile[0].FullName, 'sleep', '120'))
            try {
                Start-Sleep -Milliseconds 500
                $holder.HasExited | Should -BeFalse -Because 'flock holds the lock while sleep runs'
                $log = Join-Path $TestDrive 'busy.log'
                $r = Invoke-Nightly (@('-ClusterName', $Lab, '-LogPath', $log, '-LockTimeoutSec', '2') + $Probes)
                $r.ExitCode | Should -Be 3 -Because "$($r.Output)`n$($r.ErrorText)"
                $r.Output | Should -Match 'BUSY \(locked\) \(exit 3\)'
                $r.Output | Should -Match 'error: ClusterLocked: '
                Get-Content -Raw $log | Should -Match 'finished: exit 3'
            }
            finally {
                $holder.Kill($true)
                $holder.WaitForExit()
            }
            (docker ps -a --filter "label=io.ipv6dind.cluster=$Lab" --format '{{.ID}}' | Sort-Object) -join ',' | Should -Be $before
        }

        It 'creates a lab that does not exist: exit 0, New-DindCluster in the summary' {
            $log = Join-Path $TestDrive 'new.log'
            try {
                $r = Invoke-Nightly (@('-ClusterName', 'nightly-new', '-LogPath', $log, '-NetworkOnly', '-Nodes', '1',
                        '-Dns64Upstream', $OutsideResolver) + $Probes)
                $r.ExitCode | Should -Be 0 -Because "$($r.Output)`n$($r.ErrorText)"
                $r.Output | Should -Match 'New-DindCluster in \d+ s'
                Get-Content -Raw $log | Should -Match "no lab named 'nightly-new': New-DindCluster with 1 node"
                (Get-DindCluster -Name 'nightly-new').Nodes | Should -Be 1
            }
            finally {
                Remove-TestLab 'nightly-new'
            }
        }

        It 'creates a lab from a spec file (-SpecPath): exit 0, the spec''s node count' {
            $spec = Join-Path $TestDrive 'nightly-spec.yaml'
            New-DindClusterSpec -Name 'nightly-spec' -Nodes 1 -Dns64Upstream $OutsideResolver | Export-DindClusterSpec -Path $spec
            $log = Join-Path $TestDrive 'spec.log'
            try {
                $r = Invoke-Nightly (@('-ClusterName', 'nightly-spec', '-LogPath', $log, '-NetworkOnly', '-SpecPath', $spec) + $Probes)
                $r.ExitCode | Should -Be 0 -Because "$($r.Output)`n$($r.ErrorText)"
                Get-Content -Raw $log | Should -Match "no lab named 'nightly-spec': New-DindCluster from $([regex]::Escape($spec))"
                (Get-DindCluster -Name 'nightly-spec').Nodes | Should -Be 1
            }
            finally {
                Remove-TestLab 'nightly-spec'
            }
        }

        It 'exits 1 when the rebuild fails, and leaves nothing of the lab' {
            # A node image that is not in Docker: New-DindCluster refuses it (images are never pulled).
            $log = Join-Path $TestDrive 'bad.log'
            $r = Invoke-Nightly @('-ClusterName', 'nightly-bad', '-LogPath', $log, '-Nodes', '1', '-NodeImage', 'ipv6dind-test/absent:0',
                '-Dns64Upstream', $OutsideResolver)
            $r.ExitCode | Should -Be 1 -Because "$($r.Output)`n$($r.ErrorText)"
            $r.Output | Should -Match 'REBUILD FAILED \(exit 1\)'
            $r.Output | Should -Match 'error: \w+: '
            Get-Content -Raw $log | Should -Match 'ERROR \(New-DindCluster\)'
            @(Get-LabDebris 'nightly-bad') | Should -BeNullOrEmpty
        }
    }
}
