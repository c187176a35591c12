# The module as real pwsh loads it: by path from $env:IPV6DIND_MODULE (set by tests/pwsh/Invoke-PwshTests.ps1).
BeforeAll {
    Import-Module $env:IPV6DIND_MODULE -Force
}

Describe 'Module' {
    It 'imports in pwsh <_>' -ForEach @($PSVersionTable.PSVersion.ToString()) {
        Get-Module Ipv6Dind | Should -Not -BeNullOrEmpty
    }

    It 'exports only approved verbs' {
        $approved = (Get-Verb).Verb
        Get-Command -Module Ipv6Dind | Where-Object { $_.Verb -notin $approved } | Should -BeNullOrEmpty
    }
}
