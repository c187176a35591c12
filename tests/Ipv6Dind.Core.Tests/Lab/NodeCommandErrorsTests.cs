using Ipv6Dind.Core.Lab;
using Xunit;

namespace Ipv6Dind.Core.Tests.Lab;

/// <summary>Invoke-DindCommand's errors name the node, the cluster, the command, the exit code and the reason.</summary>
public class NodeCommandErrorsTests
{
    private static DindCommandResult Result(int exitCode, string output = "", string error = "") =>
        new() { ClusterName = "lab", NodeName = "lab-node-1", ExitCode = exitCode, Output = output, Error = error };

    [Fact]
    public void AFailedCommandSaysWhereWhatWithWhichCodeAndWhy()
    {
        var ex = NodeCommandErrors.Failed(Result(126, error: "sh: /opt/probe: Permission denied\n"), new[] { "sh", "-c", "/opt/probe --now" });
        Assert.Equal(ErrorIds.ExecFailed, ex.ErrorId);
        Assert.Equal(DindErrorCategory.InvalidResult, ex.Category);
        Assert.Equal("sh -c '/opt/probe --now' exited with 126 in node 'lab-node-1' of cluster 'lab': sh: /opt/probe: Permission denied"
            + " (the program was found but could not be run (not executable, or permission denied))", ex.Message);
        Assert.IsType<DindCommandResult>(ex.Target);
        Assert.Contains("Invoke-DindCommand lab lab-node-1", ex.RecommendedAction);
    }

    [Fact]
    public void DockersNotFoundMessageOnStdoutIsTheReasonWhenStderrIsEmpty()
    {
        var ex = NodeCommandErrors.Failed(Result(127, output: "OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown\r\n"), new[] { "nope" });
        Assert.Contains("nope exited with 127 in node 'lab-node-1' of cluster 'lab': OCI runtime exec failed", ex.Message);
        Assert.EndsWith("(the program was not found)", ex.Message);
    }

    [Theory]
    [InlineData(1, "it wrote nothing to stderr")]
    [InlineData(137, "killed by signal 9")]
    [InlineData(126, "the program was found but could not be run (not executable, or permission denied)")]
    public void ASilentFailureIsExplainedByItsExitCode(int code, string reason)
    {
        Assert.Equal(reason, NodeCommandErrors.Reason(Result(code)));
        Assert.Null(code == 1 ? NodeCommandErrors.Failed(Result(code), new[] { "false" }).RecommendedAction : null);
    }

    [Fact]
    public void AVeryLongStderrIsCutToItsEnd()
    {
        var reason = NodeCommandErrors.Reason(Result(1, error: new string('x', 5000) + "the end"));
        Assert.True(reason.Length <= 2001, reason.Length.ToString());
        Assert.EndsWith("the end", reason);
    }

    [Theory]
    [InlineData(new[] { "ip", "-6", "route" }, "ip -6 route")]
    [InlineData(new[] { "sh", "-c", "echo it's" }, "sh -c 'echo it'\\''s'")]
    [InlineData(new[] { "printf", "" }, "printf ''")]
    public void TheCommandIsShownAsAShellWouldTakeIt(string[] argv, string shown) =>
        Assert.Equal(shown, NodeCommandErrors.Quote(argv));

    [Fact]
    public void AStoppedNodeNamesNodeAndClusterAndSaysHowToStartIt()
    {
        var ex = NodeCommandErrors.NotRunning("lab", "lab-node-2", "exited");
        Assert.Equal(ErrorIds.NodeNotRunning, ex.ErrorId);
        Assert.Equal(DindErrorCategory.ResourceUnavailable, ex.Category);
        Assert.Equal("Node 'lab-node-2' of cluster 'lab' is not running (exited): it cannot run a command.", ex.Message);
        Assert.Equal("lab-node-2", ex.Target);
        Assert.Equal("Start-DindCluster lab", ex.RecommendedAction);
    }
}
