using System.Management.Automation;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Commands;

/// <summary>
/// Base of the cmdlets that talk to Docker: one Docker Engine API client per invocation (DOCKER_HOST when set,
/// else the local socket), the lab orchestrator over it, and the async pump of <see cref="DindCmdlet"/>.
/// </summary>
public abstract class LabCmdlet : DindCmdlet
{
    private IDockerApi? _docker;

    /// <summary>Runs lab work off the pipeline thread; Ctrl-C cancels it and waits for its rollback.</summary>
    protected void RunLab(Func<DindLab, Task> work) =>
        RunAsync(async ctx =>
        {
            _docker ??= DockerApi.Connect();
            var lab = new DindLab(_docker, ctx);
            Configure(lab);
            await work(lab).ConfigureAwait(false);
        });

    /// <summary>Settings of this invocation on the lab object (ClusterLockCmdlet: how long to wait for the cluster's lock).</summary>
    protected virtual void Configure(DindLab lab) { }

    protected override void EndProcessing()
    {
        _docker?.Dispose();
        _docker = null;
    }

    /// <summary>Cluster names from the pipeline (by property name) or parameters; wildcards allowed where a cmdlet says so.</summary>
    protected static bool Matches(string name, string? pattern) =>
        pattern is null || WildcardPattern.Get(pattern, WildcardOptions.IgnoreCase).IsMatch(name);
}
