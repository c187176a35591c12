namespace Ipv6Dind.Tests;

/// <summary>
/// examples/pester/DindLab.Tests.ps1 without Pester (it cannot be installed here): a stand-in for the few Pester
/// commands it uses runs the file with Test-DindCluster and Get-DindCluster replaced by functions that return chosen
/// CheckResults, and the test asserts which tests it generated, their names and their outcomes. This checks the
/// suite's own logic (area grouping, templated names, placeholders for areas without checks, failure messages with
/// the remedy, warnings inconclusive); it does not check Pester's semantics (discovery/run scoping), which only a
/// real Invoke-Pester does. BeforeDiscovery and BeforeAll are run in place, in the file's scope.
/// </summary>
public sealed class PesterSuiteTests : IClassFixture<ModuleFixture>
{
    private readonly ModuleSession _ps;
    public PesterSuiteTests(ModuleFixture fixture) => _ps = fixture.Session;

    private const string PesterStandIn = """
        & {
            $path = [System.Collections.Generic.List[string]]::new()
            $outcomes = [System.Collections.Generic.List[string]]::new()

            function Expand-Name([string] $Name, $Data) {
                foreach ($k in $Data.Keys) { $Name = $Name.Replace("<$k>", "$($Data[$k])") }
                $Name
            }
            function Invoke-WithData($Data, [scriptblock] $Body) {
                & { param($d, $sb) foreach ($k in $d.Keys) { $ExecutionContext.SessionState.PSVariable.Set($k, $d[$k]) }; . $sb } $Data $Body
            }
            function Describe {
                param([Parameter(Position = 0)] [string] $Name, [string[]] $Tag, [object[]] $ForEach, [Parameter(Position = 1)] [scriptblock] $Fixture)
                $items = @(if ($PSBoundParameters.ContainsKey('ForEach')) { $ForEach } else { @{} })
                if ($items.Count -eq 0) { throw "Describe '$Name': empty -ForEach" }
                foreach ($item in $items) {
                    $path.Add("$(Expand-Name $Name $item) [$($Tag -join ',')]")
                    try { Invoke-WithData $item $Fixture } finally { $path.RemoveAt($path.Count - 1) }
                }
            }
            function It {
                param([Parameter(Position = 0)] [string] $Name, [object[]] $ForEach, [Parameter(Position = 1)] [scriptblock] $Test)
                $items = @(if ($PSBoundParameters.ContainsKey('ForEach')) { $ForEach } else { @{} })
                if ($items.Count -eq 0) { throw "It '$Name': empty -ForEach" }
                foreach ($item in $items) {
                    $title = ($path -join ' / ') + ' / ' + (Expand-Name $Name $item)
                    try { Invoke-WithData $item $Test; $outcomes.Add("$title => Passed") }
                    catch { $outcomes.Add("$title => $($_.Exception.Message)") }
                }
            }
            function Set-ItResult([switch] $Skipped, [switch] $Inconclusive, [string] $Because) {
                throw "$(if ($Skipped) { 'Skipped' } else { 'Inconclusive' }): $Because"
            }
            function Should {
                param([Parameter(ValueFromPipeline)] $ActualValue, [switch] $Not, [object] $Be, [switch] $BeNullOrEmpty, [object] $BeGreaterThan, [string] $Because)
                process {
                    $ok = if ($PSBoundParameters.ContainsKey('Be')) { $ActualValue -eq $Be }
                    elseif ($BeNullOrEmpty) { $null -eq $ActualValue -or "$ActualValue" -eq '' }
                    elseif ($PSBoundParameters.ContainsKey('BeGreaterThan')) { $ActualValue -gt $BeGreaterThan }
                    else { throw 'Should: operator not in the stand-in' }
                    if ($Not) { $ok = -not $ok }
                    if (-not $ok) { throw "Failed: expected $(if ($Not) { 'not ' })$Be$(if ($BeNullOrEmpty) { 'null or empty' }), because $Because, but got '$ActualValue'." }
                }
            }

            # The lab as the suite will see it.
            function Get-DindCluster {
                [CmdletBinding()] param([string] $Name)
                if ($Name -eq 'lab') { [pscustomobject]@{ ClusterName = 'lab'; State = 'Running'; Nodes = 2 } }
            }
            function Test-DindCluster {
                [CmdletBinding()] param([string] $ClusterName, [string] $ProbeName, [string] $ProbeUrl, [string] $AaaaProbeName)
                $outcomes.Add("Test-DindCluster $ClusterName url=$ProbeUrl")
                [Ipv6Dind.CheckResult]@{ Target = 'lab-dns64'; Check = 'ContainerRunning'; Status = 'Pass'; Detail = 'running' }
                [Ipv6Dind.CheckResult]@{ Target = 'lab-node-1'; Check = 'Ipv6Only'; Status = 'Pass'; Detail = 'no global IPv4 address' }
                [Ipv6Dind.CheckResult]@{ Target = 'lab-node-1'; Check = 'Dns64Synthesis'; Status = 'Pass'; Detail = 'synthesized' }
                [Ipv6Dind.CheckResult]@{ Target = 'lab-node-1'; Check = 'Nat64Reachability'; Status = 'Fail'; Detail = 'GET failed'; Remedy = 'Get-Nat64Mapping lab' }
                [Ipv6Dind.CheckResult]@{ Target = 'lab-node-2'; Check = 'Routes'; Status = 'Warn'; Detail = 'slow'; Remedy = 'Sync-DindRoute lab' }
                [Ipv6Dind.CheckResult]@{ Target = 'lab'; Check = 'SomeFutureCheck'; Status = 'Pass'; Detail = 'new' }
            }

            $text = [System.IO.File]::ReadAllText($suite)
            $text = $text.Replace('#Requires', '# Requires').Replace('BeforeDiscovery {', '. {').Replace('BeforeAll {', '. {')
            & ([scriptblock]::Create($text)) @suiteArguments
            $outcomes
        }
        """;

    private List<string> RunSuite(Dictionary<string, object?> suiteArguments)
    {
        var r = _ps.Run(PesterStandIn, new Dictionary<string, object?>
        {
            ["suite"] = Path.Combine(Repo.Root, "examples", "pester", "DindLab.Tests.ps1"),
            ["suiteArguments"] = new System.Collections.Hashtable(suiteArguments),
        });
        r.AssertSuccess();
        return r.Output.Select(o => o.ToString()!).ToList();
    }

    [Fact]
    public void EveryCheckBecomesOneTaggedTestWithItsVerdict()
    {
        var lines = RunSuite(new() { ["ClusterName"] = "lab", ["ProbeUrl"] = "http://www.example.test/" });
        Assert.Equal(new[]
        {
            "Test-DindCluster lab url=http://www.example.test/",   // once, at discovery
            "Lab lab [Lab] / exists on this Docker host => Passed",
            "Lab lab [Lab] / has every container running => Passed",
            "Lab lab [Lab] / answered Test-DindCluster => Passed",
            "Containers of lab [Containers] / lab-dns64: ContainerRunning => Passed",
            "IPv6-only network of lab [Network] / lab-node-1: Ipv6Only => Passed",
            "IPv6-only network of lab [Network] / lab-node-2: Routes => Inconclusive: warning: slow; Sync-DindRoute lab",
            "DNS64 of lab [Dns64] / lab-node-1: Dns64Synthesis => Passed",
            "NAT64 of lab [Nat64] / lab-node-1: Nat64Reachability => Failed: expected Pass, because GET failed; remedy: Get-Nat64Mapping lab, but got 'Fail'.",
            "Kubernetes of lab [Kubernetes] / lab: Kubernetes => Skipped: a network lab (-NetworkOnly) has no Kubernetes",
            "Other checks of lab [Other] / lab: SomeFutureCheck => Passed",
        }, lines);
    }

    [Fact]
    public void AMissingLabFailsClearlyAndRunsNoChecks()
    {
        var lines = RunSuite(new() { ["ClusterName"] = "gone" });
        Assert.DoesNotContain(lines, l => l.StartsWith("Test-DindCluster"));
        Assert.Contains("Lab gone [Lab] / exists on this Docker host => Failed: expected not null or empty, because Get-DindCluster lists the labs; New-DindCluster gone creates it, but got ''.", lines);
        Assert.Contains(lines, l => l.StartsWith("Lab gone [Lab] / answered Test-DindCluster => Failed"));
        // Every area still shows up, skipped, rather than vanishing from the report.
        Assert.Equal(6, lines.Count(l => l.Contains("=> Skipped: ")));
    }
}
