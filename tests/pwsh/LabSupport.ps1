# Helpers of the real-pwsh lab suites (tests/pwsh/Labs.Tests.ps1, Docs.Tests.ps1, CtrlC.Tests.ps1), dot-sourced in
# their BeforeAll. Everything here starts processes with argument lists (never a shell line) and fails loudly: a
# suite that needs something missing (root, Docker, the images, tmux) fails, it never skips.

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path
# The simulated IPv4 outside world of examples/outside-world: dnsmasq and an IPv4-only web server in a namespace.
$script:OutsideResolver = '198.51.100.53'
$script:OutsideUrl = 'http://www.example.test/'
$script:OutsideName = 'www.example.test'

function Invoke-Child {
    <#
        Runs a program with an argument list; returns ExitCode, Output (stdout), ErrorText (stderr) and Seconds.
        -Environment adds or, with a $null value, removes variables of the child. Killed (and failing) after
        -TimeoutSec.
    #>
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [hashtable] $Environment = @{},
        [string] $WorkingDirectory = $script:RepoRoot,
        [int] $TimeoutSec = 600
    )
    $psi = [System.Diagnostics.ProcessStartInfo]::new($FilePath)
    foreach ($a in $ArgumentList) { $psi.ArgumentList.Add($a) }
    $psi.WorkingDirectory = $WorkingDirectory
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.RedirectStandardInput = $true
    $psi.UseShellExecute = $false
    foreach ($k in $Environment.Keys) {
        if ($null -eq $Environment[$k]) { [void]$psi.Environment.Remove($k) } else { $psi.Environment[$k] = "$($Environment[$k])" }
    }
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $p = [System.Diagnostics.Process]::Start($psi)
    $p.StandardInput.Close()
    $out = $p.StandardOutput.ReadToEndAsync()
    $err = $p.StandardError.ReadToEndAsync()
    if (-not $p.WaitForExit($TimeoutSec * 1000)) {
        $p.Kill($true)
        $p.WaitForExit()
        throw "$FilePath $($ArgumentList -join ' ') did not end within $TimeoutSec s; stdout: $($out.Result) stderr: $($err.Result)"
    }
    $p.WaitForExit()
    [pscustomobject]@{ ExitCode = $p.ExitCode; Output = $out.Result; ErrorText = $err.Result; Seconds = [int]$watch.Elapsed.TotalSeconds }
}

function Invoke-Pwsh {
    <# The same pwsh as this one (the local .NET tool), as a child: pwsh.dll through dotnet, from any directory. #>
    param([string[]] $ArgumentList, [hashtable] $Environment = @{}, [string] $WorkingDirectory = $script:RepoRoot, [int] $TimeoutSec = 600)
    $all = @((Join-Path $PSHOME 'pwsh.dll'), '-NoProfile', '-NonInteractive') + $ArgumentList
    Invoke-Child -FilePath ([Environment]::ProcessPath) -ArgumentList $all -Environment $Environment -WorkingDirectory $WorkingDirectory -TimeoutSec $TimeoutSec
}

function Invoke-NestedPester {
    <#
        Invoke-Pester in a child pwsh, as a user runs a suite: -Path and -Data make its container. The output ends
        with a line "RESULT passed=N failed=N skipped=N containers-failed=N"; the exit code is failed + containers.
    #>
    param([Parameter(Mandatory)] [string] $Path, [hashtable] $Data = @{}, [hashtable] $Environment = @{})
    $pester = Join-Path (Get-Module Pester).ModuleBase 'Pester.psd1'
    $dataText = ($Data.Keys | ForEach-Object { "$_ = '$($Data[$_])'" }) -join '; '
    $command = "Import-Module '$pester'; " +
    "`$r = Invoke-Pester -Container (New-PesterContainer -Path '$Path' -Data @{ $dataText }) -Output Detailed -PassThru; " +
    "'RESULT passed={0} failed={1} skipped={2} containers-failed={3}' -f `$r.PassedCount, `$r.FailedCount, `$r.SkippedCount, `$r.FailedContainersCount; " +
    "exit (`$r.FailedCount + `$r.FailedContainersCount)"
    Invoke-Pwsh -ArgumentList @('-Command', $command) -Environment $Environment
}

function Assert-LabHost {
    <# What every lab suite needs: root, a Docker daemon that answers, and the module's images (Build-DindImage). #>
    if ((id -u) -ne '0') { throw 'The lab suites need root (network namespaces, ip6tables): run them as tests/run does.' }
    $v = Invoke-Child -FilePath docker -ArgumentList @('version', '--format', '{{.Server.Version}}') -TimeoutSec 30
    if ($v.ExitCode -ne 0) { throw "No Docker daemon answers (tests/lab/ensure-dockerd starts one): $($v.ErrorText)" }
}

function Start-OutsideWorld {
    $r = Invoke-Child -FilePath (Join-Path $script:RepoRoot 'examples' 'outside-world') -ArgumentList @('up') -TimeoutSec 60
    if ($r.ExitCode -ne 0) { throw "examples/outside-world up failed ($($r.ExitCode)): $($r.Output) $($r.ErrorText)" }
}

function Stop-OutsideWorld {
    $r = Invoke-Child -FilePath (Join-Path $script:RepoRoot 'examples' 'outside-world') -ArgumentList @('down') -TimeoutSec 60
    if ($r.ExitCode -ne 0) { Write-Warning "examples/outside-world down failed ($($r.ExitCode)): $($r.ErrorText)" }
}

function Get-LabDebris {
    <# Every container, network and volume Docker still has with the lab's label: "container x", "network y", ... #>
    param([Parameter(Mandatory)] [string] $Name)
    $filter = "label=io.ipv6dind.cluster=$Name"
    foreach ($kind in 'container', 'network', 'volume') {
        $listing = if ($kind -eq 'container') { @('ps', '-a', '--filter', $filter, '--format', '{{.Names}}') }
        else { @($kind, 'ls', '--filter', $filter, '--format', '{{.Name}}') }
        $r = Invoke-Child -FilePath docker -ArgumentList $listing -TimeoutSec 30
        if ($r.ExitCode -ne 0) { throw "docker $($listing -join ' ') failed: $($r.ErrorText)" }
        foreach ($line in ($r.Output -split "`n")) { if ($line.Trim()) { "$kind $($line.Trim())" } }
    }
}

function Remove-TestLab {
    <# Removes a lab of a suite (AfterAll): the cmdlet first, then whatever Docker still lists with its label. #>
    param([Parameter(Mandatory)] [string] $Name)
    try { Remove-DindCluster -ClusterName $Name -Confirm:$false -ErrorAction Stop }
    catch { Write-Warning "Remove-DindCluster $Name failed: $_" }
    foreach ($d in @(Get-LabDebris $Name)) {
        $kind, $object = $d -split ' ', 2
        $args0 = if ($kind -eq 'container') { @('rm', '-f', '-v', $object) } else { @($kind, 'rm', $object) }
        $null = Invoke-Child -FilePath docker -ArgumentList $args0 -TimeoutSec 60
    }
}
