#Requires -Version 7.4
<#
.SYNOPSIS
    Runs the real-pwsh Pester suites (Pester 5.7.1 from NuGet) against the built module.

.DESCRIPTION
    What users see only real pwsh shows (member enumeration, format views, tab completion, Get-Error, exit codes),
    so these suites run in `dotnet pwsh` (the local tool of .config/dotnet-tools.json), never in a hosted engine.
    Pester comes from the NuGet global packages folder, restored by tests/pwsh/Ipv6Dind.PwshTools.csproj (a
    PackageDownload; part of Ipv6Dind.sln). Every suite finds the module through $env:IPV6DIND_MODULE, which this
    runner sets to the built manifest (out/Ipv6Dind/Ipv6Dind.psd1 unless -Module says otherwise).

    Exit code: the number of failed tests and containers (0 when all passed); 1 when nothing ran.

.EXAMPLE
    dotnet pwsh -NoProfile -File tests/pwsh/Invoke-PwshTests.ps1
    Every suite under tests/pwsh.

.EXAMPLE
    dotnet pwsh -NoProfile -File tests/pwsh/Invoke-PwshTests.ps1 -Path tests/pwsh/Output.Tests.ps1 -Output Detailed
#>
[CmdletBinding()]
param(
    # Test files or folders (default: tests/pwsh).
    [string[]] $Path,
    # The module manifest the suites import.
    [string] $Module,
    [string[]] $Tag,
    [string[]] $ExcludeTag,
    [ValidateSet('None', 'Normal', 'Detailed', 'Diagnostic')]
    [string] $Output = 'Normal',
    # Also write NUnit XML here.
    [string] $TestResultPath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = Split-Path (Split-Path $PSScriptRoot)

if (-not $Path) { $Path = @(Join-Path $root 'tests' 'pwsh') }
if (-not $Module) { $Module = Join-Path $root 'out' 'Ipv6Dind' 'Ipv6Dind.psd1' }
if (-not (Test-Path -LiteralPath $Module)) { throw "No module at ${Module}: build first (dotnet build Ipv6Dind.sln -c Release)." }
$env:IPV6DIND_MODULE = (Resolve-Path -LiteralPath $Module).Path

$packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget' 'packages' }
$pester = Join-Path $packages 'pester' '5.7.1' 'tools' 'Pester.psd1'
if (-not (Test-Path -LiteralPath $pester)) {
    throw "Pester 5.7.1 is not in ${packages}: restore it with 'dotnet restore tests/pwsh/Ipv6Dind.PwshTools.csproj'."
}
Import-Module $pester -Force

$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.PassThru = $true
$config.Output.Verbosity = $Output
if ($Tag) { $config.Filter.Tag = $Tag }
if ($ExcludeTag) { $config.Filter.ExcludeTag = $ExcludeTag }
if ($TestResultPath) {
    $config.TestResult.Enabled = $true
    $config.TestResult.OutputPath = $TestResultPath
}
$result = Invoke-Pester -Configuration $config
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
if ($result.TotalCount -eq 0 -and $failed -eq 0) { Write-Error 'No tests ran.' -ErrorAction Continue; exit 1 }
Write-Host "pwsh suites: $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount) skipped, $($result.NotRunCount) not run, $($result.FailedContainersCount) failed containers"
exit $failed
