using System.Management.Automation;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Commands;

/// <summary>
/// Base of Enable-DockerIpv6 and Set-DockerIpv6Prefix: where daemon.json is, and how dockerd is restarted
/// (systemctl when the host runs systemd; otherwise SIGTERM to the pid in -PidFile and a start of -DaemonCommand,
/// by default the daemon's own command line).
/// </summary>
public abstract class DockerDaemonCmdlet : DindCmdlet
{
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string ConfigPath { get; set; } = DockerDaemonJson.DefaultPath;

    /// <summary>dockerd's pid file; giving it chooses signal-and-start over systemctl.</summary>
    [Parameter]
    public string? PidFile { get; set; }

    /// <summary>The argv that starts dockerd again (default: the running daemon's own, from /proc/&lt;pid&gt;/cmdline).</summary>
    [Parameter]
    public string[]? DaemonCommand { get; set; }

    /// <summary>Where a daemon started by this cmdlet writes its output (appended).</summary>
    [Parameter]
    public string DaemonLogPath { get; set; } = DockerDaemonRestarter.DefaultLogFile;

    /// <summary>The daemon's endpoint (default: the daemon's own -H, else DOCKER_HOST, else the local socket).</summary>
    [Parameter]
    public string? DockerHost { get; set; }

    /// <summary>The daemon's version when it cannot be asked (decides whether "experimental" is needed for ip6tables).</summary>
    [Parameter]
    public string? DockerVersion { get; set; }

    /// <summary>How long to wait for dockerd to stop and to answer again.</summary>
    [Parameter]
    [Alias("TimeoutSeconds")]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 60;

    /// <summary>Emit the resulting settings (like Set-Item, nothing without it; a needed restart is a warning either way).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected DockerRestartOptions RestartOptions()
    {
        Invoke(() => LabInput.Path(ConfigPath, nameof(ConfigPath)));
        if (PidFile is not null) Invoke(() => LabInput.Path(PidFile, nameof(PidFile)));
        Invoke(() => LabInput.Path(DaemonLogPath, nameof(DaemonLogPath)));
        return new()
        {
            PidFile = PidFile,
            DaemonCommand = DaemonCommand,
            LogFile = DaemonLogPath,
            DockerHost = DockerHost,
            Timeout = TimeSpan.FromSeconds(TimeoutSec),
        };
    }

    /// <summary>Runs the request with each step behind ShouldProcess; with -PassThru writes the settings unless the change was declined.</summary>
    protected void Apply(DockerIpv6Request request) =>
        RunAsync(async ctx =>
        {
            var settings = await new DockerIpv6Setup(ctx, Confirm).ApplyAsync(request).ConfigureAwait(false);
            if (settings is not null && PassThru) Emit(settings);
        });
}
