# What only real pwsh shows, on a real lab: tab completion of lab and node names through
# TabExpansion2, Export-DindLog's summary, Invoke-DindCommand's errors. One 1-node network lab, removed in AfterAll
# also when a test or the bring-up fails. Needs Docker and the role images (Build-DindImage): without them the bring-up in BeforeAll fails, and so does every
# test here (never skipped).
Describe 'On a 1-node network lab' -Tag Docker {
    BeforeAll {
        Import-Module $env:IPV6DIND_MODULE -Force
        $script:Name = 'pwsh-out-' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
        $script:Node = "$script:Name-node-1"
        $script:Logs = Join-Path ([IO.Path]::GetTempPath()) "ipv6dind-pwsh-logs-$([Guid]::NewGuid().ToString('N'))"
        Build-DindImage -ErrorAction Stop | Out-Null      # cached by recipe: quick when the images are there
        New-DindCluster $script:Name -Nodes 1 -NetworkOnly -Dns64Upstream 198.51.100.53 -ErrorAction Stop | Out-Null

        function script:Complete([string] $line) { (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches }
    }

    AfterAll {
        if ($script:Name) { Remove-DindCluster $script:Name -Confirm:$false -ErrorAction Continue }
        if ($script:Logs -and (Test-Path -LiteralPath $script:Logs)) { Remove-Item -LiteralPath $script:Logs -Recurse -Force }
    }

    It 'completes the lab name of Get-DindNode -ClusterName, with its state in the tool tip' {
        $found = Complete "Get-DindNode -ClusterName $($script:Name.Substring(0, 12))"
        $found.CompletionText | Should -Contain $script:Name
        ($found | Where-Object CompletionText -eq $script:Name).ToolTip | Should -BeLike "${script:Name}: Running, 1 node(s), network lab*"
    }

    It 'completes the node name of Invoke-DindCommand after the lab name given by position' {
        $found = Complete "Invoke-DindCommand $($script:Name) "
        $found.CompletionText | Should -Be @($script:Node)
        $found[0].ToolTip | Should -BeLike "${script:Node}: ControlPlane, running, fd*"
    }

    It 'binds the lab from Get-DindCluster by its ClusterName into Get-DindNode and Get-DindRoute' {
        $lab = Get-DindCluster $script:Name
        @($lab | Get-DindNode -ErrorAction Stop).NodeName | Should -Be @($script:Node)
        $routes = @($lab | Get-DindRoute -ErrorAction Stop)
        $routes.Count | Should -BeGreaterThan 0
        @($routes.ClusterName | Sort-Object -Unique) | Should -Be @($script:Name)
    }

    It 'enumerates IPv6Address over the nodes Get-DindNode returns' {
        $nodes = @(Get-DindNode $script:Name)
        $nodes.IPv6Address | Should -Match '^fd[0-9a-f]{2}:'
        (Get-DindNode $script:Name | Out-String -Width 80) -split "`n" | Where-Object { $_.TrimEnd().Length -gt 80 } | Should -BeNullOrEmpty
        (Get-DindCluster $script:Name | Out-String -Width 80) | Should -BeLike "*$($script:Name)*Running*network*"
    }

    It 'Export-DindLog emits one summary with the folder, file count, size and containers' {
        $export = @(Export-DindLog $script:Name $script:Logs)
        $export.Count | Should -Be 1
        $export[0] | Should -BeOfType ([Ipv6Dind.DindLogExport])
        $export[0].Path | Should -Be $script:Logs
        $export[0].FileCount | Should -Be $export[0].Files.Count
        $export[0].FileCount | Should -BeGreaterThan 5
        $export[0].TotalBytes | Should -Be (($export[0].Files | ForEach-Object { (Get-Item -LiteralPath $_.FullName).Length } | Measure-Object -Sum).Sum)
        $export[0].Containers | Sort-Object | Should -Be (@("$($script:Name)-dns64", "$($script:Name)-nat64", $script:Node) | Sort-Object)
        $text = $export[0] | Out-String -Width 80
        $text | Should -BeLike "*FileCount*$($export[0].FileCount)*"
    }

    It 'a failing command names node, cluster, command, exit code and the reason' {
        $err = $null
        $result = Invoke-DindCommand $script:Name $script:Node ls /no/such/path -ErrorVariable err -ErrorAction SilentlyContinue
        $result.ExitCode | Should -Not -Be 0
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ExecFailed,*'
        $err[0].Exception.Message | Should -BeLike "ls /no/such/path exited with $($result.ExitCode) in node '$($script:Node)' of cluster '$($script:Name)': *No such file or directory*"
    }

    It 'a program that cannot run (126/127) says why, also when it wrote nothing to stderr' {
        $err = $null
        $result = Invoke-DindCommand $script:Name $script:Node /etc/hostname -ErrorVariable err -ErrorAction SilentlyContinue
        $result.ExitCode | Should -BeIn @(126, 127)
        $err[0].Exception.Message | Should -BeLike "/etc/hostname exited with $($result.ExitCode) in node '$($script:Node)' of cluster '$($script:Name)': ?*"
        $err[0].Exception.Message | Should -Match 'permission denied|not found|could not be run'
    }

    It 'a stopped node is NodeNotRunning, naming node and cluster, with Start-DindCluster as the RecommendedAction' {
        Stop-DindCluster $script:Name -Confirm:$false | Out-Null
        try {
            $record = try { Invoke-DindCommand $script:Name $script:Node true -ErrorAction Stop; $null } catch { $_ }
            $record | Should -Not -BeNullOrEmpty
            $record.FullyQualifiedErrorId | Should -BeLike 'NodeNotRunning,*'
            $record.Exception.Message | Should -BeLike "Node '$($script:Node)' of cluster '$($script:Name)' is not running*"
            $record.ErrorDetails.RecommendedAction | Should -Be "Start-DindCluster $($script:Name)"
            $record.Exception.Message | Should -Not -BeLike '*Container * is not running*'
        }
        finally {
            Start-DindCluster $script:Name -Confirm:$false -ErrorAction Continue | Out-Null
        }
    }
}
