<#
.SYNOPSIS
    Nightly rebuild of an Ipv6Dind lab, for cron or a systemd timer: rebuild, check, log, summarize, exit code.

.DESCRIPTION
    When the lab exists, Reset-DindCluster rebuilds its nodes (and Kubernetes) with the same names and addresses,
    keeping the network, DNS64 and NAT64; it takes the cluster's cross-process lock itself, so an admin's run and
    this one never interleave. When the lab does not exist, New-DindCluster creates it (from -SpecPath, or from
    the parameters below). Then Test-DindCluster runs every check.

    Everything the cmdlets say (-Verbose steps, warnings, errors, every check) is appended to -LogPath. Standard
    output gets only a short summary meant for a mail or the journal: one headline, one line per failed check
    with its remedy, the totals and where the log is.

    The script imports the module itself: the one already loaded, else $env:IPV6DIND_MODULE (a module manifest,
    e.g. a build tree's out/Ipv6Dind/Ipv6Dind.psd1, as examples/nightly/ipv6dind-rebuild.service sets it), else
    the installed module by name (Import-Module Ipv6Dind, from $env:PSModulePath). When none imports, the summary
    says so (ModuleNotFound) and the script exits 1, before anything else is asked.

    EXIT CODES
        0  rebuilt and every check passed (warnings allowed)
        1  the rebuild failed (the error and the step are in the log; Reset/New left no debris), or Docker was
           unreachable, or the script itself failed
        2  rebuilt, but at least one Test-DindCluster check failed (or the checks could not run)
        3  busy: another run holds the cluster's lock (ClusterLocked) past -LockTimeoutSec, or created the lab
           while this one was about to (ClusterExists); nothing was changed
    (pwsh exits 64 when its own command line is wrong, before the script runs; a Ctrl-C or SIGINT stops the
    running cmdlet, which rolls back what it made. Either way the log has no "finished" line for that run.)

    Dot-sourcing the script (. ./Rebuild-DindLab.ps1) only defines its functions; nothing runs. Tests use that
    for Format-RebuildSummary and Resolve-RebuildExitCode.

.EXAMPLE
    # A Kubernetes lab rebuilt every night (examples/nightly/ipv6dind-rebuild.timer runs this), with the module
    # of a build tree in /opt/ipv6dind:
    IPV6DIND_MODULE=/opt/ipv6dind/out/Ipv6Dind/Ipv6Dind.psd1 pwsh -NoProfile -NonInteractive `
        -File /opt/ipv6dind/examples/nightly/Rebuild-DindLab.ps1 -ClusterName lab -Nodes 3 -NodeImage kindest/node:v1.31.2

.EXAMPLE
    # The installed module, a network lab from a spec file, checks against your own IPv4-only web server:
    pwsh -NoProfile -NonInteractive -File ./Rebuild-DindLab.ps1 -ClusterName lab -SpecPath /etc/ipv6dind/lab.yaml `
        -NetworkOnly -ProbeUrl http://intranet.example.test/ -LogPath /var/log/ipv6dind/lab.log
#>
[CmdletBinding()]
param(
    # The lab to rebuild (or create when it does not exist).
    [string] $ClusterName = 'lab',

    # Where the full log is appended (its directory is created). Rotate it with logrotate.
    [string] $LogPath = "/var/log/ipv6dind/rebuild-$ClusterName.log",

    # Only when the lab is created: a spec file (New-DindClusterSpec | Export-DindClusterSpec) for every setting.
    [string] $SpecPath,

    # Only when the lab is created without -SpecPath: node count, node image, CNI, DNS64 upstreams (comma-separated
    # or repeated). A reset always keeps what the lab was created with.
    [int] $Nodes = 3,
    [string] $NodeImage,
    [string] $Cni,
    [string[]] $Dns64Upstream,

    # A network lab (DNS64, NAT64, IPv6-only nodes, routes) without Kubernetes.
    [switch] $NetworkOnly,

    # Seconds to wait for another run holding the cluster's lock before giving up with exit code 3.
    [int] $LockTimeoutSec = 600,

    # Seconds the nodes may take to become Ready after kubeadm.
    [int] $TimeoutSec = 600,

    # Passed to Test-DindCluster: an A-only name, an IPv4-only URL, a name with a real AAAA record.
    [string] $ProbeName,
    [string] $ProbeUrl,
    [string] $AaaaProbeName
)

# ------------------------------------------------------------------------------------------------ pure parts

function Resolve-RebuildExitCode {
    <# The exit code of a run: Outcome is Rebuilt, Failed or Busy; Results are Test-DindCluster's CheckResults. #>
    param(
        [Parameter(Mandatory)] [ValidateSet('Rebuilt', 'Failed', 'Busy')] [string] $Outcome,
        [object[]] $Results = @(),
        # Test-DindCluster itself failed (Docker went away, the lab vanished): the checks count as failed.
        [string] $CheckError
    )
    if ($Outcome -eq 'Busy') { return 3 }
    if ($Outcome -eq 'Failed') { return 1 }
    if ($CheckError) { return 2 }
    foreach ($r in $Results) {
        if ("$($r.Status)" -eq 'Fail') { return 2 }
    }
    if ($Results.Count -eq 0) { return 2 }   # no checks ran: nothing says the lab works
    return 0
}

function Format-RebuildSummary {
    <#
        The mail-friendly summary: a headline with the exit code, what was done, one line per failed check (target,
        check, detail, remedy), the totals and the log's path. Returns strings; prints nothing.
    #>
    param(
        [Parameter(Mandatory)] [string] $ClusterName,
        [Parameter(Mandatory)] [int] $ExitCode,
        # What was run: 'Reset-DindCluster', 'New-DindCluster', or '' when nothing ran.
        [string] $Action = '',
        # The rebuild's error (id and message), for exit codes 1 and 3.
        [string] $RebuildError,
        [string] $CheckError,
        [object[]] $Results = @(),
        [TimeSpan] $Duration = [TimeSpan]::Zero,
        [string] $LogPath,
        [string] $HostName = [Environment]::MachineName
    )
    $verdict = switch ($ExitCode) {
        0 { 'OK' }
        1 { 'REBUILD FAILED' }
        2 { 'CHECKS FAILED' }
        3 { 'BUSY (locked)' }
        default { 'ERROR' }
    }
    "Ipv6Dind nightly rebuild of '$ClusterName' on ${HostName}: $verdict (exit $ExitCode)"
    if ($Action) {
        '  {0} in {1:0} s' -f $Action, $Duration.TotalSeconds
    }
    if ($RebuildError) { "  error: $RebuildError" }
    if ($CheckError) { "  Test-DindCluster failed: $CheckError" }

    $passed = 0; $warned = 0; $failed = 0
    foreach ($r in $Results) {
        switch ("$($r.Status)") {
            'Fail' {
                $failed++
                $line = "  FAIL $($r.Target) $($r.Check): $($r.Detail)"
                if ($r.Remedy) { $line += " -- remedy: $($r.Remedy)" }
                $line
            }
            'Warn' { $warned++ }
            default { $passed++ }
        }
    }
    if ($Results.Count -gt 0) {
        "  checks: $passed passed, $warned warned, $failed failed (of $($Results.Count))"
    }
    if ($LogPath) { "  log: $LogPath" }
}

function ConvertTo-RebuildErrorText {
    <# "ClusterLocked: Cluster 'lab' is locked by process 1234 (...)" from an ErrorRecord. #>
    param([Parameter(Mandatory)] $ErrorRecord)
    $id = "$($ErrorRecord.FullyQualifiedErrorId)".Split(',')[0]
    $message = if ($ErrorRecord.ErrorDetails -and $ErrorRecord.ErrorDetails.Message) { $ErrorRecord.ErrorDetails.Message } else { $ErrorRecord.Exception.Message }
    "${id}: $message"
}

# Dot-sourced: the functions above are all that was wanted.
if ($MyInvocation.InvocationName -eq '.') { return }

# ------------------------------------------------------------------------------------------------ the run

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'   # no progress bars in a journal

$LogPath = [System.IO.Path]::GetFullPath($LogPath)
$logDirectory = [System.IO.Path]::GetDirectoryName($LogPath)
if ($logDirectory) { [void][System.IO.Directory]::CreateDirectory($logDirectory) }

function Write-RebuildLog([string] $Message) {
    $stamp = [DateTimeOffset]::Now.ToString('yyyy-MM-ddTHH:mm:sszzz', [Globalization.CultureInfo]::InvariantCulture)
    [System.IO.File]::AppendAllText($LogPath, "$stamp [$ClusterName] $Message$([Environment]::NewLine)")
}

function Invoke-Logged([scriptblock] $Step) {
    # Verbose lines and warnings of the cmdlets go to the log; their objects are returned (and logged).
    $VerbosePreference = 'Continue'
    & $Step 4>&1 3>&1 | ForEach-Object {
        if ($_ -is [System.Management.Automation.VerboseRecord]) { Write-RebuildLog "VERBOSE: $($_.Message)" }
        elseif ($_ -is [System.Management.Automation.WarningRecord]) { Write-RebuildLog "WARNING: $($_.Message)" }
        else {
            Write-RebuildLog "OUTPUT: $_"
            $_
        }
    }
}

$started = [DateTime]::UtcNow
$action = ''
$outcome = 'Failed'
$rebuildError = $null
$checkError = $null
$results = @()

Write-RebuildLog "start: $($MyInvocation.MyCommand.Path) on $([Environment]::MachineName), PowerShell $($PSVersionTable.PSVersion), pid $PID"
try {
    # The module: the one loaded, else $env:IPV6DIND_MODULE (never silently another one when it is set), else by name.
    if (-not (Get-Module Ipv6Dind)) {
        $module = if ($env:IPV6DIND_MODULE) { $env:IPV6DIND_MODULE } else { 'Ipv6Dind' }
        try {
            Import-Module $module -ErrorAction Stop
        }
        catch {
            $from = if ($env:IPV6DIND_MODULE) { "from IPV6DIND_MODULE=$($env:IPV6DIND_MODULE)" } else { 'by name (IPV6DIND_MODULE is not set)' }
            $exception = [System.IO.FileNotFoundException]::new(
                "The Ipv6Dind module could not be imported $from`: $($_.Exception.Message) " +
                'Set IPV6DIND_MODULE to its manifest (out/Ipv6Dind/Ipv6Dind.psd1 after dotnet build Ipv6Dind.sln -c Release) ' +
                'or install it where Import-Module Ipv6Dind finds it ($env:PSModulePath).')
            throw [System.Management.Automation.ErrorRecord]::new($exception, 'ModuleNotFound', 'ObjectNotFound', $module)
        }
        $loaded = Get-Module Ipv6Dind
        Write-RebuildLog "module: Ipv6Dind $($loaded.Version) from $($loaded.ModuleBase)"
    }
    $existing = @(Get-DindCluster | Where-Object ClusterName -EQ $ClusterName)
    if ($existing.Count -gt 0) {
        $action = 'Reset-DindCluster'
        Write-RebuildLog "the lab exists ($($existing[0].State), $($existing[0].Nodes) node(s)): Reset-DindCluster"
        $null = Invoke-Logged { Reset-DindCluster -ClusterName $ClusterName -LockTimeoutSec $LockTimeoutSec -TimeoutSec $TimeoutSec -Confirm:$false }
    }
    else {
        $action = 'New-DindCluster'
        # The lock wait too: a second run that starts meanwhile waits for this create, then resets what it made.
        $new = @{ NetworkOnly = $NetworkOnly; TimeoutSec = $TimeoutSec; LockTimeoutSec = $LockTimeoutSec; Confirm = $false }
        if ($SpecPath) {
            Write-RebuildLog "no lab named '$ClusterName': New-DindCluster from $SpecPath"
            $new.Spec = Import-DindClusterSpec -Path $SpecPath -Name $ClusterName
        }
        else {
            Write-RebuildLog "no lab named '$ClusterName': New-DindCluster with $Nodes node(s)"
            $new.Name = $ClusterName
            $new.Nodes = $Nodes
            if ($NodeImage) { $new.NodeImage = $NodeImage }
            if ($Cni) { $new.Cni = $Cni }
            # From -File every value arrives as one string: accept "a,b" as two upstreams.
            if ($Dns64Upstream) { $new.Dns64Upstream = @($Dns64Upstream | ForEach-Object { $_.Split(',') } | Where-Object { $_ }) }
        }
        $null = Invoke-Logged { New-DindCluster @new }
    }
    $outcome = 'Rebuilt'
}
catch {
    $rebuildError = ConvertTo-RebuildErrorText $_
    $id = "$($_.FullyQualifiedErrorId)".Split(',')[0]
    # ClusterExists on New: another run created the lab between our look and our create (it held the lock).
    $outcome = if ($id -eq 'ClusterLocked' -or ($id -eq 'ClusterExists' -and $action -eq 'New-DindCluster')) { 'Busy' } else { 'Failed' }
    Write-RebuildLog "ERROR ($(if ($action) { $action } elseif ($id -eq 'ModuleNotFound') { 'Import-Module' } else { 'Get-DindCluster' })): $rebuildError"
    if ($_.ErrorDetails -and $_.ErrorDetails.RecommendedAction) { Write-RebuildLog "REMEDY: $($_.ErrorDetails.RecommendedAction)" }
}
$duration = [DateTime]::UtcNow - $started

if ($outcome -eq 'Rebuilt') {
    $test = @{ ClusterName = $ClusterName }
    if ($ProbeName) { $test.ProbeName = $ProbeName }
    if ($ProbeUrl) { $test.ProbeUrl = $ProbeUrl }
    if ($AaaaProbeName) { $test.AaaaProbeName = $AaaaProbeName }
    try {
        $results = @(Invoke-Logged { Test-DindCluster @test })
    }
    catch {
        $checkError = ConvertTo-RebuildErrorText $_
        Write-RebuildLog "ERROR (Test-DindCluster): $checkError"
    }
}

$code = Resolve-RebuildExitCode -Outcome $outcome -Results $results -CheckError $checkError
$summary = @(Format-RebuildSummary -ClusterName $ClusterName -ExitCode $code -Action $action -RebuildError $rebuildError `
        -CheckError $checkError -Results $results -Duration $duration -LogPath $LogPath)
foreach ($line in $summary) { Write-RebuildLog "SUMMARY: $line" }
Write-RebuildLog "finished: exit $code"
$summary
exit $code
