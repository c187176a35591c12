# The package as users get it: build.ps1 -Task Package packs out/Ipv6Dind (it builds nothing), Publish-PSResource
# puts the .nupkg into a file repository, and a fresh pwsh with a clean home installs it with Install-PSResource,
# imports it by name and runs a cmdlet. Publishing and installing happen in child processes with that clean home,
# so neither the repository registration nor the installed module touches the home of whoever runs the tests.
BeforeAll {
    . (Join-Path $PSScriptRoot 'PwshChild.ps1')
    $script:sourceManifest = Import-PowerShellDataFile (Join-Path $script:RepoRoot 'Ipv6Dind.psd1')
    $script:work = [System.IO.Directory]::CreateTempSubdirectory('ipv6dind-package-').FullName
    $script:cleanHome = Join-Path $script:work 'home'
    $script:repo = Join-Path $script:work 'repo'
    New-Item -ItemType Directory -Path $script:cleanHome, $script:repo | Out-Null

    # A clean home: HOME and the XDG folders that pwsh and PSResourceGet use (user modules under
    # XDG_DATA_HOME/powershell/Modules, repositories under XDG_DATA_HOME/PSResourceGet), and PSModulePath unset so
    # that pwsh computes its default for that home. Two variables keep pointing at the real home, because they are
    # where `dotnet pwsh` itself comes from, not where pwsh keeps anything: DOTNET_CLI_HOME (the .NET CLI's resolver
    # cache of local tools, written by `dotnet tool restore`) and NUGET_PACKAGES (the global packages folder that
    # holds the pwsh tool package). Without them `dotnet pwsh` answers 'Run "dotnet tool restore"'.
    $realHome = [Environment]::GetFolderPath('UserProfile')
    $script:cleanEnv = @{
        HOME            = $script:cleanHome
        XDG_CONFIG_HOME = Join-Path $script:cleanHome '.config'
        XDG_DATA_HOME   = Join-Path $script:cleanHome '.local' 'share'
        XDG_CACHE_HOME  = Join-Path $script:cleanHome '.cache'
        PSModulePath    = $null
        IPV6DIND_MODULE = $null
        DOTNET_CLI_HOME = $(if ($env:DOTNET_CLI_HOME) { $env:DOTNET_CLI_HOME } else { $realHome })
        NUGET_PACKAGES  = $(if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $realHome '.nuget' 'packages' })
        NO_COLOR        = '1'
        # Read by the fixed scripts below (no command text is built from paths).
        IPV6DIND_TEST_REPO = $script:repo
    }
    # The XDG folders must exist: .NET resolves a special folder that does not exist to '' (Environment.GetFolderPath),
    # and PSResourceGet and NuGet then write their settings relative to the working directory, the repository.
    New-Item -ItemType Directory -Path $script:cleanEnv.XDG_CONFIG_HOME, $script:cleanEnv.XDG_DATA_HOME, $script:cleanEnv.XDG_CACHE_HOME | Out-Null

    $script:package = Invoke-PwshChild -ArgumentList '-NoProfile', '-NonInteractive', '-File', (Join-Path $script:RepoRoot 'build.ps1'), '-Task', 'Package'
    $script:nupkg = Join-Path $script:RepoRoot 'out' 'package' "Ipv6Dind.$($script:sourceManifest.ModuleVersion).nupkg"
    $script:cleanEnv.IPV6DIND_TEST_NUPKG = $script:nupkg
}

AfterAll {
    if ($script:work -and (Test-Path -LiteralPath $script:work)) { Remove-Item -LiteralPath $script:work -Recurse -Force }
}

Describe 'build.ps1 -Task Package' {
    It 'makes out/package/Ipv6Dind.{version}.nupkg' {
        $script:package.ExitCode | Should -Be 0 -Because "$($script:package.StdOut)$($script:package.StdErr)"
        Test-Path -LiteralPath $script:nupkg | Should -BeTrue
    }
}

Describe 'The package, published and installed by name' {
    BeforeAll {
        $publish = Invoke-PwshChild -Environment $script:cleanEnv -TimeoutSec 300 -ArgumentList '-NoProfile', '-NonInteractive', '-Command', @'
$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name Ipv6DindTest -Uri $env:IPV6DIND_TEST_REPO -Trusted
Publish-PSResource -NupkgPath $env:IPV6DIND_TEST_NUPKG -Repository Ipv6DindTest
'@
        # A fresh process (same clean home): install, import by name, run pure cmdlets. One JSON line on stdout.
        $install = Invoke-PwshChild -Environment $script:cleanEnv -TimeoutSec 300 -ArgumentList '-NoProfile', '-NonInteractive', '-Command', @'
$ErrorActionPreference = 'Stop'
Install-PSResource Ipv6Dind -Repository Ipv6DindTest -TrustRepository
Import-Module Ipv6Dind
$module = Get-Module Ipv6Dind
$plan = New-DindClusterSpec lab -Nodes 2 -Subnet fd00:77::/48 -Dns64Upstream 198.51.100.53 -SkipHostCheck | Get-DindAddressPlan
[pscustomobject]@{
    ModuleBase = $module.ModuleBase
    Version    = "$($module.Version)"
    Commands   = @(Get-Command -Module Ipv6Dind | ForEach-Object Name | Sort-Object)
    Nodes      = @($plan | Where-Object Role -in 'ControlPlane', 'Worker' | ForEach-Object { "$($_.Name) $($_.IPAddress)" })
    Nat64      = "$((ConvertTo-Nat64Address 198.51.100.80).IPv6Address)"
} | ConvertTo-Json -Compress
'@
    }

    It 'is accepted by Publish-PSResource into a file repository' {
        $publish.ExitCode | Should -Be 0 -Because "$($publish.StdOut)$($publish.StdErr)"
        Get-ChildItem -LiteralPath $script:repo -Filter 'Ipv6Dind.*.nupkg' | Should -HaveCount 1
    }

    It 'installs with Install-PSResource into the clean home, imports by name and runs a cmdlet' {
        $install.ExitCode | Should -Be 0 -Because "$($install.StdOut)$($install.StdErr)"
        $r = $install.StdOut | ConvertFrom-Json
        $r.Version | Should -Be $script:sourceManifest.ModuleVersion
        $r.ModuleBase | Should -Be (Join-Path $script:cleanHome '.local' 'share' 'powershell' 'Modules' 'Ipv6Dind' $script:sourceManifest.ModuleVersion)
        $r.Commands | Should -Be @($script:sourceManifest.CmdletsToExport | Sort-Object)
        $r.Nodes | Should -Be @('lab-node-1 fd00:77:0:10::1001', 'lab-node-2 fd00:77:0:10::1002')
        $r.Nat64 | Should -Be '64:ff9b::c633:6450'
    }

    It 'left the home of the test run and the repository alone (the registration is in the clean home)' {
        Get-PSResourceRepository -Name Ipv6DindTest -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Join-Path $script:cleanEnv.XDG_DATA_HOME 'PSResourceGet' 'PSResourceRepository.xml' | Should -Exist
        Join-Path $script:RepoRoot 'PSResourceGet' | Should -Not -Exist
        Join-Path $script:RepoRoot 'NuGet' | Should -Not -Exist
    }
}
