using System.Management.Automation;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Commands;

/// <summary>
/// DHCPv6 prefix delegation: takes the delegated prefix (dhclient's $new_ip6_prefix), picks its -Index-th
/// /-SubnetLength (default the first /80, as the seed's sipcalc hook), writes it as fixed-cidr-v6 and, with -Restart,
/// restarts dockerd when that changed. A tagged MASQUERADE rule, if there is one, follows a ULA prefix and is removed for a global one.
/// </summary>
[Cmdlet(VerbsCommon.Set, "DockerIpv6Prefix", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(DockerIpv6Settings))]
public sealed class SetDockerIpv6PrefixCommand : DockerDaemonCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Prefix")]
    public string DelegatedPrefix { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public int SubnetLength { get; set; } = DockerIpv6Prefix.DefaultSubnetLength;

    /// <summary>Which sub-prefix (0 = the first).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public long Index { get; set; }

    /// <summary>Restart dockerd when daemon.json changed (as Enable-DockerIpv6 -Restart); without it dockerd is not restarted.</summary>
    [Parameter]
    public SwitchParameter Restart { get; set; }

    /// <summary>
    /// Up to 0.3 this cmdlet restarted dockerd unless told -NoRestart; the module's one polarity is -Restart. Kept hidden so
    /// scripts that pass it still run: it changes nothing (not restarting is the default now).
    /// </summary>
    [Parameter(DontShow = true)]
    public SwitchParameter NoRestart { get; set; }

    protected override void ProcessRecord()
    {
        var prefix = Invoke(() => DockerIpv6Prefix.FromDelegated(DelegatedPrefix, SubnetLength, Index));
        WriteVerbose($"Sub-prefix {Index} of {DelegatedPrefix} at /{SubnetLength}: {prefix}.");
        Apply(new DockerIpv6Request
        {
            ConfigPath = ConfigPath,
            Prefix = prefix,
            Ip6Tables = null,
            Masquerade = null,
            Restart = Restart && !NoRestart,
            RestartOptions = RestartOptions(),
            DockerVersion = DockerVersion,
            DelegatedPrefix = DelegatedPrefix.Trim(),
        });
    }
}
