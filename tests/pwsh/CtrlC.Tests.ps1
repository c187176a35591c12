# Ctrl-C in an interactive pwsh stops a bring-up and says what was rolled back. A real terminal: pwsh runs in a
# detached tmux session (tmux is installed by tests/run), the test types New-DindCluster into it, presses Ctrl-C
# (tmux send-keys C-c) once the first node container exists, then reads the screen and asks Docker what is left.
# Needs root, Docker with the module's images and tmux; without them it fails. AfterAll kills the session and
# removes whatever is left of the lab.
BeforeAll {
    $script:OwnsLab = $false
    . (Join-Path $PSScriptRoot 'LabSupport.ps1')
    Import-Module $env:IPV6DIND_MODULE -Force
    $script:Lab = 'ctrlc'
    $script:Session = "ipv6dind-ctrlc-$PID"
    Assert-LabHost
    if (-not (Get-Command tmux -CommandType Application -ErrorAction SilentlyContinue)) {
        throw 'tmux is missing: tests/run installs it (apt-get install tmux).'
    }
    if (Get-DindCluster -Name $Lab -ErrorAction SilentlyContinue) { throw "A lab named '$Lab' already exists; this suite would remove it." }
    $script:OwnsLab = $true

    function Invoke-Tmux([string[]] $Arguments) {
        $r = Invoke-Child -FilePath tmux -ArgumentList $Arguments -TimeoutSec 30
        if ($r.ExitCode -ne 0) { throw "tmux $($Arguments -join ' ') failed ($($r.ExitCode)): $($r.ErrorText)" }
        $r.Output
    }
    # The whole pane, history included, wrapped lines joined.
    function Get-Screen { Invoke-Tmux @('capture-pane', '-p', '-J', '-S', '-', '-t', $Session) }
    function Wait-Screen([string] $Pattern, [int] $TimeoutSec, [string] $What) {
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        do {
            $screen = Get-Screen
            if ($screen -match $Pattern) { return $screen }
            Start-Sleep -Milliseconds 250
        } while ([DateTime]::UtcNow -lt $deadline)
        throw "Waited $TimeoutSec s for $What ($Pattern); the screen:`n$screen"
    }
}

AfterAll {
    $null = Invoke-Child -FilePath tmux -ArgumentList @('kill-session', '-t', $Session) -TimeoutSec 30
    if ($script:OwnsLab) { Remove-TestLab $Lab }
}

Describe 'Ctrl-C in an interactive pwsh' -Tag 'Lab', 'CtrlC' {
    It 'stops New-DindCluster after its first node, rolls back, says so, and gives the prompt back' {
        # pwsh.dll of this pwsh, through dotnet: the same local tool, interactive, in a 220-column terminal.
        $null = Invoke-Tmux @('new-session', '-d', '-s', $Session, '-x', '220', '-y', '50', '-c', $RepoRoot,
            '-e', "IPV6DIND_MODULE=$env:IPV6DIND_MODULE",
            [Environment]::ProcessPath, (Join-Path $PSHOME 'pwsh.dll'), '-NoProfile', '-NoLogo')
        $null = Wait-Screen '(?m)^PS .*> ?$' 60 'the first prompt'

        $command = "Import-Module `$env:IPV6DIND_MODULE; New-DindCluster $Lab -Nodes 2 -NetworkOnly -Dns64Upstream $OutsideResolver -Verbose"
        $null = Invoke-Tmux @('send-keys', '-t', $Session, '-l', $command)
        $null = Invoke-Tmux @('send-keys', '-t', $Session, 'Enter')

        # The first node container exists: press Ctrl-C, mid bring-up.
        $node = "$Lab-node-1"
        $deadline = [DateTime]::UtcNow.AddSeconds(300)
        do {
            $found = docker ps -a --filter "name=^$node`$" --format '{{.Names}}'
            if ($found) { break }
            Start-Sleep -Milliseconds 200
        } while ([DateTime]::UtcNow -lt $deadline)
        $found | Should -Be $node -Because "New-DindCluster creates $node (screen:`n$(Get-Screen))"
        $null = Invoke-Tmux @('send-keys', '-t', $Session, 'C-c')
        $pressed = [System.Diagnostics.Stopwatch]::StartNew()

        # The prompt comes back after the rollback (a prompt line below the command), and takes commands again.
        $deadline = [DateTime]::UtcNow.AddSeconds(180)
        do {
            $screen = Get-Screen
            $tail = $screen.Substring($screen.IndexOf("New-DindCluster $Lab"))
            if ($tail -match '(?m)^PS [^\n]*>\s*$') { break }
            Start-Sleep -Milliseconds 250
        } while ([DateTime]::UtcNow -lt $deadline)
        $tail | Should -Match '(?m)^PS [^\n]*>\s*$' -Because "the prompt returns after the rollback (screen:`n$screen)"
        Write-Host "Ctrl-C: prompt back $([int]$pressed.Elapsed.TotalSeconds) s after the key"
        $null = Invoke-Tmux @('send-keys', '-t', $Session, '-l', "'prompt-' + 'is-back'")
        $null = Invoke-Tmux @('send-keys', '-t', $Session, 'Enter')
        $screen = Wait-Screen '(?m)^prompt-is-back\s*$' 30 'the answer of a command typed at the returned prompt'

        $after = $screen.Substring($screen.IndexOf('New-DindCluster'))
        $after | Should -Match 'VERBOSE: Rolling back: ' -Because "the rollback names each step it undoes:`n$after"
        # The journal's steps (src/Ipv6Dind.Core/Lab/DindLab.cs): the containers made before Ctrl-C, then the network.
        $after | Should -Match 'VERBOSE: Rolling back: container ' -Because "the containers made before Ctrl-C are undone:`n$after"
        $after | Should -Match "VERBOSE: Rolling back: network ipv6dind-$Lab" -Because "the lab's network is undone:`n$after"
        @(Get-LabDebris $Lab) | Should -BeNullOrEmpty -Because 'a Ctrl-C bring-up leaves no container, network or volume'
        Get-DindCluster -Name $Lab -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
