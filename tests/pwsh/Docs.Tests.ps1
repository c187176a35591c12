# Documentation that runs: every ```powershell / ```pwsh block of README.md and every example of
# en-US/about_Ipv6Dind.help.txt (its "PS>" lines, with their indented continuation lines) runs as-is in a child pwsh,
# in document order, against a real Docker daemon and the simulated outside world (examples/outside-world), where
# 198.51.100.53 is the resolver and www.example.test an IPv4-only web server, as the README assumes.
#
# A block runs with $ErrorActionPreference = 'Stop' (any error fails it) in a scratch directory that holds the build
# tree's out/ (a symbolic link), so `Import-Module ./out/Ipv6Dind` works as the README says, and with out/ on
# $env:PSModulePath, as for an installed module (commands load on first use). A block that is not meant to run here
# says so right above it in the markdown: <!-- not-run: reason -->; in about_Ipv6Dind an example whose line carries
# "# not-run: reason". Those are listed (one It each, passing, with the reason in its name), never silently dropped.
# Blocks make and remove their own labs (named 'lab', as written); after each block the suite removes 'lab' again,
# so one failing block does not fail the next. What a block prints must not contain a failed check (a table row
# "Fail ..." of Test-DindCluster or Test-DindHost): the README says every check passes against this outside world.

BeforeDiscovery {
    $root = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path

    function Get-MarkdownBlock([string] $Path) {
        # Fenced blocks of PowerShell, their first line number, and a not-run marker on the last non-blank line above.
        $lines = @(Get-Content -LiteralPath $Path)
        $name = Split-Path -Leaf $Path
        for ($i = 0; $i -lt $lines.Count; $i++) {
            if ($lines[$i] -notmatch '^\s*(```+|~~~+)\s*([\w+-]*)') { continue }
            $fence = $Matches[1]; $language = $Matches[2].ToLowerInvariant()
            $start = $i
            $body = [System.Collections.Generic.List[string]]::new()
            for ($i++; $i -lt $lines.Count -and $lines[$i] -notmatch "^\s*$([regex]::Escape($fence))\s*$"; $i++) { $body.Add($lines[$i]) }
            if ($language -notin 'powershell', 'pwsh', 'ps1', 'ps') { continue }
            $above = $start - 1
            while ($above -ge 0 -and -not $lines[$above].Trim()) { $above-- }
            $notRun = if ($above -ge 0 -and $lines[$above] -match '<!--\s*not-run:\s*(.+?)\s*-->') { $Matches[1] } else { '' }
            @{ Source = "${name}:$($start + 1)"; Code = ($body -join "`n"); NotRun = $notRun; First = "$($body | Where-Object { $_.Trim() -and $_.Trim() -notmatch '^#' } | Select-Object -First 1)".Trim() }
        }
    }

    function Get-HelpExample([string] $Path) {
        # "PS>" (or "PS C:\>" style) lines; more-indented lines below one continue it; a blank line ends an example.
        $lines = @(Get-Content -LiteralPath $Path)
        $name = Split-Path -Leaf $Path
        $current = $null
        $indent = 0
        for ($i = 0; $i -le $lines.Count; $i++) {
            $line = if ($i -lt $lines.Count) { $lines[$i] } else { '' }
            if ($line -match '^(\s*)PS(?: [^>]*)?>\s?(.*)$') {
                if (-not $current) { $current = @{ Source = "${name}:$($i + 1)"; Lines = [System.Collections.Generic.List[string]]::new() } }
                $indent = $Matches[1].Length
                $current.Lines.Add($Matches[2])
                continue
            }
            if ($current -and $line.Trim() -and ($line -match '^(\s*)') -and $Matches[1].Length -gt $indent) {
                $current.Lines[$current.Lines.Count - 1] += "`n" + $line.Trim()
                continue
            }
            if ($current) {
                $code = $current.Lines -join "`n"
                $notRun = if ($code -match '#\s*not-run:\s*(.+)') { $Matches[1].Trim() } else { '' }
                @{ Source = $current.Source; Code = $code; NotRun = $notRun; First = $current.Lines[0].Split("`n")[0].Trim() }
                $current = $null
            }
        }
    }

    $script:blocks = @(Get-MarkdownBlock (Join-Path $root 'README.md')) + @(Get-HelpExample (Join-Path $root 'en-US' 'about_Ipv6Dind.help.txt'))
    $script:runnable = @($blocks | Where-Object { -not $_.NotRun })
    $script:notRun = @($blocks | Where-Object { $_.NotRun })
    $script:counts = @(@{ Readme = @($blocks | Where-Object { $_.Source -like 'README.md:*' }).Count; About = @($blocks | Where-Object { $_.Source -like 'about_*' }).Count })
}

BeforeAll {
    $script:OwnsLab = $false
    $script:OwnsWorld = $false
    . (Join-Path $PSScriptRoot 'LabSupport.ps1')
    Import-Module $env:IPV6DIND_MODULE -Force
    $script:Lab = 'lab'
    Assert-LabHost
    if (Get-DindCluster -Name $Lab -ErrorAction SilentlyContinue) {
        throw "A lab named '$Lab' already exists on this Docker host; the documentation makes and removes one of that name."
    }
    $script:OwnsLab = $true
    $script:OwnsWorld = $true
    Start-OutsideWorld
    # The scratch build tree: out/ of this one, nothing else.
    $script:Scratch = Join-Path $TestDrive 'tree'
    $null = New-Item -ItemType Directory -Path $Scratch
    $script:Built = Split-Path (Split-Path $env:IPV6DIND_MODULE)
    $null = New-Item -ItemType SymbolicLink -Path (Join-Path $Scratch 'out') -Target $Built
    $script:BlockEnvironment = @{ IPV6DIND_MODULE = $null; PSModulePath = $Built }
}

AfterAll {
    if ($script:OwnsLab) { Remove-TestLab $Lab }
    if ($script:OwnsWorld) { Stop-OutsideWorld }
}

Describe 'Documentation that runs' -Tag 'Lab', 'Docs' {
    It 'finds the blocks: README.md <Readme>, about_Ipv6Dind <About>' -ForEach $counts {
        $Readme | Should -BeGreaterThan 0
        $About | Should -BeGreaterThan 0
    }

    It '<Source> runs: <First>' -ForEach $runnable {
        $file = Join-Path $TestDrive ("block-{0}.ps1" -f ($Source -replace '[^\w]', '-'))
        Set-Content -LiteralPath $file -Value ("`$ErrorActionPreference = 'Stop'`n" + $Code)
        try {
            $r = Invoke-Pwsh -ArgumentList @('-File', $file) -Environment $BlockEnvironment -WorkingDirectory $Scratch -TimeoutSec 900
            Write-Host "$Source exit $($r.ExitCode) in $($r.Seconds) s"
            $r.ExitCode | Should -Be 0 -Because "the block at $Source printed:`n$($r.Output)`n$($r.ErrorText)"
            $r.ErrorText.Trim() | Should -BeNullOrEmpty -Because "the block at $Source wrote to stderr"
            # The documented lab passes its checks: no CheckResult printed says Fail, in its table view (a row
            # "Fail ...") or in the list view pwsh uses after another type's output ("Status : Fail").
            $plain = $r.Output -replace "`e\[[0-9;]*m", ''
            $plain | Should -Not -Match '(?m)^\s*(Fail\s|Status\s*:\s*Fail\b)' -Because "a check of the lab of $Source failed:`n$plain"
        }
        finally {
            if (Get-DindCluster -Name $Lab -ErrorAction SilentlyContinue) { Remove-TestLab $Lab }
        }
    }

    It '<Source> is not run here: <NotRun>' -ForEach $notRun {
        $NotRun | Should -Not -BeNullOrEmpty
        $Code.Trim() | Should -Not -BeNullOrEmpty
    }
}
