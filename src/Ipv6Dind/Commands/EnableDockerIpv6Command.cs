using System.Management.Automation;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Commands;

/// <summary>
/// Turns IPv6 on in Docker's daemon.json (ipv6, fixed-cidr-v6, ip6tables, and experimental where the daemon's version
/// needs it), keeping every other key; the old file is backed up and the new one written atomically. Optionally the
/// tagged ULA MASQUERADE rule (-Masquerade; -Masquerade:$false removes it) and a restart of dockerd (-Restart).
/// </summary>
[Cmdlet(VerbsLifecycle.Enable, "DockerIpv6", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(DockerIpv6Settings))]
public sealed class EnableDockerIpv6Command : DockerDaemonCmdlet
{
    /// <summary>fixed-cidr-v6: the default bridge's IPv6 prefix, /80 or shorter.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Prefix")]
    public string FixedCidrV6 { get; set; } = "";

    /// <summary>Leave ip6tables off (dockerd then manages no IPv6 firewall rules).</summary>
    [Parameter]
    public SwitchParameter NoIp6Tables { get; set; }

    /// <summary>Add the ULA MASQUERADE rule (tagged ipv6dind:docker-ipv6); -Masquerade:$false removes it.</summary>
    [Parameter]
    public SwitchParameter Masquerade { get; set; }

    /// <summary>Restart dockerd when daemon.json changed (high impact: containers without a restart policy stay stopped).</summary>
    [Parameter]
    public SwitchParameter Restart { get; set; }

    protected override void ProcessRecord()
    {
        var prefix = Invoke(() => DockerIpv6Prefix.Validate(FixedCidrV6));
        bool? masquerade = MyInvocation.BoundParameters.ContainsKey(nameof(Masquerade)) ? Masquerade.IsPresent : null;
        if (masquerade == true && !DockerIpv6Prefix.IsUla(prefix))
            ThrowDindError(new DindException(ErrorIds.DockerMasqueradeNotUla, DindErrorCategory.InvalidArgument,
                $"Masquerade: {prefix} is not a ULA (fc00::/7); a global prefix is routed to this host and must not be masqueraded.", prefix.ToString(), "Masquerade",
                "Drop -Masquerade for a global prefix, or use a ULA such as fd00:d0c:1::/64."));
        Apply(new DockerIpv6Request
        {
            ConfigPath = ConfigPath,
            Prefix = prefix,
            Ip6Tables = !NoIp6Tables,
            Masquerade = masquerade,
            Restart = Restart,
            RestartOptions = RestartOptions(),
            DockerVersion = DockerVersion,
        });
    }
}
