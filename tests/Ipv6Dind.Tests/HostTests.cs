using System.Management.Automation;
using System.Text.RegularExpressions;
using Ipv6Dind.Host;

namespace Ipv6Dind.Tests;

/// <summary>
/// The ipv6dind console host, run in-process through HostProgram.Run with string streams. Most tests use
/// -NoModule and advanced functions defined in the script text, so they do not depend on the module's cmdlets.
/// This engine has no Utility module: scripts use $PSCmdlet.Write* instead of Write-Warning and friends.
/// </summary>
public sealed class HostTests
{
    // A function that does everything a cmdlet talks to the host about.
    private const string RemoveLab = """
        function Remove-TestLab {
            [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
            param([Parameter(ValueFromPipeline)] [string] $Target = 'lab')
            process {
                $PSCmdlet.WriteVerbose("v $Target")
                $PSCmdlet.WriteWarning("w $Target")
                if ($PSCmdlet.ShouldProcess($Target, 'Remove')) { "done $Target" }
            }
        }

        """;

    private const string ConfirmPrompt = """
        Confirm
        Are you sure you want to perform this action?
        Performing the operation "Remove" on target "lab".
        [Y] Yes  [A] Yes to All  [N] No  [L] No to All  [S] Suspend  [?] Help (default is "Y"):
        """;

    private sealed record Result(int ExitCode, string Out, string Err)
    {
        public string[] OutLines => Out.Split('\n').Select(l => l.TrimEnd()).ToArray();

        public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToArray();
    }

    private static Result Run(string[] args, string stdin = "", bool stdoutIsTerminal = false, bool stderrIsTerminal = false)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = HostProgram.Run(args, new StringReader(stdin), stdout, stderr, stdoutIsTerminal, stderrIsTerminal);
        return new Result(code, stdout.ToString().Replace("\r\n", "\n"), stderr.ToString().Replace("\r\n", "\n"));
    }

    private static Result Command(string script, string stdin = "") => Run(["-NoModule", "-Command", script], stdin);

    [Fact]
    public void SuccessfulCommandExitsZero()
    {
        var r = Command("'hello'");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("hello", r.OutLines);
        Assert.Equal(string.Empty, r.Err);
    }

    [Fact]
    public void NonTerminatingErrorIsPrintedConciselyAndExitsOne()
    {
        var r = Command("""
            function Get-Broken {
                [CmdletBinding()] param()
                $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new(
                    [System.Exception]::new('bad thing'), 'Bad.Id', 'InvalidOperation', $null))
                'still running'
            }
            Get-Broken
            """);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("still running", r.OutLines);
        Assert.Equal(["Get-Broken: bad thing", "  (Bad.Id,Get-Broken)"], r.ErrLines);
    }

    [Fact]
    public void ThrowExitsOneWithTheMessage()
    {
        var r = Command("'before'; throw 'it broke'; 'after'");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("before", r.OutLines);
        Assert.DoesNotContain("after", r.OutLines);
        Assert.Equal(["Exception: it broke", "  (it broke)"], r.ErrLines);
    }

    [Fact]
    public void ErrorActionStopErrorIsPrintedOnce()
    {
        var r = Command("""
            function Get-Broken { [CmdletBinding()] param()
                $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([System.Exception]::new('bad'), 'Bad.Id', 'InvalidOperation', $null)) }
            Get-Broken -ErrorAction Stop; 'after'
            """);
        Assert.Equal(1, r.ExitCode);
        Assert.DoesNotContain("after", r.OutLines);
        Assert.Single(r.ErrLines, l => l == "Get-Broken: bad");
    }

    [Fact]
    public void ParseErrorExitsOne()
    {
        var r = Command("1 +; 'x'");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("ParserError: line 1, column 4:", r.ErrLines[0]);
        Assert.Equal("  (ExpectedValueExpression)", r.ErrLines[1]);
    }

    [Fact]
    public void UnknownCommandIsNamedInTheError()
    {
        var r = Command("Get-NoSuchThing");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("Get-NoSuchThing: The term 'Get-NoSuchThing' is not recognized", r.ErrLines[0]);
        Assert.Equal("  (CommandNotFoundException)", r.ErrLines[^1]);
    }

    [Theory]
    [InlineData("exit 3", 3)]
    [InlineData("function Stop-All { exit 4 }; Stop-All; 'not reached'", 4)]
    [InlineData("$null = [System.IO.File]::ReadAllText('/no/such/file'); exit 0", 0)]
    public void ExitStatementSetsTheExitCode(string script, int expected)
    {
        var r = Command(script);
        Assert.Equal(expected, r.ExitCode);
        Assert.DoesNotContain("not reached", r.OutLines);
    }

    [Fact]
    public void WhatIfTextGoesToStdout()
    {
        var r = Command(RemoveLab + "Remove-TestLab -WhatIf");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("What if: Performing the operation \"Remove\" on target \"lab\".", r.OutLines);
        Assert.DoesNotContain("done lab", r.OutLines);
    }

    [Theory]
    [InlineData("y\n", true)]
    [InlineData("Y\n", true)]
    [InlineData("\n", true)]
    [InlineData("yes\n", true)]
    [InlineData("n\n", false)]
    [InlineData("?\nn\n", false)]
    [InlineData("maybe\nn\n", false)]
    public void ConfirmPromptReadsTheAnswerFromStdin(string answers, bool removed)
    {
        var r = Command(RemoveLab + "Remove-TestLab", answers);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(ConfirmPrompt.Replace("\r\n", "\n"), r.Out);
        Assert.Equal(removed, r.OutLines.Contains("done lab"));
    }

    [Fact]
    public void ConfirmHelpListsEachChoice()
    {
        var r = Command(RemoveLab + "Remove-TestLab", "?\nn\n");
        Assert.Contains("Y - Continue with only the next step of the operation.", r.OutLines);
        Assert.Contains("N - Skip this operation and proceed with the next operation.", r.OutLines);
        Assert.Equal(2, Regex.Matches(r.Out, Regex.Escape("[?] Help (default is \"Y\"):")).Count);
    }

    [Fact]
    public void YesToAllAnswersTheFollowingPrompts()
    {
        var r = Command(RemoveLab + "'a', 'b', 'c' | Remove-TestLab", "A\n");
        Assert.Equal(0, r.ExitCode);
        Assert.Single(Regex.Matches(r.Out, "Are you sure"));
        Assert.Equal(["done a", "done b", "done c"], r.OutLines.Where(l => l.StartsWith("done", StringComparison.Ordinal)));
    }

    [Fact]
    public void NonInteractivePromptFails()
    {
        var r = Run(["-NoModule", "-NonInteractive", "-Command", RemoveLab + "Remove-TestLab; 'next'"], "y\n");
        Assert.Equal(1, r.ExitCode);
        Assert.DoesNotContain("done lab", r.OutLines);
        Assert.Contains("next", r.OutLines);
        Assert.DoesNotContain("Are you sure", r.Out);
        Assert.Contains("non-interactively", r.Err);
    }

    [Fact]
    public void PromptAtEndOfStdinFails()
    {
        var r = Command(RemoveLab + "Remove-TestLab");
        Assert.Equal(1, r.ExitCode);
        Assert.DoesNotContain("done lab", r.OutLines);
        Assert.Contains("end of stdin", r.Err);
    }

    [Fact]
    public void ScriptFromStdinRunsAndCannotPrompt()
    {
        var r = Run(["-NoModule", "-Command", "-"], RemoveLab + "'from stdin'\nRemove-TestLab -Confirm:$false\nRemove-TestLab\n");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("from stdin", r.OutLines);
        Assert.Single(r.OutLines, l => l == "done lab");
        Assert.Contains("non-interactively", r.Err);
    }

    [Fact]
    public void VerboseLinesAppearOnlyWithVerbose()
    {
        var quiet = Command(RemoveLab + "Remove-TestLab -Confirm:$false");
        Assert.DoesNotContain("VERBOSE:", quiet.Err);

        var r = Command(RemoveLab + "Remove-TestLab -Confirm:$false -Verbose");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("VERBOSE: v lab", r.ErrLines);
        Assert.DoesNotContain("VERBOSE:", r.Out);
    }

    [Fact]
    public void WarningsGoToStderr()
    {
        var r = Command(RemoveLab + "Remove-TestLab -Confirm:$false");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["WARNING: w lab"], r.ErrLines);
        Assert.DoesNotContain("WARNING", r.Out);
    }

    [Fact]
    public void DebugLinesGoToStderr()
    {
        var r = Command("function D { [CmdletBinding()] param() $DebugPreference = 'Continue'; $PSCmdlet.WriteDebug('dbg') }; D");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["DEBUG: dbg"], r.ErrLines);
    }

    [Fact]
    public void InformationIsShownWhenContinueOnStdout()
    {
        const string Info = "function I { [CmdletBinding()] param() $PSCmdlet.WriteInformation('note', [string[]]@('t')) }; ";
        Assert.DoesNotContain("note", Command(Info + "I").Out);

        var r = Command(Info + "I -InformationAction Continue");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["note"], r.OutLines.Where(l => l.Length > 0));
        Assert.Equal(string.Empty, r.Err);
    }

    private const string Progress = """
        function Invoke-Steps {
            [CmdletBinding()] param()
            foreach ($status in 'Stat', 'Stat', 'Other') {
                $record = [System.Management.Automation.ProgressRecord]::new(1, 'Act', $status)
                $record.PercentComplete = 40
                $PSCmdlet.WriteProgress($record)
            }
            $PSCmdlet.WriteProgress([System.Management.Automation.ProgressRecord]::new(2, 'Unknown', 'percent'))
            $done = [System.Management.Automation.ProgressRecord]::new(1, 'Act', 'Finished')
            $done.RecordType = 'Completed'
            $PSCmdlet.WriteProgress($done)
            'result'
        }
        Invoke-Steps
        """;

    [Fact]
    public void ProgressWithoutTerminalPrintsEachStatusOnce()
    {
        var r = Command(Progress);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["Act: Stat", "Act: Other", "Unknown: percent"], r.ErrLines);
        Assert.Contains("result", r.OutLines);
    }

    [Fact]
    public void ProgressOnTerminalRedrawsOneLineAndClearsIt()
    {
        var r = Run(["-NoModule", "-Command", Progress], stderrIsTerminal: true);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("\r\u001b[2KAct: Stat [########            ] 40%", r.Err);
        Assert.Contains("\r\u001b[2KUnknown: percent", r.Err);
        Assert.DoesNotContain('\n', r.Err);
        // Completing Act redraws the remaining activity; the end of the command erases the line.
        Assert.EndsWith("\r\u001b[2KUnknown: percent\r\u001b[2K", r.Err);
    }

    [Theory]
    [InlineData(-1, 40, "Act: Stat")]
    [InlineData(40, 40, "Act: Stat [########            ] 40%")]
    [InlineData(100, 40, "Act: Stat [####################] 100%")]
    [InlineData(50, 33, "Act... [##########          ] 50%")]
    public void ProgressLineFitsTheWidth(int percent, int width, string expected)
    {
        var record = new ProgressRecord(1, "Act", "Stat") { PercentComplete = percent };
        string line = ConsoleHostUserInterface.ProgressLine(record, width);
        Assert.Equal(expected, line);
        Assert.True(line.Length <= width);
    }

    [Fact]
    public void ObjectsAreFormattedThroughTheirViews()
    {
        var r = Command("[pscustomobject]@{ A = 1; B = 'x' }");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(r.OutLines, l => Regex.IsMatch(l, @"^A\s+B$"));
        Assert.Contains(r.OutLines, l => Regex.IsMatch(l, @"^1\s+x$"));
        Assert.DoesNotContain('\u001b', r.Out);
    }

    [Fact]
    public void DirectoryInfoUsesTheFileSystemView()
    {
        string dir = Directory.CreateTempSubdirectory("ipv6dind-host-").FullName;
        try
        {
            var r = Command($"[System.IO.DirectoryInfo]::new('{dir}')");
            Assert.Equal(0, r.ExitCode);
            Assert.Contains(r.OutLines, l => l.Contains("LastWriteTime", StringComparison.Ordinal) && l.EndsWith("Name", StringComparison.Ordinal));
            Assert.Contains(r.OutLines, l => l.EndsWith(Path.GetFileName(dir), StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void TerminalOutputKeepsFormattingColours()
    {
        var r = Run(["-NoModule", "-Command", "[pscustomobject]@{ A = 1 }"], stdoutIsTerminal: true);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains('\u001b', r.Out);
    }

    [Fact]
    public void MandatoryParametersArePromptedFor()
    {
        var r = Command(
            "function M { param([Parameter(Mandatory)][string] $Name, [Parameter(Mandatory)][int[]] $N) \"$Name=$($N -join '+')\" }; M",
            "lab\n1\n2\n\n");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Supply values for the following parameters:", r.OutLines);
        Assert.Contains("lab=1+2", r.OutLines);
    }

    [Fact]
    public void CredentialPromptIsRefusedClearly()
    {
        var r = Command("$Host.UI.PromptForCredential('c', 'm', 'u', 't')");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("cannot prompt for credentials", r.Err);
    }

    [Fact]
    public void HostReportsItselfAndAWidth()
    {
        var r = Command("$Host.Name; $Host.UI.RawUI.BufferSize.Width");
        Assert.Equal(["ipv6dind", "120"], r.OutLines.Where(l => l.Length > 0));
    }

    [Fact]
    public void FileGetsNamedAndPositionalArguments()
    {
        string script = WriteScript("""
            param([string] $Name = 'default', [int] $Count = 1, [switch] $Force, [Parameter(ValueFromRemainingArguments)] $Rest)
            "Name=$Name Count=$Count Force=$Force Rest=$($Rest -join ',') Here=$([System.IO.Path]::GetFileName($PSCommandPath))"
            if ($Count -eq 7) { exit 7 }
            """);
        try
        {
            var named = Run(["-NoModule", "-File", script, "-Name", "lab", "-Count", "3", "-Force", "extra"]);
            Assert.Equal(0, named.ExitCode);
            Assert.Contains($"Name=lab Count=3 Force=True Rest=extra Here={Path.GetFileName(script)}", named.OutLines);

            var positional = Run(["-NoModule", script, "pos", "-5", "-Force:$false"]);
            Assert.Equal(0, positional.ExitCode);
            Assert.Contains($"Name=pos Count=-5 Force=False Rest= Here={Path.GetFileName(script)}", positional.OutLines);

            var exited = Run(["-NoModule", "-f", script, "-Count:7"]);
            Assert.Equal(7, exited.ExitCode);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public void FileThatThrowsExitsOne()
    {
        string script = WriteScript("'start'; throw 'file failed'");
        try
        {
            var r = Run(["-NoModule", script]);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("start", r.OutLines);
            Assert.Contains("Exception: file failed", r.ErrLines);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Theory]
    [InlineData("-File", "/no/such/script.ps1", "script file not found")]
    [InlineData("-File", "/etc/hostname", ".ps1 extension")]
    public void UnusableFileExitsWithUsageCode(string option, string path, string message)
    {
        var r = Run(["-NoModule", option, path]);
        Assert.Equal(64, r.ExitCode);
        Assert.Contains(message, r.Err);
    }

    [Theory]
    [InlineData("-Bogus")]
    [InlineData("-Command")]
    [InlineData("notascript.txt")]
    [InlineData("-NoModule")]
    public void BadCommandLineExitsWithUsageCode(string arg)
    {
        var r = Run(arg == "-NoModule" ? [arg] : ["-NoModule", arg]);
        Assert.Equal(64, r.ExitCode);
        Assert.StartsWith("ipv6dind: ", r.Err);
        Assert.Contains("Usage: ipv6dind", r.Err);
        Assert.Equal(string.Empty, r.Out);
    }

    [Theory]
    [InlineData("-Help")]
    [InlineData("-?")]
    public void HelpPrintsUsage(string arg)
    {
        var r = Run([arg]);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Usage: ipv6dind", r.Out);
    }

    [Fact]
    public void MissingModuleExitsWithUsageCode()
    {
        var r = Run(["-Module", "/no/such/Ipv6Dind.psd1", "-Command", "'x'"]);
        Assert.Equal(64, r.ExitCode);
        Assert.Contains("module not found", r.Err);
        Assert.Equal(string.Empty, r.Out);
    }

    [Fact]
    public void CommandJoinsTheRemainingArguments()
    {
        var options = CommandLine.Parse(["-noni", "-c", "'a'", "+", "'b'"]);
        Assert.Equal("'a' + 'b'", options.Command);
        Assert.True(options.NonInteractive);
        Assert.Equal(0, Run(["-NoModule", "-c", "'a'", "+", "'b'"]).ExitCode);
    }

    [Fact]
    public void ModuleIsFoundFromEnvironmentBuildTreeOrInstall()
    {
        string root = Directory.CreateTempSubdirectory("ipv6dind-resolve-").FullName;
        try
        {
            string bin = Directory.CreateDirectory(Path.Combine(root, "src", "bin", "net10.0")).FullName;
            string? Env(string _) => null;

            Assert.Null(HostProgram.ResolveModule(null, Env, bin, out string? problem));
            Assert.Contains("-NoModule", problem);

            string installed = Path.Combine(bin, "Ipv6Dind", "Ipv6Dind.psd1");
            Directory.CreateDirectory(Path.GetDirectoryName(installed)!);
            File.WriteAllText(installed, "@{}");
            Assert.Equal(installed, HostProgram.ResolveModule(null, Env, bin, out _));

            string built = Path.Combine(root, "out", "Ipv6Dind", "Ipv6Dind.psd1");
            Directory.CreateDirectory(Path.GetDirectoryName(built)!);
            File.WriteAllText(built, "@{}");
            Assert.Equal(built, HostProgram.ResolveModule(null, Env, bin, out _));

            // A directory names the manifest inside it; the environment variable wins over the search.
            Assert.Equal(installed, HostProgram.ResolveModule(null, _ => Path.GetDirectoryName(installed), bin, out _));
            Assert.Null(HostProgram.ResolveModule(null, _ => Path.Combine(root, "nothing"), bin, out problem));
            Assert.Contains("IPV6DIND_MODULE", problem);
            Assert.Equal(built, HostProgram.ResolveModule(built, _ => installed, bin, out _));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void ImportsTheBuiltModule()
    {
        string? manifest = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && manifest is null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "out", "Ipv6Dind", "Ipv6Dind.psd1");
            manifest = File.Exists(candidate) ? candidate : null;
        }

        if (manifest is null)
        {
            return; // The module is not built in this tree; nothing to import.
        }

        var r = Run(["-Module", manifest, "-Command", "(Get-Module Ipv6Dind).Name"]);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("Ipv6Dind", r.OutLines);
    }

    private static string WriteScript(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), $"ipv6dind-host-{Guid.NewGuid():N}.ps1");
        File.WriteAllText(path, text);
        return path;
    }
}
