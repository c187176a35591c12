using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace Ipv6Dind.Completion;

/// <summary>
/// Base of the lab completers: whatever goes wrong (no Docker, a slow one, a bad DOCKER_HOST, a half-removed lab),
/// completion answers with no suggestions instead of an exception at the prompt.
/// </summary>
public abstract class LabCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try { return CompletionText.Results(Candidates(fakeBoundParameters), wordToComplete); }
        catch (Exception) { return Array.Empty<CompletionResult>(); }
    }

    /// <summary>Names and their tool tips.</summary>
    private protected abstract IEnumerable<(string Name, string ToolTip)> Candidates(IDictionary? fakeBoundParameters);
}

/// <summary>
/// Completes cluster names (the -ClusterName of every cmdlet that takes a lab) from the labs Docker's labels
/// describe, within about two seconds.
/// </summary>
public sealed class ClusterNameCompleter : LabCompleter
{
    private protected override IEnumerable<(string Name, string ToolTip)> Candidates(IDictionary? fakeBoundParameters) =>
        LabNameLookup.Clusters().Select(c => (c.ClusterName,
            $"{c.ClusterName}: {c.State}, {c.Nodes} node(s), {(c.NetworkOnly ? "network lab" : "Kubernetes " + c.KubernetesVersion)}"
            + (c.ManagementPrefix.Length > 0 ? $", {c.ManagementPrefix}" : "")));
}
