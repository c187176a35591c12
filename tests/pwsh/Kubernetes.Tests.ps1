# A Kubernetes lab in real pwsh, against the TEST DOUBLE of kubeadm/kubelet/kubectl/ctr (tests/doubles/kubernetes;
# its image, on the product's kubernetes-node image, is built by the integration tests:
# tests/Ipv6Dind.IntegrationTests/Kubernetes/KubeDoubleImage.cs). One BeforeAll brings up the outside world and a
# 1-node lab of that image; one AfterAll removes both. The double runs no CoreDNS, so the two cluster-DNS checks
# fail, as they should (README, "What is verified here"). Without the image the suite fails.
BeforeAll {
    $script:OwnsLab = $false
    $script:OwnsWorld = $false
    . (Join-Path $PSScriptRoot 'LabSupport.ps1')
    Import-Module $env:IPV6DIND_MODULE -Force
    $script:Lab = 'kdouble'
    $script:Nightly = Join-Path $RepoRoot 'examples' 'nightly' 'Rebuild-DindLab.ps1'
    Assert-LabHost
    # The newest double built on the kubernetes-node image (systemd as PID 1, containerd).
    $list = Invoke-Child -FilePath docker -ArgumentList @('image', 'ls', '--filter', 'label=io.ipv6dind.test-double=true',
        '--filter', 'label=io.ipv6dind.role=kubernetes-node', '--format', '{{.Repository}}:{{.Tag}}') -TimeoutSec 30
    $script:Image = @($list.Output -split "`n" | Where-Object { $_.Trim() }) | Select-Object -First 1
    if (-not $Image) {
        throw 'No kubeadm double image on the kubernetes-node image in Docker: the integration tests build it (tests/Ipv6Dind.IntegrationTests/Kubernetes).'
    }
    if (Get-DindCluster -Name $Lab -ErrorAction SilentlyContinue) { throw "A lab named '$Lab' already exists; this suite would remove it." }
    $script:OwnsLab = $true
    $script:OwnsWorld = $true
    Start-OutsideWorld
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    # Through a spec, as scripts do: New-DindClusterSpec fills in the default Kubernetes version (v1.33.0), the double's
    # image has v1.31.2, and the image's version is taken without a warning (the spec's version is the default).
    $spec = New-DindClusterSpec -ClusterName $Lab -Nodes 1 -NodeImage $Image -Cni ptp -Dns64Upstream $OutsideResolver
    $null = $spec | New-DindCluster -Confirm:$false -WarningVariable createWarnings -WarningAction SilentlyContinue
    $script:CreateWarnings = @($createWarnings)
    Write-Host "Kubernetes.Tests: lab '$Lab' of $Image up in $([int]$watch.Elapsed.TotalSeconds) s"
}

AfterAll {
    if ($script:OwnsLab) { Remove-TestLab $Lab }
    if ($script:OwnsWorld) { Stop-OutsideWorld }
}

Describe 'A Kubernetes lab of the kubeadm double' -Tag 'Lab', 'Kubernetes' {
    It 'takes the node image''s Kubernetes version from a piped spec, without a warning' {
        $CreateWarnings | Where-Object { "$_" -match 'Kubernetes' } | Should -BeNullOrEmpty
        (Get-DindCluster $Lab).KubernetesVersion | Should -BeExactly 'v1.31.2'
    }

    It 'gives a kubeconfig for the host: the API server on [::1]' {
        $config = Get-DindKubeconfig -ClusterName $Lab
        "$config" | Should -Match 'server: https://\[::1\]:\d+'
        "$config" | Should -Match "ipv6dind-$Lab"
    }

    It 'passes the Kubernetes checks but the two cluster-DNS ones (no CoreDNS in the double)' {
        $results = @(Test-DindCluster -ClusterName $Lab -ProbeName $OutsideName -ProbeUrl $OutsideUrl)
        # KubernetesApi is reported only when the API server does not answer (src/Ipv6Dind.Core/Lab/LabTester.cs).
        $results | Should -Not -BeNullOrEmpty
        $ready = @($results | Where-Object Check -EQ 'KubernetesNodeReady')
        $ready.Count | Should -Be 1
        "$($ready[0].Status)" | Should -Be 'Pass' -Because $ready[0].Detail
        $failed = @($results | Where-Object { "$($_.Status)" -eq 'Fail' } | ForEach-Object Check | Sort-Object -Unique)
        $failed | Should -Be @('ClusterDnsService', 'ClusterDnsThroughDns64')
    }

    It 'is checked by examples/pester/DindLab.Tests.ps1: every Kubernetes check passes but the two cluster-DNS ones' {
        $r = Invoke-NestedPester -Path 'examples/pester/DindLab.Tests.ps1' -Data @{ ClusterName = $Lab; ProbeName = $OutsideName; ProbeUrl = $OutsideUrl }
        $text = $r.Output -replace "`e\[[0-9;]*m", ''
        $text | Should -Match 'RESULT passed=([1-9][0-9]*) failed=2 skipped=\d+ containers-failed=0' -Because "$text`n$($r.ErrorText)"
        $failed = @($text -split "`n" | Where-Object { $_ -match '^\s*\[-\] ' })
        $failed.Count | Should -Be 2 -Because ($failed -join "`n")
        $failed | ForEach-Object { $_ | Should -Match 'ClusterDns(Service|ThroughDns64)' }
        $text | Should -Match '\[\+\] [^\n]*KubernetesNodeReady'
    }

    It 'is reset by the nightly script: exit 2 for the cluster-DNS checks only' {
        $log = Join-Path $TestDrive 'k.log'
        $r = Invoke-Pwsh -ArgumentList @('-File', $Nightly, '-ClusterName', $Lab, '-LogPath', $log, '-ProbeName', $OutsideName,
            '-ProbeUrl', $OutsideUrl) -TimeoutSec 900
        Write-Host "nightly reset of '$Lab': exit $($r.ExitCode) in $($r.Seconds) s"
        $r.ExitCode | Should -Be 2 -Because "$($r.Output)`n$($r.ErrorText)"
        $r.Output | Should -Match 'Reset-DindCluster in \d+ s'
        $fails = @($r.Output -split "`n" | Where-Object { $_ -match '^\s+FAIL ' })
        $fails | Should -Not -BeNullOrEmpty
        $fails | ForEach-Object { $_ | Should -Match 'ClusterDns(Service|ThroughDns64): ' }
    }
}
