using System.Management.Automation;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>Runs a program in a node (an argument list, never a shell string) and returns its exit code and output.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "DindCommand", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(DindCommandResult))]
public sealed class InvokeDindCommandCommand : LabCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public string NodeName { get; set; } = "";

    /// <summary>The program and its arguments, e.g. 'ip','-6','route'.</summary>
    [Parameter(Mandatory = true, Position = 2, ValueFromRemainingArguments = true)]
    [ValidateNotNullOrEmpty]
    public string[] Command { get; set; } = Array.Empty<string>();

    /// <summary>Text fed to the program's standard input.</summary>
    [Parameter]
    public string? InputText { get; set; }

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.NodeName(LabInput.ClusterName(ClusterName), NodeName));
        if (!ShouldProcess($"{ClusterName}/{NodeName}", $"Run {string.Join(' ', Command)}")) return;
        DindCommandResult? result = null;
        RunLab(async lab => result = await lab.InvokeAsync(ClusterName, NodeName, Command, InputText).ConfigureAwait(false));
        if (result is null) return;
        WriteObject(result);
        // Like a native command's failure: the result still comes out, and the error makes $? false and cron see it.
        if (result.ExitCode != 0)
            WriteDindError(NodeCommandErrors.Failed(result, Command));
    }
}
