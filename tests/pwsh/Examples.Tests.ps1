# The examples find the module themselves (examples/nightly/Rebuild-DindLab.ps1, examples/quick-start.ps1,
# examples/pester/DindLab.Tests.ps1): $env:IPV6DIND_MODULE, else the installed module by name, else a clear error
# and exit code. Each runs as a child pwsh, as systemd or an admin starts it; no Docker is needed (a Docker endpoint
# that does not exist stands for "the module was imported and asked Docker").
BeforeAll {
    . (Join-Path $PSScriptRoot 'LabSupport.ps1')
    $script:Nightly = Join-Path $RepoRoot 'examples' 'nightly' 'Rebuild-DindLab.ps1'
    $script:QuickStart = Join-Path $RepoRoot 'examples' 'quick-start.ps1'
    $script:PesterSuite = Join-Path $RepoRoot 'examples' 'pester' 'DindLab.Tests.ps1'
    $script:Built = Split-Path (Split-Path $env:IPV6DIND_MODULE)          # out/: where Import-Module Ipv6Dind finds it
    $script:NoDocker = "unix://$(Join-Path ([System.IO.Path]::GetTempPath()) "ipv6dind-no-docker-$PID.sock")"
    # No module anywhere: IPV6DIND_MODULE unset and a module path without it (pwsh adds only its own $PSHOME/Modules).
    $script:NoModule = @{ IPV6DIND_MODULE = $null; PSModulePath = (Join-Path $TestDrive 'empty-modules') }
    $script:ByName = @{ IPV6DIND_MODULE = $null; PSModulePath = $Built; DOCKER_HOST = $NoDocker }
}

Describe 'examples/nightly/Rebuild-DindLab.ps1 imports the module' {
    It 'exits 1 with ModuleNotFound in its summary and log when the module is nowhere' {
        $log = Join-Path $TestDrive 'none.log'
        $r = Invoke-Pwsh -ArgumentList @('-File', $Nightly, '-ClusterName', 'nomodule', '-LogPath', $log) -Environment $NoModule
        $r.ExitCode | Should -Be 1 -Because $r.Output
        $r.Output | Should -Match "REBUILD FAILED \(exit 1\)"
        $r.Output | Should -Match 'ModuleNotFound: The Ipv6Dind module could not be imported by name \(IPV6DIND_MODULE is not set\)'
        Get-Content -Raw $log | Should -Match 'ERROR \(Import-Module\): ModuleNotFound'
        Get-Content -Raw $log | Should -Match 'finished: exit 1'
    }

    It 'exits 1 naming IPV6DIND_MODULE when it points at nothing (no fallback to another module)' {
        $log = Join-Path $TestDrive 'bad.log'
        $bad = Join-Path $TestDrive 'missing' 'Ipv6Dind.psd1'
        $r = Invoke-Pwsh -ArgumentList @('-File', $Nightly, '-ClusterName', 'nomodule', '-LogPath', $log) `
            -Environment @{ IPV6DIND_MODULE = $bad; PSModulePath = $Built }
        $r.ExitCode | Should -Be 1 -Because $r.Output
        $r.Output | Should -Match ([regex]::Escape("from IPV6DIND_MODULE=$bad"))
    }

    It 'imports the installed module by name, then fails on Docker with exit 1' {
        $log = Join-Path $TestDrive 'byname.log'
        $r = Invoke-Pwsh -ArgumentList @('-File', $Nightly, '-ClusterName', 'byname', '-LogPath', $log) -Environment $ByName
        $r.ExitCode | Should -Be 1 -Because $r.Output
        $r.Output | Should -Not -Match 'ModuleNotFound'
        $text = Get-Content -Raw $log
        $text | Should -Match ("module: Ipv6Dind [0-9.]+ from " + [regex]::Escape((Join-Path $Built 'Ipv6Dind')))
        $text | Should -Match 'ERROR \(Get-DindCluster\)'
    }

    It 'imports the module of IPV6DIND_MODULE, as its systemd unit sets it' {
        $unit = Get-Content -Raw (Join-Path $RepoRoot 'examples' 'nightly' 'ipv6dind-rebuild.service')
        $unit | Should -Match 'Environment=IPV6DIND_MODULE='
        $unit | Should -Match 'ExecStart=/usr/bin/pwsh '
        $log = Join-Path $TestDrive 'env.log'
        $r = Invoke-Pwsh -ArgumentList @('-File', $Nightly, '-ClusterName', 'byenv', '-LogPath', $log) `
            -Environment @{ IPV6DIND_MODULE = $env:IPV6DIND_MODULE; PSModulePath = (Join-Path $TestDrive 'empty-modules'); DOCKER_HOST = $NoDocker }
        $r.ExitCode | Should -Be 1 -Because $r.Output
        Get-Content -Raw $log | Should -Match ("module: Ipv6Dind [0-9.]+ from " + [regex]::Escape((Split-Path $env:IPV6DIND_MODULE)))
    }
}

Describe 'examples/quick-start.ps1 imports the module' {
    It 'exits 3 with a clear message when the module is nowhere' {
        $r = Invoke-Pwsh -ArgumentList @('-File', $QuickStart, '-Name', 'nomodule') -Environment $NoModule
        $r.ExitCode | Should -Be 3 -Because "$($r.Output) $($r.ErrorText)"
        $r.ErrorText | Should -Match 'quick-start: the Ipv6Dind module could not be imported by name'
        $r.ErrorText | Should -Match 'set IPV6DIND_MODULE'
    }

    It 'imports the installed module by name (its first step runs)' {
        $r = Invoke-Pwsh -ArgumentList @('-File', $QuickStart, '-Name', 'byname') -Environment $ByName
        $r.Output | Should -Match '==> Test-DindHost' -Because $r.ErrorText
        $r.ErrorText | Should -Not -Match 'could not be imported'
    }
}

Describe 'examples/pester/DindLab.Tests.ps1 imports the module' {
    It 'fails its container with a clear message when the module is nowhere' {
        $r = Invoke-NestedPester -Path $PesterSuite -Data @{ ClusterName = 'nomodule' } -Environment $NoModule
        $r.ExitCode | Should -BeGreaterThan 0
        "$($r.Output) $($r.ErrorText)" | Should -Match 'The Ipv6Dind module could not be imported by name'
    }

    It 'fails its first test (not its discovery) with the reason when Docker does not answer' {
        $r = Invoke-NestedPester -Path $PesterSuite -Data @{ ClusterName = 'nodocker' } -Environment $ByName
        $r.ExitCode | Should -BeGreaterThan 0
        $r.Output | Should -Match 'RESULT passed=\d+ failed=[1-9]\d* skipped=\d+ containers-failed=0'
        $r.Output | Should -Match 'Get-DindCluster failed: Cannot reach the Docker daemon'
    }
}
