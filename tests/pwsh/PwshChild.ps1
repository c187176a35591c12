# Dot-sourced by the suites of this folder: real pwsh as a child process, the way cron, systemd or a shell start it.
# `dotnet pwsh` is the local .NET tool of .config/dotnet-tools.json; the tool manifest is found from the working
# directory, so the child starts in the repository root unless told otherwise. Arguments go as an argument vector
# (ProcessStartInfo.ArgumentList), never as a command line to re-parse.

$script:RepoRoot = Split-Path (Split-Path $PSScriptRoot)

function Invoke-PwshChild {
    [CmdletBinding()]
    param(
        # Arguments after `dotnet pwsh`, e.g. -NoProfile -NonInteractive -Command '...'.
        [Parameter(Mandatory)] [string[]] $ArgumentList,
        # Environment variables of the child (the rest is inherited); a $null value removes one.
        [hashtable] $Environment = @{},
        # Written to the child's standard input, which is then closed.
        [string] $InputText = '',
        [string] $WorkingDirectory = $script:RepoRoot,
        [int] $TimeoutSec = 120
    )
    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    $psi.WorkingDirectory = $WorkingDirectory
    $psi.UseShellExecute = $false
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.ArgumentList.Add('pwsh')
    foreach ($a in $ArgumentList) { $psi.ArgumentList.Add($a) }
    foreach ($k in $Environment.Keys) {
        if ($null -eq $Environment[$k]) { [void] $psi.Environment.Remove($k) } else { $psi.Environment[$k] = [string] $Environment[$k] }
    }
    $p = [System.Diagnostics.Process]::Start($psi)
    try {
        $stdout = $p.StandardOutput.ReadToEndAsync()
        $stderr = $p.StandardError.ReadToEndAsync()
        $p.StandardInput.Write($InputText)
        $p.StandardInput.Close()
        if (-not $p.WaitForExit($TimeoutSec * 1000)) {
            $p.Kill($true)
            throw "dotnet pwsh $($ArgumentList -join ' ') did not finish in $TimeoutSec s"
        }
        $p.WaitForExit()
        [pscustomobject]@{ ExitCode = $p.ExitCode; StdOut = $stdout.Result; StdErr = $stderr.Result }
    }
    finally { $p.Dispose() }
}

# The child finds the module under test by name: its parent folder (out/) alone on PSModulePath; pwsh adds its own
# folders (user, shared, $PSHOME/Modules) when it starts.
function Get-ModuleSearchPath { Split-Path (Split-Path $env:IPV6DIND_MODULE) }
