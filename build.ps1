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
    Package : packs out/Ipv6Dind (as built; Package does not build) into out/package/Ipv6Dind.<version>.nupkg with
              Compress-PSResource (PSResourceGet, shipped with pwsh 7.4 and later). Publish-PSResource -NupkgPath
              puts it in a repository (a file share is one: Register-PSResourceRepository -Uri <folder>), from
              which Install-PSResource Ipv6Dind installs it; tests/pwsh/Package.Tests.ps1 does exactly that.

    Runs in pwsh, also the repository's own: dotnet tool restore; dotnet pwsh -NoProfile -File build.ps1 -Task ...

.EXAMPLE
    ./build.ps1
    Builds the module in Release into out/Ipv6Dind.

.EXAMPLE
    ./build.ps1 -Task Build, Test
    Builds, then runs every test suite.

.EXAMPLE
    dotnet pwsh -NoProfile -File build.ps1 -Task Build,Package
    Builds, then makes out/package/Ipv6Dind.<version>.nupkg.
#>
[CmdletBinding()]
param(
    # Build, Help, Test, Package, in that order or any other. `pwsh -File build.ps1 -Task Build,Test` passes
    # "Build,Test" as one string (-File binds text, not arrays), so commas are split here rather than by a ValidateSet.
    [ArgumentCompletions('Build', 'Help', 'Test', 'Package')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Task = @($Task -split ',' | ForEach-Object Trim | Where-Object { $_ })
foreach ($step in $Task) {
    if ($step -notin 'Build', 'Help', 'Test', 'Package') { throw "Unknown task '$step': use Build, Help, Test or Package." }
}
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
            $manifestPath = Join-Path $moduleDir 'Ipv6Dind.psd1'
            if (-not (Test-Path -LiteralPath $manifestPath)) { throw "No module at ${moduleDir}: run -Task Build first." }
            # What Install-PSResource needs from the manifest, checked here rather than found missing after publishing.
            $manifest = Test-ModuleManifest -Path $manifestPath
            foreach ($field in 'Author', 'Description', 'Version', 'Guid') {
                if (-not $manifest.$field) { throw "The manifest $manifestPath has no $field." }
            }
            $target = Join-Path $root 'out' 'package'
            $nupkg = Join-Path $target "Ipv6Dind.$($manifest.Version).nupkg"
            New-Item -ItemType Directory -Path $target -Force | Out-Null
            if (Test-Path -LiteralPath $nupkg) { Remove-Item -LiteralPath $nupkg -Force }
            Import-Module Microsoft.PowerShell.PSResourceGet -ErrorAction Stop
            Compress-PSResource -Path $moduleDir -DestinationPath $target
            if (-not (Test-Path -LiteralPath $nupkg)) { throw "Compress-PSResource made no $nupkg." }
            Write-Verbose "Packaged Ipv6Dind $($manifest.Version) as $nupkg"
        }
    }
}
