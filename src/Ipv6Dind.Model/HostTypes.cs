namespace Ipv6Dind;

/// <summary>
/// The conntrack hash table of a host (or what a host of <see cref="CpuCount"/> CPUs would need) against
/// kube-proxy's rule: max = max(MaxPerCore × CPUs, Min); the hashsize is raised to max / 4 when it is below.
/// Get-ConntrackHashsize / Repair-ConntrackHashsize.
/// </summary>
public sealed class ConntrackStatus
{
    /// <summary>"host", or the cluster whose kube-proxy setting is reported (and, with Repair-ConntrackHashsize, set).</summary>
    public string Target { get; init; } = "host";
    public int CpuCount { get; init; }
    /// <summary>kube-proxy's conntrack.maxPerCore (0: kube-proxy leaves conntrack alone).</summary>
    public int MaxPerCore { get; init; }
    /// <summary>
    /// A cluster's kube-proxy conntrack.maxPerCore before Repair-ConntrackHashsize -ClusterName set it to 0 (its
    /// effective value: kube-proxy's default 32768 when the configuration left it out); null when nothing was changed.
    /// </summary>
    public int? PreviousMaxPerCore { get; init; }
    /// <summary>kube-proxy's conntrack.min.</summary>
    public int Min { get; init; }
    /// <summary>The nf_conntrack_max kube-proxy would set (0 when MaxPerCore is 0).</summary>
    public long RequiredMax { get; init; }
    /// <summary>RequiredMax / 4: kube-proxy writes the hashsize when the current one is below this.</summary>
    public long RequiredHashsize { get; init; }
    /// <summary>/sys/module/nf_conntrack/parameters/hashsize now (null when nf_conntrack is not there).</summary>
    public long? CurrentHashsize { get; init; }
    /// <summary>net.netfilter.nf_conntrack_max now (null when unreadable).</summary>
    public long? CurrentMax { get; init; }
    /// <summary>True when kube-proxy would try to write the hashsize (and fail inside a node container).</summary>
    public bool NeedsRepair { get; init; }
    /// <summary>The hashsize before Repair-ConntrackHashsize wrote it; null when nothing was written.</summary>
    public long? PreviousHashsize { get; init; }
    public string Detail { get; init; } = "";
    public override string ToString() => $"{Target}: hashsize {CurrentHashsize}, kube-proxy wants {RequiredHashsize}";
}

/// <summary>Docker's IPv6 settings in daemon.json, after Enable-DockerIpv6 or Set-DockerIpv6Prefix.</summary>
public sealed class DockerIpv6Settings
{
    public string ConfigPath { get; init; } = "";
    public bool Ipv6 { get; init; }
    public string FixedCidrV6 { get; init; } = "";
    public bool Ip6Tables { get; init; }
    public bool Experimental { get; init; }
    /// <summary>True when daemon.json was (or, with -WhatIf, would be) rewritten.</summary>
    public bool Changed { get; init; }
    /// <summary>The timestamped copy of the previous daemon.json; empty when none was made.</summary>
    public string BackupPath { get; init; } = "";
    /// <summary>The tagged ULA MASQUERADE rule on the host, as ip6tables arguments; empty when none.</summary>
    public string MasqueradeRule { get; init; } = "";
    public bool Restarted { get; init; }
    /// <summary>How dockerd was restarted ("systemctl restart docker", "SIGTERM 1234, then …"); empty when it was not.</summary>
    public string RestartMethod { get; init; } = "";
    /// <summary>Set-DockerIpv6Prefix: the delegated prefix fixed-cidr-v6 was taken from.</summary>
    public string DelegatedPrefix { get; init; } = "";
    public override string ToString() => $"{ConfigPath}: fixed-cidr-v6 {FixedCidrV6}";
}
