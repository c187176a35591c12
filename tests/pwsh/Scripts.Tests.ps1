# Commands and scripts in a child `dotnet pwsh`, as cron, systemd or a shell run them: what they print on which
# stream and the exit code they end with. The child finds the module by name (out/ on PSModulePath, see
# PwshChild.ps1) and auto-loads it, as after Install-PSResource.
BeforeAll {
    . (Join-Path $PSScriptRoot 'PwshChild.ps1')
    $script:childEnv = @{ PSModulePath = Get-ModuleSearchPath; NO_COLOR = '1' }

    # The child's output without the ANSI sequences that pwsh writes even to a pipe for errors, warnings and headers.
    function Invoke-Script([string[]] $ArgumentList, [string] $InputText = '') {
        $r = Invoke-PwshChild -ArgumentList (@('-NoProfile') + $ArgumentList) -Environment $script:childEnv -InputText $InputText
        $plain = { param($s) $s -replace '\x1b\[[0-9;?]*[A-Za-z]', '' }
        [pscustomobject]@{ ExitCode = $r.ExitCode; StdOut = & $plain $r.StdOut; StdErr = & $plain $r.StdErr; Text = "exit $($r.ExitCode)`n--- stdout`n$($r.StdOut)`n--- stderr`n$($r.StdErr)" }
    }
    function New-ScriptFile([string] $Name, [string] $Text) {
        $path = Join-Path $TestDrive $Name
        Set-Content -LiteralPath $path -Value $Text
        $path
    }
}

Describe 'A command in a child pwsh (-Command)' {
    It '<Case>' -ForEach @(
        @{
            Case    = 'prints the address plan as a table on stdout and exits 0'
            Command = 'New-DindClusterSpec lab -Nodes 2 -Subnet fd00:77::/48 -Dns64Upstream 198.51.100.53 -SkipHostCheck | Get-DindAddressPlan'
            Code    = 0
            StdOut  = 'ClusterName: lab', 'Role\s+Name\s+IPAddress / Prefix', 'ControlPlane\s+lab-node-1\s+fd00:77:0:10::1001'
            StdErr  = @()
        }
        @{
            Case    = 'exits 1 on invalid input, with the cmdlet and what would be valid on stderr'
            Command = 'New-DindClusterSpec lab -Nat64Prefix fd00:77:64::/80 -SkipHostCheck'
            Code    = 1
            StdOut  = @()
            StdErr  = 'New-DindClusterSpec: .*Nat64Prefix: /80 is not an RFC 6052 prefix length', 'Use /32, /40, /48, /56, /64 or /96'
        }
    ) {
        $r = Invoke-Script '-NonInteractive', '-Command', $Command
        $r.ExitCode | Should -Be $Code -Because $r.Text
        foreach ($pattern in $StdOut) { $r.StdOut | Should -Match $pattern }
        foreach ($pattern in $StdErr) { $r.StdErr | Should -Match $pattern }
        # Nothing on the other stream.
        if ($StdOut.Count -eq 0) { $r.StdOut | Should -BeNullOrEmpty }
        if ($StdErr.Count -eq 0) { $r.StdErr | Should -BeNullOrEmpty }
    }

    It 'shows -WhatIf on stdout and writes nothing' {
        $dir = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'whatif')
        $r = Invoke-Script '-NonInteractive', '-Command', "New-DindClusterSpec lab -SkipHostCheck | New-KubeadmConfig -OutputDirectory '$($dir.FullName)' -WhatIf"
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.StdOut | Should -Match ([regex]::Escape("What if: Performing the operation `"Write Kubeadm configuration`" on target `"$($dir.FullName)/lab-node-1-kubeadm.yaml`""))
        Get-ChildItem -LiteralPath $dir.FullName | Should -BeNullOrEmpty
    }

    It 'under -NonInteractive, fails a -Confirm prompt (exit 1) instead of waiting, and writes nothing' {
        $path = Join-Path $TestDrive 'confirm-ni.yaml'
        $r = Invoke-Script '-NonInteractive', '-Command', "New-DindClusterSpec lab -SkipHostCheck | Export-DindClusterSpec '$path' -Confirm"
        $r.ExitCode | Should -Be 1 -Because $r.Text
        $r.StdErr | Should -Match 'Export-DindClusterSpec: .*NonInteractive mode'
        Test-Path -LiteralPath $path | Should -BeFalse
    }

    It 'reads the -Confirm answer <Answer> from stdin when interactive' -ForEach @(
        @{ Answer = 'n'; Written = $false }
        @{ Answer = 'y'; Written = $true }
    ) {
        $path = Join-Path $TestDrive "confirm-$Answer.yaml"
        $r = Invoke-Script '-Command', "New-DindClusterSpec lab -SkipHostCheck | Export-DindClusterSpec '$path' -Confirm" -InputText "$Answer`n"
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.StdOut | Should -Match 'Are you sure you want to perform this action\?'
        Test-Path -LiteralPath $path | Should -Be $Written
    }

    It 'prints VERBOSE lines only with -Verbose (pwsh writes them to stdout)' {
        $quiet = Invoke-Script '-NonInteractive', '-Command', 'New-DindClusterSpec lab -Subnet fd00:77::/48 -SkipHostCheck | Out-Null'
        $verbose = Invoke-Script '-NonInteractive', '-Command', 'New-DindClusterSpec lab -Subnet fd00:77::/48 -SkipHostCheck -Verbose | Out-Null'
        $quiet.ExitCode, $verbose.ExitCode | Should -Be 0, 0 -Because $verbose.Text
        $quiet.StdOut | Should -Not -Match 'VERBOSE:'
        $verbose.StdOut | Should -Match ([regex]::Escape("VERBOSE: Cluster 'lab': subnet fd00:77::/48"))
    }
}

Describe 'A script in a child pwsh (-File)' {
    It 'ends with the code of its exit statement (<Code>)' -ForEach @(@{ Code = 0 }, @{ Code = 75 }) {
        $path = New-ScriptFile 'exit.ps1' "param([int] `$Code)`nNew-DindClusterSpec lab -SkipHostCheck | Out-Null`n'ran'`nexit `$Code"
        $r = Invoke-Script '-NonInteractive', '-File', $path, '-Code', "$Code"
        $r.ExitCode | Should -Be $Code -Because $r.Text
        $r.StdOut.Trim() | Should -Be 'ran'
    }

    It 'exits 1 at the first error under $ErrorActionPreference = Stop, and runs nothing after it' {
        $path = New-ScriptFile 'stop.ps1' "`$ErrorActionPreference = 'Stop'`nNew-DindClusterSpec lab -Nat64Prefix fd00:77:64::/80 -SkipHostCheck`n'not reached'"
        $r = Invoke-Script '-NonInteractive', '-File', $path
        $r.ExitCode | Should -Be 1 -Because $r.Text
        $r.StdErr | Should -Match 'Nat64Prefix: /80 is not an RFC 6052 prefix length'
        $r.StdOut | Should -Not -Match 'not reached'
    }

    It 'exits 0 after a non-terminating error it went past (the error still on stderr)' {
        $path = New-ScriptFile 'continue.ps1' "New-DindClusterSpec lab -Nat64Prefix fd00:77:64::/80 -SkipHostCheck`n'after'"
        $r = Invoke-Script '-NonInteractive', '-File', $path
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.StdErr | Should -Match 'Nat64Prefix: /80'
        $r.StdOut.Trim() | Should -Be 'after'
    }

    It 'exits 64 when the pwsh command line itself is wrong' {
        $r = Invoke-Script '-NonInteractive', '-NoSuchSwitch'
        $r.ExitCode | Should -Be 64 -Because $r.Text
    }
}
