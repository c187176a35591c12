namespace Ipv6Dind.Core.Docker;

/// <summary>
/// How long one Docker call may take before it fails with DockerUnreachable (OperationTimeout). Every call is
/// bounded: a daemon that stopped answering must not hang a cmdlet, and Ctrl-C must not be the only way out.
/// </summary>
public sealed record DockerApiOptions
{
    public static DockerApiOptions Default { get; } = new();

    /// <summary>Inspect, list, create, start, remove, archive, version.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>One exec, from create to exit code; kubeadm init through an exec takes minutes.</summary>
    public TimeSpan ExecTimeout { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>docker import of a root file system (hundreds of MB over the socket).</summary>
    public TimeSpan ImportTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>docker build; apt-get inside it downloads from the mirror.</summary>
    public TimeSpan BuildTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Highest API version we ask for. Docker.DotNet 3.125's models stop around here, and Docker 29 raised its
    /// minimum to 1.44, so this is also the lowest cap that still reaches current daemons. An older daemon
    /// (20.10 speaks 1.41) gets its own version: the lower of the two is used.
    /// </summary>
    public Version MaxApiVersion { get; init; } = new(1, 44);
}
