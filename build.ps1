#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages the Ipv6Dind module.

.DESCRIPTION
    Build   : dotnet build of the solution; the cmdlet project assembles the importable module in
              out/Ipv6Dind (manifest, formats, bin/, bin/deps/, en-US help).
    Help    : with PlatyPS installed, New-ExternalHelp turns docs/*.md into MAML; without it the
              build's own converter (src/Ipv6Dind.HelpBuilder) does the same during Build.
    Test    : the test command of README.md (tests/run), which installs what the tests need.
    Package : copies out/Ipv6Dind into out/package/Ipv6Dind/<version> for Publish-Module or a file share.

.EXAMPLE
    ./build.ps1
    Builds the module in Release into out/Ipv6Dind.

.EXAMPLE
    ./build.ps1 -Task Build, Test
    Builds, then runs every test suite.
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Help', 'Test', 'Package')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$moduleDir = Join-Path $root 'out' 'Ipv6Dind'

function Invoke-Native {
    param([string] $FilePath, [string[]] $ArgumentList)
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) { throw "$FilePath $($ArgumentList -join ' ') failed with exit code $LASTEXITCODE" }
}

foreach ($step in $Task) {
    switch ($step) {
        'Build' {
            Invoke-Native dotnet @('build', (Join-Path $root 'Ipv6Dind.sln'), '-c', $Configuration, '--nologo')
            $manifest = Test-ModuleManifest -Path (Join-Path $moduleDir 'Ipv6Dind.psd1')
            Write-Verbose "Built $($manifest.Name) $($manifest.Version) in $moduleDir"
        }
        'Help' {
            if (Get-Module -ListAvailable -Name platyPS) {
                Import-Module platyPS
                New-ExternalHelp -Path (Join-Path $root 'docs') -OutputPath (Join-Path $root 'en-US') -Force | Out-Null
                Copy-Item (Join-Path $root 'en-US' '*') (Join-Path $moduleDir 'en-US') -Force
            }
            else {
                Write-Verbose 'platyPS is not installed: the build converts docs/*.md with src/Ipv6Dind.HelpBuilder.'
                Invoke-Native dotnet @('build', (Join-Path $root 'src' 'Ipv6Dind' 'Ipv6Dind.csproj'), '-c', $Configuration, '--nologo')
            }
        }
        'Test' {
            Invoke-Native (Join-Path $root 'tests' 'run') @()
        }
        'Package' {
            $version = (Import-PowerShellDataFile (Join-Path $root 'Ipv6Dind.psd1')).ModuleVersion
            $target = Join-Path $root 'out' 'package' 'Ipv6Dind' $version
            if (Test-Path $target) { Remove-Item $target -Recurse -Force }
            New-Item -ItemType Directory -Path $target -Force | Out-Null
            Copy-Item (Join-Path $moduleDir '*') $target -Recurse
            Write-Verbose "Packaged Ipv6Dind $version in $target"
        }
    }
}
