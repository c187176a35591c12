# The parameter convention of about_Ipv6Dind (PARAMETER CONVENTIONS), checked over every exported cmdlet from the
# module's own metadata (Get-Command), so that a new cmdlet cannot drift from it. No Docker: the pipeline-binding
# checks point DOCKER_HOST at a socket that does not exist, so nothing can be created or changed.

BeforeDiscovery {
    Import-Module $env:IPV6DIND_MODULE -Force
    $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters

    # A parameter identifies a cluster when it is named ClusterName or Name, answers to either as an alias, or
    # completes cluster names (src/Ipv6Dind/Completion/ClusterNameCompleter.cs).
    function Test-ClusterParameter([System.Management.Automation.ParameterMetadata] $p) {
        $p.Name -in 'ClusterName', 'Name' -or $p.Aliases -contains 'ClusterName' -or $p.Aliases -contains 'Name' -or
        @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ArgumentCompleterAttribute] -and $_.Type.Name -eq 'ClusterNameCompleter' }).Count -gt 0
    }

    $script:ClusterCases = foreach ($c in Get-Command -Module Ipv6Dind -CommandType Cmdlet) {
        foreach ($p in $c.Parameters.Values) {
            if ($p.Name -notin $common -and (Test-ClusterParameter $p)) { @{ Cmdlet = $c.Name; Parameter = $p.Name } }
        }
    }
    $script:CmdletCases = @(Get-Command -Module Ipv6Dind -CommandType Cmdlet | ForEach-Object { @{ Cmdlet = $_.Name } })
    $script:ClusterCmdletCases = @($script:ClusterCases | ForEach-Object { @{ Cmdlet = $_.Cmdlet } })
}

BeforeAll {
    Import-Module $env:IPV6DIND_MODULE -Force
    $script:Root = Split-Path (Split-Path $PSScriptRoot)
    $script:Common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters

    function Get-OwnParameter([string] $Cmdlet) {
        (Get-Command $Cmdlet).Parameters.Values | Where-Object Name -notin $script:Common
    }
    function Test-Shown([System.Management.Automation.ParameterMetadata] $p) {
        -not @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }).Count
    }
    function Test-DerivesFrom([type] $Type, [string] $BaseName) {
        for ($t = $Type; $t; $t = $t.BaseType) { if ($t.FullName -eq $BaseName) { return $true } }
        $false
    }

    # The cluster parameter of a cmdlet whose input is a file is not bound from the pipeline: a FileInfo's Name would bind to it.
    $script:NotPipelineBound = @{ 'Import-DindClusterSpec' = 'its pipeline input is a spec file (FileInfo.Name would bind as the cluster)' }
    $script:LockBase = 'Ipv6Dind.Commands.ClusterLockCmdlet'
}

Describe 'Parameter convention: the cluster' {
    It '<Cmdlet> -<Parameter> is -ClusterName with alias Name' -ForEach $ClusterCases {
        $p = (Get-Command $Cmdlet).Parameters[$Parameter]
        $p.Name | Should -BeExactly 'ClusterName'
        $p.Aliases | Should -Contain 'Name'
    }

    It '<Cmdlet> -<Parameter> binds by property name and is position 0 wherever the set has positions' -ForEach $ClusterCases {
        $command = Get-Command $Cmdlet
        foreach ($set in $command.ParameterSets) {
            $p = $set.Parameters | Where-Object Name -eq $Parameter
            if (-not $p) { continue }
            if (-not $NotPipelineBound.ContainsKey($Cmdlet)) {
                $p.ValueFromPipelineByPropertyName | Should -BeTrue -Because "$Cmdlet ($($set.Name)) takes a cluster from the pipeline"
            }
            $positional = @($set.Parameters | Where-Object { $_.Position -ge 0 })
            if ($positional.Count -gt 0 -and -not $NotPipelineBound.ContainsKey($Cmdlet)) {
                $p.Position | Should -Be 0 -Because "$Cmdlet ($($set.Name)) has positional parameters; the cluster comes first"
            }
        }
    }

    It 'finds the cluster parameters at all' {
        @($ClusterCases).Count | Should -BeGreaterThan 20
    }
}

Describe 'Parameter convention: names' {
    It '<Cmdlet>: a timeout is -TimeoutSec (or -LockTimeoutSec), in seconds' -ForEach $CmdletCases {
        foreach ($p in Get-OwnParameter $Cmdlet) {
            if ($p.Name -match 'Timeout|Seconds$') {
                $p.Name | Should -BeIn @('TimeoutSec', 'LockTimeoutSec') -Because "$Cmdlet -$($p.Name) is a timeout"
            }
            if ($p.Name -eq 'TimeoutSec') { $p.Aliases | Should -Contain 'TimeoutSeconds' }
        }
    }

    It '<Cmdlet>: a NAT64 prefix is -Nat64Prefix, a DNS64 upstream -Dns64Upstream, a bare -Prefix only on Split-Ipv6Prefix' -ForEach $CmdletCases {
        $command = Get-Command $Cmdlet
        foreach ($p in Get-OwnParameter $Cmdlet) {
            $names = @($p.Name) + @($p.Aliases)
            if ($names -match 'Nat64Prefix') { $p.Name | Should -BeExactly 'Nat64Prefix' }
            if ($names -match 'Upstream') { $p.Name | Should -BeExactly 'Dns64Upstream' }
            if ($p.Name -eq 'Prefix') { $command.Noun | Should -BeExactly 'Ipv6Prefix' -Because "$Cmdlet -Prefix: name a prefix for what it is (Nat64Prefix, FixedCidrV6, DelegatedPrefix)" }
        }
    }

    It '<Cmdlet>: a number of nodes is -Nodes' -ForEach $CmdletCases {
        foreach ($p in Get-OwnParameter $Cmdlet) {
            $p.Name | Should -Not -BeIn @('Count', 'NodeCount') -Because "$Cmdlet -$($p.Name): a number of nodes is -Nodes (Count may be an alias)"
            if ($p.Aliases -contains 'Count') { $p.Name | Should -BeExactly 'Nodes' }
        }
    }

    It '<Cmdlet>: -Force only where the cmdlet writes files (it means: replace an existing file)' -ForEach $CmdletCases {
        $own = @(Get-OwnParameter $Cmdlet)
        if ($own.Name -contains 'Force') {
            @($own.Name | Where-Object { $_ -in 'OutputDirectory', 'Path' }).Count | Should -BeGreaterThan 0 -Because "$Cmdlet -Force must mean overwrite a file"
        }
    }

    It '<Cmdlet>: a restart is opted into with -Restart; no visible -NoRestart' -ForEach $CmdletCases {
        foreach ($p in Get-OwnParameter $Cmdlet) {
            if ($p.Name -match '^No(Restart|Reboot)$') { Test-Shown $p | Should -BeFalse -Because "$Cmdlet -$($p.Name) is the opposite polarity of -Restart" }
        }
    }
}

Describe 'Parameter convention: the cluster lock' {
    It '<Cmdlet> has -LockTimeoutSec exactly when it derives from ClusterLockCmdlet' -ForEach $CmdletCases {
        $command = Get-Command $Cmdlet
        $locks = Test-DerivesFrom $command.ImplementingType $LockBase
        $command.Parameters.ContainsKey('LockTimeoutSec') | Should -Be $locks
    }

    It 'every cmdlet that calls a core operation taking the cluster lock derives from ClusterLockCmdlet' {
        $core = Join-Path $Root 'src' 'Ipv6Dind.Core' 'Lab'
        $commands = Join-Path $Root 'src' 'Ipv6Dind' 'Commands'
        if (-not (Test-Path $core) -or -not (Test-Path $commands)) { Set-ItResult -Skipped -Because 'the sources are not beside the module'; return }
        # The core's locking operations: each public method of DindLab that calls LockAsync, and the cmdlet named in the call.
        $methods = [System.Collections.Generic.HashSet[string]]::new()
        $named = [System.Collections.Generic.HashSet[string]]::new()
        foreach ($file in Get-ChildItem $core -Filter 'DindLab*.cs') {
            $method = $null
            foreach ($line in Get-Content $file) {
                if ($line -match '^\s*public\s+(?:async\s+)?Task\S*\s+(\w+)\(') { $method = $Matches[1] }
                elseif ($line -match '^\s*(?:private|internal|protected)\s.*\s(\w+)\(') { $method = $null }
                if ($line -match '\bLockAsync\((?!string)[^,]+,\s*"([A-Za-z]+-[A-Za-z0-9]+)"') {
                    [void]$named.Add($Matches[1])
                    if ($method) { [void]$methods.Add($method) }
                }
            }
        }
        $methods.Count | Should -BeGreaterThan 8 -Because 'the core has about a dozen locking operations'
        $problems = foreach ($name in $named) {
            $command = Get-Command $name -Module Ipv6Dind -ErrorAction SilentlyContinue
            if (-not $command) { "the core locks for '$name', which is not an exported cmdlet" }
            elseif (-not (Test-DerivesFrom $command.ImplementingType $LockBase)) { "$name takes the lock but does not derive from ClusterLockCmdlet" }
        }
        # Every cmdlet class that calls one of those operations (lab.StopAsync(...)) must have -LockTimeoutSec too.
        $byType = @{}
        Get-Command -Module Ipv6Dind -CommandType Cmdlet | ForEach-Object { $byType[$_.ImplementingType.Name] = $_ }
        $problems2 = foreach ($file in Get-ChildItem $commands -Filter '*.cs') {
            $text = Get-Content $file -Raw
            foreach ($chunk in [regex]::Split($text, '(?=\bpublic\s+sealed\s+class\s)')) {
                if ($chunk -notmatch '^public\s+sealed\s+class\s+(\w+)') { continue }
                $command = $byType[$Matches[1]]
                if (-not $command) { continue }
                foreach ($call in [regex]::Matches($chunk, '\blab\.(\w+)\(')) {
                    $op = $call.Groups[1].Value
                    if ($methods.Contains($op) -and -not $command.Parameters.ContainsKey('LockTimeoutSec')) {
                        "$($command.Name) calls DindLab.$op, which takes the cluster lock, but has no -LockTimeoutSec"
                    }
                }
            }
        }
        $problems = @($problems) + @($problems2)
        @($problems | Where-Object { $_ }) | Should -BeNullOrEmpty
    }
}

Describe 'Parameter convention: -PassThru' {
    It 'state-changing siblings (same noun) agree on -PassThru' {
        # New-/Add- emit what they make, Get-/Test-/Invoke-/Build- what they read or ran, Remove- nothing: the others
        # change something that exists and emit only with -PassThru when any sibling does (Start-/Stop-Service).
        $producing = 'New', 'Add', 'Remove', 'Get', 'Test', 'Invoke', 'Build', 'Import', 'ConvertTo', 'ConvertFrom', 'Split'
        $problems = foreach ($group in Get-Command -Module Ipv6Dind -CommandType Cmdlet | Group-Object Noun) {
            $changing = @($group.Group | Where-Object { $_.Verb -notin $producing -and $_.Parameters.ContainsKey('WhatIf') })
            $with = @($changing | Where-Object { $_.Parameters.ContainsKey('PassThru') })
            if ($with.Count -gt 0) {
                $changing | Where-Object { -not $_.Parameters.ContainsKey('PassThru') } | ForEach-Object { "$($_.Name) lacks -PassThru ($($with[0].Name) has it)" }
            }
        }
        @($problems) | Should -BeNullOrEmpty
        (Get-Command Start-DindCluster).Parameters.ContainsKey('PassThru') | Should -BeTrue
    }
}

Describe 'Pipeline binding by property name (no Docker)' {
    BeforeAll {
        $script:SavedDockerHost = $env:DOCKER_HOST
        $env:DOCKER_HOST = 'unix:///run/ipv6dind-tests-no-such-docker.sock'
        # Values for the other mandatory parameters that are not bound from the piped object.
        $script:Samples = @{
            Image = 'busybox:latest'; Nat64Prefix = 'fd00:77:64:ff9b::/96'; Command = @('true')
        }
        $script:Bindings = 'ParameterBindingException|InputObjectNotBound|MissingMandatoryParameter|AmbiguousParameterSet|NamedParameterNotFound|ParameterArgumentTransformationError'
    }
    AfterAll { $env:DOCKER_HOST = $script:SavedDockerHost }

    It 'New-DindClusterSpec lab -Nodes 2 | Get-DindAddressPlan plans two nodes' {
        $rows = New-DindClusterSpec lab -Nodes 2 -Subnet fd00:77::/48 -Dns64Upstream 198.51.100.53 -SkipHostCheck | Get-DindAddressPlan
        @($rows | Where-Object { $_.Name -like 'lab-node-*' } | Select-Object -ExpandProperty Name -Unique).Count | Should -BeGreaterOrEqual 2
        @($rows).ForEach({ $_.ClusterName }) | Sort-Object -Unique | Should -BeExactly 'lab'
    }

    It 'New-DindClusterSpec binds ClusterName and Nodes by property name (and the old Name)' {
        $spec = [pscustomobject]@{ ClusterName = 'lab'; Nodes = 3; Subnet = 'fd00:77::/48'; Dns64Upstream = '198.51.100.53' } | New-DindClusterSpec -SkipHostCheck
        $spec.ClusterName | Should -BeExactly 'lab'
        $spec.Nodes | Should -Be 3
        ([pscustomobject]@{ Name = 'old'; Subnet = 'fd00:78::/48'; Dns64Upstream = '198.51.100.53' } | New-DindClusterSpec -SkipHostCheck).ClusterName | Should -BeExactly 'old'
    }

    It 'a spec piped to New-DindCluster is taken whole (its -Subnet too), not only its ClusterName' {
        # Both parameter sets accept the piped spec (Spec by value, ClusterName by property name); the Spec set
        # must win, or every other setting of the spec would be silently dropped.
        $spec = New-DindClusterSpec it-piped -Nodes 2 -Subnet fd00:91::/48 -Dns64Upstream 198.51.100.53 -SkipHostCheck
        # -WhatIf writes to the host, which only a transcript records.
        $transcript = Join-Path ([System.IO.Path]::GetTempPath()) "ipv6dind-whatif-$PID.txt"
        Start-Transcript -LiteralPath $transcript -UseMinimalHeader | Out-Null
        try { $spec | New-DindCluster -NetworkOnly -WhatIf }
        finally { Stop-Transcript | Out-Null }
        $whatIf = Get-Content -LiteralPath $transcript -Raw
        Remove-Item -LiteralPath $transcript
        $whatIf | Should -Match 'with 2 node\(s\) on fd00:91:0:10::/64'
        (Get-Command New-DindCluster).DefaultParameterSet | Should -BeExactly 'Spec'
    }

    It '[pscustomobject]@{ ClusterName = ''x'' } | <Cmdlet> binds, and nothing reaches Docker' -ForEach $ClusterCmdletCases {
        $command = Get-Command $Cmdlet
        if ($command.Noun -eq 'DindClusterSpec') { Set-ItResult -Skipped -Because 'it names a new cluster (checked above)'; return }
        $piped = [pscustomobject]@{ ClusterName = 'x'; NodeName = 'x-node-1' }
        $extra = @{}
        foreach ($set in $command.ParameterSets | Where-Object { $_.Parameters.Name -contains 'ClusterName' }) {
            foreach ($p in $set.Parameters | Where-Object { $_.IsMandatory -and -not $_.ValueFromPipelineByPropertyName -and $_.Name -ne 'ClusterName' }) {
                $Samples.ContainsKey($p.Name) | Should -BeTrue -Because "$Cmdlet -$($p.Name) needs a sample value in this test"
                $extra[$p.Name] = $Samples[$p.Name]
            }
            break
        }
        if ($command.Parameters.ContainsKey('WhatIf')) { $extra.WhatIf = $true }
        if ($command.Parameters.ContainsKey('Confirm')) { $extra.Confirm = $false }
        $errors = $null
        try { $out = $piped | & $Cmdlet @extra -ErrorAction SilentlyContinue -ErrorVariable errors 3>$null 6>$null }
        catch { $errors = @($_) }
        foreach ($e in @($errors)) {
            $id = if ($e -is [System.Management.Automation.ErrorRecord]) { $e.FullyQualifiedErrorId } else { "$e" }
            $id | Should -Not -Match $Bindings -Because "$Cmdlet must bind ClusterName from the pipeline: $e"
            # Anything else is the dead Docker endpoint, a missing cluster or a refused name: never a created object.
            $id | Should -Match 'DockerUnreachable|ClusterNotFound|DockerHostInvalid|Invalid|NotFound' -Because "$e"
        }
    }

    It 'the objects the module writes bind by their ClusterName (and NodeName): <Type> | <Cmdlet>' -ForEach @(
        @{ Type = 'Ipv6Dind.DindCluster'; Cmdlet = 'Get-DindRoute' }
        @{ Type = 'Ipv6Dind.DindCluster'; Cmdlet = 'Get-DindNode' }
        @{ Type = 'Ipv6Dind.DindCluster'; Cmdlet = 'Remove-DindCluster' }
        @{ Type = 'Ipv6Dind.DindCluster'; Cmdlet = 'Repair-ConntrackHashsize' }
        @{ Type = 'Ipv6Dind.DindNode'; Cmdlet = 'Get-DindRoute' }
        @{ Type = 'Ipv6Dind.DindNode'; Cmdlet = 'Sync-DindRoute' }
        @{ Type = 'Ipv6Dind.DindNode'; Cmdlet = 'Remove-DindNode' }
    ) {
        $piped = New-Object -TypeName $Type -Property @{ ClusterName = 'x' }
        if ($Type -eq 'Ipv6Dind.DindNode') { $piped = New-Object -TypeName $Type -Property @{ ClusterName = 'x'; NodeName = 'x-node-1' } }
        $extra = @{}
        if ((Get-Command $Cmdlet).Parameters.ContainsKey('WhatIf')) { $extra.WhatIf = $true; $extra.Confirm = $false }
        $errors = $null
        try { $null = $piped | & $Cmdlet @extra -ErrorAction SilentlyContinue -ErrorVariable errors 6>$null }
        catch { $errors = @($_) }
        foreach ($e in @($errors)) { $e.FullyQualifiedErrorId | Should -Not -Match $Bindings -Because "$e" }
    }

    It 'the old names still bind: Get-DindCluster -Name, Add-DindNode -Count, Set-Dns64 -Upstream, Set-Nat64Prefix -Prefix' {
        { Get-DindCluster -Name 'x' -ErrorAction Stop } | Should -Throw -ExceptionType ([System.Exception]) -Because 'the dead endpoint fails, after binding'
        (Get-Command Add-DindNode).ResolveParameter('Count').Name | Should -BeExactly 'Nodes'
        (Get-Command Set-Dns64).ResolveParameter('Upstream').Name | Should -BeExactly 'Dns64Upstream'
        (Get-Command Set-Nat64Prefix).ResolveParameter('Prefix').Name | Should -BeExactly 'Nat64Prefix'
        (Get-Command Enable-DockerIpv6).ResolveParameter('Prefix').Name | Should -BeExactly 'FixedCidrV6'
        (Get-Command Enable-DockerIpv6).ResolveParameter('TimeoutSeconds').Name | Should -BeExactly 'TimeoutSec'
        (Get-Command Build-DindImage).ResolveParameter('Force').Name | Should -BeExactly 'Rebuild'
        (Get-Command Set-DockerIpv6Prefix).ResolveParameter('NoRestart').Name | Should -BeExactly 'NoRestart'
    }
}

# Binding against a real lab (Get-DindCluster <lab> | Get-DindNode / Get-DindRoute) is in OutputLab.Tests.ps1.
