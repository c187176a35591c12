#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
<#
.SYNOPSIS
    Pester 5 validation of a running Ipv6Dind lab: every Test-DindCluster check becomes one It, grouped and tagged
    by area (Containers, Network, Dns64, Nat64, Kubernetes), each failure naming its remedy.

.DESCRIPTION
    In the style of dbachecks: the facts are gathered once, in BeforeDiscovery (one Test-DindCluster run, which
    probes from inside the lab's own containers), and the tests only assert on them, so a run costs one
    Test-DindCluster plus nothing. Read-only: it changes nothing in the lab.

    Run it with parameters through a container:

        $data = @{ ClusterName = 'lab'; ProbeUrl = 'http://intranet.example.test/' }
        Invoke-Pester -Container (New-PesterContainer -Path ./examples/pester/DindLab.Tests.ps1 -Data $data) -Output Detailed

    or with environment variables (IPV6DIND_CLUSTER, IPV6DIND_PROBE_NAME, IPV6DIND_PROBE_URL,
    IPV6DIND_AAAA_PROBE_NAME, and IPV6DIND_MODULE for a module that is not installed):

        $env:IPV6DIND_CLUSTER = 'lab'; Invoke-Pester ./examples/pester -Tag Dns64, Nat64 -Output Detailed

    Pester's exit code (Invoke-Pester -CI) makes it a CI gate or a monitoring probe; the nightly rebuild
    (examples/nightly/Rebuild-DindLab.ps1) does the same checks without Pester.
#>
param(
    [string] $ClusterName = $(if ($env:IPV6DIND_CLUSTER) { $env:IPV6DIND_CLUSTER } else { 'lab' }),
    # An A-only name (DNS64 must synthesize its AAAA); Test-DindCluster's default is ipv4only.arpa.
    [string] $ProbeName = $env:IPV6DIND_PROBE_NAME,
    # An HTTP URL on an IPv4-only server, fetched through DNS64 and NAT64.
    [string] $ProbeUrl = $env:IPV6DIND_PROBE_URL,
    # A name with a real AAAA record (AAAA mode, or forced synthesis without it).
    [string] $AaaaProbeName = $env:IPV6DIND_AAAA_PROBE_NAME
)

BeforeDiscovery {
    # The module: the one loaded, else $env:IPV6DIND_MODULE (never silently another one when it is set), else by name.
    if (-not (Get-Command Test-DindCluster -ErrorAction SilentlyContinue)) {
        $module = if ($env:IPV6DIND_MODULE) { $env:IPV6DIND_MODULE } else { 'Ipv6Dind' }
        try {
            Import-Module $module -ErrorAction Stop
        }
        catch {
            $from = if ($env:IPV6DIND_MODULE) { "from IPV6DIND_MODULE=$($env:IPV6DIND_MODULE)" } else { 'by name (IPV6DIND_MODULE is not set)' }
            throw "The Ipv6Dind module could not be imported ${from}: $($_.Exception.Message) Set IPV6DIND_MODULE to its manifest (out/Ipv6Dind/Ipv6Dind.psd1 after dotnet build Ipv6Dind.sln -c Release) or install it where Import-Module Ipv6Dind finds it."
        }
    }

    # The facts, gathered once: the lab as Docker's labels describe it, and every check.
    # Docker unreachable is a terminating error: kept, so that the first test fails with it (not the discovery).
    $cluster = $null
    $gatherError = ''
    try { $cluster = Get-DindCluster -Name $ClusterName -ErrorAction SilentlyContinue }
    catch { $gatherError = $_.Exception.Message }
    $test = @{ ClusterName = $ClusterName }
    if ($ProbeName) { $test.ProbeName = $ProbeName }
    if ($ProbeUrl) { $test.ProbeUrl = $ProbeUrl }
    if ($AaaaProbeName) { $test.AaaaProbeName = $AaaaProbeName }
    $results = if ($cluster) { @(Test-DindCluster @test -ErrorAction SilentlyContinue) } else { @() }

    # Which area each check belongs to (its Describe and tag). A check this list does not know yet lands in Other.
    $areaOf = @{
        ContainerRunning       = 'Containers'
        Ipv6Only               = 'Network'
        NodeToNode             = 'Network'
        PodToPod               = 'Network'
        Routes                 = 'Network'
        Dns64Synthesis         = 'Dns64'
        ForcedSynthesis        = 'Dns64'
        AaaaMode               = 'Dns64'
        Nat64Reachability      = 'Nat64'
        KubernetesApi          = 'Kubernetes'
        KubernetesNodeReady    = 'Kubernetes'
        ClusterDnsService      = 'Kubernetes'
        ClusterDnsThroughDns64 = 'Kubernetes'
    }
    # One hashtable per check, so that It's name template and body see Target, Check, Status, Detail, Remedy.
    function Get-AreaCase([string] $Area, [string] $NotRunBecause) {
        $cases = @(foreach ($r in $results) {
                $a = if ($areaOf.ContainsKey($r.Check)) { $areaOf[$r.Check] } else { 'Other' }
                if ($a -eq $Area) {
                    @{ Target = $r.Target; Check = $r.Check; Status = "$($r.Status)"; Detail = $r.Detail; Remedy = $r.Remedy; NotRun = $false; NotRunBecause = '' }
                }
            })
        if ($cases.Count -eq 0) {
            # Pester generates nothing for an empty -ForEach; one skipped case shows that the area was not checked.
            $cases = @(@{ Target = $ClusterName; Check = $Area; Status = ''; Detail = ''; Remedy = ''; NotRun = $true; NotRunBecause = $NotRunBecause })
        }
        , $cases
    }
    $areas = @(
        @{ Name = 'Containers'; Title = 'Containers'; NotRunBecause = 'no container check ran' }
        @{ Name = 'Network'; Title = 'IPv6-only network'; NotRunBecause = 'no network check ran' }
        @{ Name = 'Dns64'; Title = 'DNS64'; NotRunBecause = 'no DNS64 check ran' }
        @{ Name = 'Nat64'; Title = 'NAT64'; NotRunBecause = 'no NAT64 check ran' }
        @{ Name = 'Kubernetes'; Title = 'Kubernetes'; NotRunBecause = 'a network lab (-NetworkOnly) has no Kubernetes' }
        @{ Name = 'Other'; Title = 'Other checks'; NotRunBecause = 'every check belongs to an area above' }
    )
    $lab = @(@{ ClusterName = $ClusterName; Cluster = $cluster; CheckCount = $results.Count; GatherError = $gatherError })
}

BeforeAll {
    # One check's verdict: Pass passes; Warn is inconclusive (shown, not failed); Fail fails with detail and remedy.
    function Assert-DindCheck([string] $Status, [string] $Detail, [string] $Remedy, [bool] $NotRun, [string] $NotRunBecause) {
        if ($NotRun) { Set-ItResult -Skipped -Because $NotRunBecause }
        if ($Status -eq 'Warn') { Set-ItResult -Inconclusive -Because "warning: $Detail; $Remedy" }
        $Status | Should -Be 'Pass' -Because "$Detail; remedy: $Remedy"
    }
}

Describe 'Lab <ClusterName>' -Tag 'Lab' -ForEach $lab {
    It 'exists on this Docker host' {
        $because = if ($GatherError) { "Get-DindCluster failed: $GatherError" } else { "Get-DindCluster lists the labs; New-DindCluster $ClusterName creates it" }
        $Cluster | Should -Not -BeNullOrEmpty -Because $because
    }

    It 'has every container running' {
        $Cluster.State | Should -Be 'Running' -Because "Start-DindCluster $ClusterName starts what is stopped and re-applies routes"
    }

    It 'answered Test-DindCluster' {
        $CheckCount | Should -BeGreaterThan 0 -Because 'Test-DindCluster probes from inside the lab; none ran (see its error)'
    }
}

# One Describe per area, tagged with it (Invoke-Pester -Tag Dns64 runs only those), one It per check.
foreach ($area in $areas) {
    Describe "$($area.Title) of $ClusterName" -Tag $area.Name {
        It '<Target>: <Check>' -ForEach (Get-AreaCase $area.Name $area.NotRunBecause) {
            Assert-DindCheck $Status $Detail $Remedy $NotRun $NotRunBecause
        }
    }
}
