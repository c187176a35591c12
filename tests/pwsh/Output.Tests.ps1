# What only real pwsh shows about the module's output: member enumeration over arrays, default
# views at 80 columns, Get-Error and tab completion. No Docker here; tests/pwsh/OutputLab.Tests.ps1 has what needs a lab.
BeforeAll {
    Import-Module $env:IPV6DIND_MODULE -Force

    # Realistic long values: a 20-character cluster name, a random ULA /48 as New-DindClusterSpec picks one.
    $script:Cluster = 'nightly-calico-lab01'
    $c = $script:Cluster
    $node1 = "$c-node-1"
    $node2 = "$c-node-2"

    function script:Collapse([string] $text) { ($text -replace '\s+', ' ').Trim() }

    # Objects of every type a view of the format file selects, and the values its default view must show in full.
    $script:Fixtures = @{
        'Ipv6Dind.DindClusterSpec' = @{
            Objects = @(New-DindClusterSpec $c -Nodes 3 -SkipHostCheck -Subnet fda5:1146:d380::/48 -Nat64Prefix fda5:1146:d380:64::/96 -Dns64Upstream 198.51.100.53)
            Keys    = @($c, 'fda5:1146:d380::/48', 'fda5:1146:d380:64::/96')
        }
        'Ipv6Dind.DindAddressAssignment' = @{
            Objects = @(New-DindClusterSpec $c -Nodes 3 -SkipHostCheck -Subnet fda5:1146:d380::/48 -Dns64Upstream 198.51.100.53 | Get-DindAddressPlan)
            Keys    = @($c, "ipv6dind-$c", "$c-node-3", 'fda5:1146:d380:10::1003', 'fda5:1146:d380:40:3::/80', 'fda5:1146:d380:10::/64', '198.51.100.53')
        }
        'Ipv6Dind.AddressPlan' = @{
            Objects = @(New-DindClusterSpec $c -Nodes 3 -SkipHostCheck -Subnet fda5:1146:d380::/48 -Dns64Upstream 198.51.100.53 | Get-DindAddressPlan -AsObject)
            Keys    = @($c, 'fda5:1146:d380:10::/64', "$c-node-3 fda5:1146:d380:10::1003", 'fda5:1146:d380:40::/64')
        }
        'Ipv6Dind.NodeAddress' = @{
            Objects = @((New-DindClusterSpec $c -Nodes 3 -SkipHostCheck -Subnet fda5:1146:d380::/48 -Dns64Upstream 198.51.100.53 | Get-DindAddressPlan -AsObject).NodeAddresses)
            Keys    = @("$c-node-3", 'fda5:1146:d380:10::1003', 'fda5:1146:d380:40:3::/80')
        }
        'Ipv6Dind.Nat64Address' = @{
            Objects = @(ConvertTo-Nat64Address 198.51.100.80 -Prefix fda5:1146:d380:64::/96)
            Keys    = @('198.51.100.80', 'fda5:1146:d380:64::c633:6450', 'fda5:1146:d380:64::/96')
        }
        'Ipv6Dind.Ipv6Subnet' = @{
            Objects = @(Split-Ipv6Prefix fda5:1146:d380:40::/64 -SubnetLength 80 -First 2)
            Keys    = @('fda5:1146:d380:40:1::/80', 'fda5:1146:d380:40:1:ffff:ffff:ffff')
        }
        'Ipv6Dind.RenderedConfig' = @{
            Objects = @([Ipv6Dind.RenderedConfig]@{ ClusterName = $c; Kind = 'Cni'; NodeName = $node1; FileName = '10-bridge.conflist'; ContainerPath = '/etc/cni/net.d/10-bridge.conflist'; Content = '{}' })
            Keys    = @($c, $node1, '/etc/cni/net.d/10-bridge.conflist')
        }
        'Ipv6Dind.CheckResult' = @{
            Objects = @(
                [Ipv6Dind.CheckResult]@{ Target = $node1; Check = 'NodeToNode'; Status = 'Pass'; Detail = "ping $node2 (fda5:1146:d380:10::1002)" }
                [Ipv6Dind.CheckResult]@{ Target = $node2; Check = 'PodToPod'; Status = 'Fail'; Detail = "pod fda5:1146:d380:40:2::5 got no answer from pod fda5:1146:d380:40:1::5 on $node1"; Remedy = "Export-DindLog shows the node's CNI configuration and routes." }
                [Ipv6Dind.CheckResult]@{ Target = $c; Check = 'Dns64Synthesis'; Status = 'Warn'; Detail = 'www.example.test has no A record upstream'; Remedy = "Check that the DNS64 upstream (198.51.100.53) answers A queries for www.example.test (Get-Dns64 $c)." })
            Keys    = @($node1, $node2, 'NodeToNode', 'PodToPod', "Export-DindLog shows the node's CNI configuration and routes.", 'Check that the DNS64 upstream (198.51.100.53) answers A queries')
        }
        'Ipv6Dind.DindCluster' = @{
            Objects = @(
                [Ipv6Dind.DindCluster]@{ ClusterName = $c; State = 'Degraded'; Nodes = 12; NetworkOnly = $false; KubernetesVersion = 'v1.31.2'; ManagementPrefix = 'fda5:1146:d380:10::/64'; Nat64Prefix = 'fda5:1146:d380:64::/96'; AllowAaaa = $true }
                [Ipv6Dind.DindCluster]@{ ClusterName = 'lab'; State = 'Running'; Nodes = 1; NetworkOnly = $true; ManagementPrefix = 'fd12:3456:789a:10::/64' })
            Keys    = @($c, 'Degraded', 'v1.31.2', 'fda5:1146:d380:10::/64', 'fd12:3456:789a:10::/64', 'network')
        }
        'Ipv6Dind.DindNode' = @{
            Objects = @(
                [Ipv6Dind.DindNode]@{ ClusterName = $c; NodeName = $node1; Index = 1; Role = 'ControlPlane'; State = 'running'; IPv6Address = 'fda5:1146:d380:10::1001'; PodPrefix = 'fda5:1146:d380:40:1::/80'; ContainerId = '0123456789abcdef'; Image = 'ipv6dind/node:0.2.0' }
                [Ipv6Dind.DindNode]@{ ClusterName = $c; NodeName = $node2; Index = 2; Role = 'Worker'; State = 'exited'; IPv6Address = 'fda5:1146:d380:10::1002'; PodPrefix = 'fda5:1146:d380:40:2::/80'; ContainerId = 'fedcba9876543210'; Image = 'ipv6dind/node:0.2.0' })
            Keys    = @($node1, $node2, 'ControlPlane', 'exited', 'fda5:1146:d380:10::1001', 'fda5:1146:d380:10::1002')
        }
        'Ipv6Dind.DindRoute' = @{
            Objects = @(
                [Ipv6Dind.DindRoute]@{ ClusterName = $c; NodeName = $node1; Destination = 'fda5:1146:d380:40:2::/80'; Gateway = 'fda5:1146:d380:10::1002'; Kind = 'Pod'; Present = $true }
                [Ipv6Dind.DindRoute]@{ ClusterName = $c; NodeName = $node1; Destination = 'fda5:1146:d380:64::/96'; Gateway = 'fda5:1146:d380:10::200'; Kind = 'Nat64'; Present = $false })
            Keys    = @($node1, 'fda5:1146:d380:40:2::/80', 'fda5:1146:d380:10::1002', 'fda5:1146:d380:64::/96', 'Nat64')
        }
        'Ipv6Dind.Dns64Settings' = @{
            Objects = @([Ipv6Dind.Dns64Settings]@{ ClusterName = $c; IPv6Address = 'fda5:1146:d380:10::100'; Nat64Prefix = 'fda5:1146:d380:64::/96'; AllowAaaa = $false; Upstream = @('198.51.100.53', '2001:db8:53::53'); Running = $true })
            Keys    = @($c, 'fda5:1146:d380:10::100', 'fda5:1146:d380:64::/96', '198.51.100.53', '2001:db8:53::53')
        }
        'Ipv6Dind.Nat64Mapping' = @{
            Objects = @([Ipv6Dind.Nat64Mapping]@{ ClusterName = $c; IPv6Address = 'fda5:1146:d380:40:1::1234'; IPv4Address = '198.18.141.201'; LastUse = [DateTimeOffset]::new(2026, 11, 23, 3, 15, 2, [TimeSpan]::Zero) })
            Keys    = @($c, 'fda5:1146:d380:40:1::1234', '198.18.141.201')
        }
        'Ipv6Dind.DindCommandResult' = @{
            Objects = @([Ipv6Dind.DindCommandResult]@{ ClusterName = $c; NodeName = $node1; ExitCode = 126; Output = ''; Error = 'sh: /opt/probe: Permission denied' })
            Keys    = @($node1, '126')
        }
        'Ipv6Dind.BuiltImage' = @{
            Objects = @([Ipv6Dind.BuiltImage]::new('node', 'ipv6dind/node:0.2.0-preview.1', 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', $true))
            Keys    = @('node', 'ipv6dind/node:0.2.0-preview.1', '0123456789ab')
        }
        'Ipv6Dind.DindLogExport' = @{
            Objects = @([Ipv6Dind.DindLogExport]@{ ClusterName = $c; Path = "/srv/lab/$c-logs-20261123T031502Z"; FileCount = 37; TotalBytes = 422195; Containers = @("$c-dns64", "$c-nat64", $node1) })
            Keys    = @($c, '37', '412.3 KiB', "/srv/lab/$c-logs-20261123T031502Z")
        }
        'Ipv6Dind.ConntrackStatus' = @{
            Objects = @([Ipv6Dind.ConntrackStatus]@{ Target = $c; CpuCount = 64; MaxPerCore = 32768; Min = 131072; RequiredMax = 2097152; RequiredHashsize = 524288; CurrentHashsize = 65536; NeedsRepair = $true })
            Keys    = @($c, '2097152', '524288', '65536', 'True')
        }
        'Ipv6Dind.DockerIpv6Settings' = @{
            Objects = @([Ipv6Dind.DockerIpv6Settings]@{ ConfigPath = '/etc/docker/daemon.json'; Ipv6 = $true; FixedCidrV6 = 'fda5:1146:d380:ff::/64'; Ip6Tables = $true; Changed = $true; BackupPath = '/etc/docker/daemon.json.ipv6dind-20261123T031502Z.bak'; Restarted = $true; RestartMethod = 'systemctl restart docker' })
            Keys    = @('/etc/docker/daemon.json', 'fda5:1146:d380:ff::/64', '/etc/docker/daemon.json.ipv6dind-20261123T031502Z.bak')
        }
    }

    [xml] $format = Get-Content -Raw (Join-Path (Get-Module Ipv6Dind).ModuleBase 'Ipv6Dind.Format.ps1xml')
    $script:Views = @($format.Configuration.ViewDefinitions.View)
    $script:ViewTypes = @($script:Views | ForEach-Object { $_.ViewSelectedBy.TypeName } | Select-Object -Unique)

    # Names pwsh resolves on the array itself before it enumerates the members: $nodes.Address is Array.Address(int).
    $script:ArrayMembers = @((Get-Member -InputObject ([object[]]@(1)) -Force).Name) + 'Count', 'Length' | Select-Object -Unique

    # The module's output types: [OutputType] of every exported cmdlet, and the module's types their properties hold.
    $types = [System.Collections.Generic.HashSet[type]]::new()
    $queue = [System.Collections.Generic.Queue[type]]::new()
    foreach ($t in (Get-Command -Module Ipv6Dind).OutputType.Type) { if ($t) { $queue.Enqueue($t) } }
    while ($queue.Count) {
        $t = $queue.Dequeue()
        if ($t.IsArray) { $t = $t.GetElementType() }
        if ($t.Namespace -ne 'Ipv6Dind' -or -not $types.Add($t)) { continue }
        foreach ($p in $t.GetProperties([System.Reflection.BindingFlags]'Public,Instance')) {
            $queue.Enqueue($p.PropertyType)
            foreach ($g in $p.PropertyType.GenericTypeArguments) { $queue.Enqueue($g) }
        }
    }
    $script:OutputTypes = @($types)
}

Describe 'Output properties' {
    It 'finds the output types of the exported cmdlets, nested ones included' {
        $names = $script:OutputTypes.FullName
        $names | Should -Contain 'Ipv6Dind.DindNode'
        $names | Should -Contain 'Ipv6Dind.NodeAddress'        # through AddressPlan.NodeAddresses
        $names | Should -Contain 'Ipv6Dind.DindClusterSpec'    # through DindCluster.Spec
        $names | Should -Contain 'Ipv6Dind.DindLogExport'
    }

    It 'has no property named like a member of [object[]] (member enumeration would return the array''s own)' {
        $clashes = foreach ($t in $script:OutputTypes) {
            foreach ($p in $t.GetProperties([System.Reflection.BindingFlags]'Public,Instance')) {
                if ($p.Name -in $script:ArrayMembers) { "$($t.FullName).$($p.Name)" }
            }
        }
        $clashes | Should -BeNullOrEmpty
    }

    It 'enumerates <Property> over an array of <Type>' -ForEach @(
        @{ Type = 'DindNode'; Property = 'IPv6Address' }
        @{ Type = 'NodeAddress'; Property = 'IPv6Address' }
        @{ Type = 'DindAddressAssignment'; Property = 'IPAddress' }
        @{ Type = 'Dns64Settings'; Property = 'IPv6Address' }
    ) {
        $class = [type]"Ipv6Dind.$Type"
        $objects = @(@{ $Property = 'fda5:1146:d380:10::1001' } -as $class; @{ $Property = 'fda5:1146:d380:10::1002' } -as $class)
        $objects[0] | Should -BeOfType $class
        $objects.$Property | Should -Be @('fda5:1146:d380:10::1001', 'fda5:1146:d380:10::1002')
    }

    It 'enumerates the node addresses of a real plan' {
        $plan = New-DindClusterSpec lab -Nodes 3 -SkipHostCheck -Subnet fda5:1146:d380::/48 -Dns64Upstream 198.51.100.53 | Get-DindAddressPlan -AsObject
        $plan.NodeAddresses.IPv6Address | Should -Be @('fda5:1146:d380:10::1001', 'fda5:1146:d380:10::1002', 'fda5:1146:d380:10::1003')
        (New-DindClusterSpec lab -Nodes 3 -SkipHostCheck -Subnet fda5:1146:d380::/48 -Dns64Upstream 198.51.100.53 | Get-DindAddressPlan |
            Where-Object Role -eq Dns64Upstream).IPAddress | Should -Be '198.51.100.53'
    }
}

Describe 'Default views at 80 columns' {
    It 'has objects for every type the format file has a view of' {
        $script:ViewTypes | Where-Object { -not $script:Fixtures.ContainsKey($_) } | Should -BeNullOrEmpty
    }

    It '<_> renders within 80 columns and shows its key values in full' -ForEach @(
        'Ipv6Dind.DindClusterSpec', 'Ipv6Dind.DindAddressAssignment', 'Ipv6Dind.AddressPlan', 'Ipv6Dind.NodeAddress',
        'Ipv6Dind.Nat64Address', 'Ipv6Dind.Ipv6Subnet', 'Ipv6Dind.RenderedConfig', 'Ipv6Dind.CheckResult', 'Ipv6Dind.DindCluster',
        'Ipv6Dind.DindNode', 'Ipv6Dind.DindRoute', 'Ipv6Dind.Dns64Settings', 'Ipv6Dind.Nat64Mapping', 'Ipv6Dind.DindCommandResult',
        'Ipv6Dind.BuiltImage', 'Ipv6Dind.DindLogExport', 'Ipv6Dind.ConntrackStatus', 'Ipv6Dind.DockerIpv6Settings'
    ) {
        $fixture = $script:Fixtures[$_]
        $fixture.Objects.Count | Should -BeGreaterThan 0
        $fixture.Objects[0].GetType().FullName | Should -Be $_
        $text = $fixture.Objects | Out-String -Width 80
        $long = @($text -split "`r?`n" | Where-Object { $_.TrimEnd().Length -gt 80 })
        $long | Should -BeNullOrEmpty -Because "every line fits 80 columns:`n$text"
        $text | Should -Not -Match '…' -Because "no column is cut off:`n$text"
        foreach ($key in $fixture.Keys) {
            # Whole values in one piece; only the CheckResult remedy may wrap (between words).
            if ($_ -eq 'Ipv6Dind.CheckResult') { Collapse $text | Should -BeLikeExactly "*$(Collapse $key)*" }
            else { $text | Should -BeLikeExactly "*$key*" -Because "the default view shows '$key':`n$text" }
        }
    }

    It 'Format-Table of <_> fits 80 columns too' -ForEach @(
        'Ipv6Dind.CheckResult', 'Ipv6Dind.DindAddressAssignment', 'Ipv6Dind.DindCluster', 'Ipv6Dind.DindNode', 'Ipv6Dind.DindRoute'
    ) {
        $text = $script:Fixtures[$_].Objects | Format-Table | Out-String -Width 80
        @($text -split "`r?`n" | Where-Object { $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty -Because $text
    }

    It 'shows the remedy of a failed or warned check, not of a passed one' {
        $checks = $script:Fixtures['Ipv6Dind.CheckResult'].Objects
        $pass = $checks[0] | Out-String -Width 80
        $pass | Should -Not -Match 'Remedy'
        $fail = Collapse ($checks[1] | Out-String -Width 80)
        $fail | Should -BeLikeExactly "*Remedy: Export-DindLog shows the node's CNI configuration and routes.*"
        $warn = Collapse ($checks[2] | Out-String -Width 80)
        $warn | Should -BeLikeExactly '*Remedy: Check that the DNS64 upstream (198.51.100.53) answers A queries*'
        # Under its own check, not the next one's.
        $all = $checks | Out-String -Width 80
        $all.IndexOf('Remedy: Export-DindLog') | Should -BeGreaterThan $all.IndexOf('Fail ')
        $all.IndexOf('Remedy: Export-DindLog') | Should -BeLessThan $all.IndexOf('Warn ')
    }

    It 'Export-DindLog declares its summary type' {
        (Get-Command Export-DindLog).OutputType.Type | Should -Be ([Ipv6Dind.DindLogExport])
        $export = $script:Fixtures['Ipv6Dind.DindLogExport'].Objects[0]
        $export.TotalSize | Should -Be '412.3 KiB'
    }
}

Describe 'Errors in real pwsh' {
    BeforeAll {
        # A child pwsh: Get-Error reads $Error of a fresh session, as a user sees it after the failing command.
        $script:Pwsh = [Environment]::ProcessPath
        $script:PwshArgs = @()
        if ([IO.Path]::GetFileNameWithoutExtension($script:Pwsh) -eq 'dotnet') { $script:PwshArgs = @([Reflection.Assembly]::GetEntryAssembly().Location) }
    }

    It 'Get-Error shows the RecommendedAction of a value the module rejects' {
        $script = "Import-Module '$($env:IPV6DIND_MODULE)'; New-DindClusterSpec lab -SkipHostCheck -Nat64Prefix fd00:77:64::/80 -ErrorAction SilentlyContinue; Get-Error | Out-String -Width 200"
        $out = & $script:Pwsh @script:PwshArgs -NoProfile -NonInteractive -Command $script 2>&1 | Out-String
        $out | Should -Match 'FullyQualifiedErrorId\s*:\s*InvalidNat64PrefixLength,Ipv6Dind\.Commands\.NewDindClusterSpecCommand'
        $out | Should -Match '(?m)^\s*RecommendedAction\s*:\s*Use /32, /40, /48, /56, /64 or /96'
    }

    It 'the ErrorRecord carries the RecommendedAction in its ErrorDetails' {
        $record = try { New-DindClusterSpec lab -SkipHostCheck -Nat64Prefix fd00:77:64::/80; $null } catch { $_ }
        $record.ErrorDetails.RecommendedAction | Should -BeLike 'Use /32, /40, /48, /56, /64 or /96*'
    }
}

Describe 'Tab completion through TabExpansion2' {
    It 'completes -Cni values without Docker' {
        $result = TabExpansion2 -inputScript 'New-DindClusterSpec lab -Cni ' -cursorColumn 'New-DindClusterSpec lab -Cni '.Length
        $result.CompletionMatches.CompletionText | Should -Be @('bridge', 'calico', 'ptp')
    }

    It 'completes lab names with the module''s completer, which answers nothing, fast and without an error, when Docker is unreachable' {
        $completer = (Get-Command Get-DindNode).Parameters['ClusterName'].Attributes |
            Where-Object { $_ -is [System.Management.Automation.ArgumentCompleterAttribute] }
        $completer.Type.FullName | Should -Be 'Ipv6Dind.Completion.ClusterNameCompleter'
        # A child pwsh, DOCKER_HOST at a socket nobody listens on: no Docker is touched.
        $pwsh = [Environment]::ProcessPath
        $pwshArgs = @()
        if ([IO.Path]::GetFileNameWithoutExtension($pwsh) -eq 'dotnet') { $pwshArgs = @([Reflection.Assembly]::GetEntryAssembly().Location) }
        $socket = Join-Path ([IO.Path]::GetTempPath()) "ipv6dind-no-docker-$([Guid]::NewGuid().ToString('N')).sock"
        $script = @"
`$env:DOCKER_HOST = 'unix://$socket'
Import-Module '$($env:IPV6DIND_MODULE)'
`$line = 'Get-DindNode -ClusterName '
`$watch = [Diagnostics.Stopwatch]::StartNew()
`$r = TabExpansion2 -inputScript `$line -cursorColumn `$line.Length
'values=' + @(`$r.CompletionMatches | Where-Object ResultType -eq ParameterValue).Count
'errors=' + `$Error.Count
'seconds=' + [int]`$watch.Elapsed.TotalSeconds
"@
        $out = & $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script 2>&1 | Out-String
        $out | Should -Match 'values=0'
        $out | Should -Match 'errors=0'
        [int]($out -replace '(?s).*seconds=(\d+).*', '$1') | Should -BeLessOrEqual 3
    }

    It 'completes -Cni from a prefix' {
        $result = TabExpansion2 -inputScript 'New-DindClusterSpec lab -Cni ca' -cursorColumn 'New-DindClusterSpec lab -Cni ca'.Length
        $result.CompletionMatches.CompletionText | Should -Be @('calico')
    }
}
