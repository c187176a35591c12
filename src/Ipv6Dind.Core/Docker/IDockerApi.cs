namespace Ipv6Dind.Core.Docker;

/// <summary>
/// What the lab needs from the Docker Engine, in the lab's terms. Implemented over Docker.DotNet by
/// <see cref="DockerApi"/> (never the docker CLI); tests may wrap it to count calls or inject failures.
/// Every call takes the operation's cancellation token and fails with a <see cref="DindException"/>
/// (DockerUnreachable, DockerObjectNotFound, DockerConflict, DockerApiError, …), never a Docker.DotNet type.
/// </summary>
public interface IDockerApi : IDisposable
{
    /// <summary>Where the daemon is (unix socket path or tcp URL), for messages.</summary>
    string Endpoint { get; }

    Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken ct);

    // Label filters (labels parameters below): every pair must match; an empty value matches the key with any value.

    // Networks
    Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct);
    Task<string> CreateNetworkAsync(NetworkSpec spec, CancellationToken ct);
    /// <summary>Removes a network; a network that is already gone is not an error.</summary>
    Task RemoveNetworkAsync(string idOrName, CancellationToken ct);

    // Containers
    Task<IReadOnlyList<ContainerInfo>> ListContainersAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct);
    /// <summary>Null when there is no such container.</summary>
    Task<ContainerInfo?> InspectContainerAsync(string idOrName, CancellationToken ct);
    Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct);
    Task StartContainerAsync(string id, CancellationToken ct);
    Task StopContainerAsync(string id, TimeSpan timeout, CancellationToken ct);
    /// <summary>Force-removes a container and its anonymous volumes; one that is already gone is not an error.</summary>
    Task RemoveContainerAsync(string idOrName, CancellationToken ct);
    /// <summary>Writes one file into a container (created or running), through the archive API.</summary>
    Task PutFileAsync(string id, string path, string content, int mode, CancellationToken ct);
    /// <summary>Reads one file from a container; null when it does not exist.</summary>
    Task<string?> GetFileAsync(string id, string path, CancellationToken ct);

    /// <summary>Whether a path exists in a container (created or running), from the archive API's stat: nothing is copied.</summary>
    Task<bool> PathExistsAsync(string id, string path, CancellationToken ct);

    Task<string> GetLogsAsync(string id, CancellationToken ct);

    /// <summary>Runs argv (never a shell string) in a running container, optionally feeding stdin.</summary>
    Task<ExecResult> ExecAsync(string id, IReadOnlyList<string> argv, string? stdin, IReadOnlyDictionary<string, string>? environment, CancellationToken ct);

    /// <summary>
    /// Runs argv in a running container with its stdin read from <paramref name="stdin"/> to the end, then closed
    /// (large inputs, such as an image archive for `ctr images import -`, streamed without a copy on either side).
    /// </summary>
    Task<ExecResult> ExecWithInputAsync(string id, IReadOnlyList<string> argv, Stream stdin, CancellationToken ct);

    // Volumes
    Task<string> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct);
    Task<IReadOnlyList<string>> ListVolumesAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct);
    Task RemoveVolumeAsync(string name, CancellationToken ct);

    // Images
    /// <summary>Null when the image is not present (never pulled: there may be no registry).</summary>
    Task<ImageInfo?> InspectImageAsync(string reference, CancellationToken ct);
    /// <summary>docker import: a root file system tarball becomes an image.</summary>
    Task ImportImageAsync(Stream rootfsTar, string reference, CancellationToken ct, IProgress<string>? progress = null);
    /// <summary>docker build from a tar build context (Dockerfile at its root), classic builder.</summary>
    Task BuildImageAsync(Stream contextTar, string reference, ImageBuildOptions options, CancellationToken ct, IProgress<string>? progress = null);
    Task RemoveImageAsync(string reference, CancellationToken ct);

    /// <summary>docker save: the images, with their tags, as one docker-archive tar written to <paramref name="destination"/>.</summary>
    Task SaveImagesAsync(IReadOnlyList<string> references, Stream destination, CancellationToken ct);
}

public sealed record DaemonInfo(
    string Version,
    string ApiVersion,
    string OperatingSystem,
    bool Experimental,
    bool Ipv6Default,
    string CgroupVersion,
    bool IsDockerDesktop)
{
    /// <summary>The daemon's ID (docker info's ID): what the module's locks are keyed by, with the cluster name.</summary>
    public string Id { get; init; } = "";
}

public sealed record NetworkInfo(string Id, string Name, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<string> Subnets, string Driver);

public sealed record NetworkSpec(
    string Name,
    string Ipv6Subnet,
    string Ipv6Gateway,
    IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>Linux bridge name on the host (at most 15 characters).</summary>
    public string? BridgeName { get; init; }
    public int Mtu { get; init; } = 1500;
}

public sealed record ContainerSpec(string Name, string Image, IReadOnlyDictionary<string, string> Labels)
{
    public string? Hostname { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string> Environment { get; init; } = Array.Empty<string>();
    /// <summary>The management network and this container's fixed IPv6 address on it.</summary>
    public string? Network { get; init; }
    public string? Ipv6Address { get; init; }
    /// <summary>Join this container's network namespace instead (--network container:&lt;id&gt;); excludes <see cref="Network"/>.</summary>
    public string? NetworkOfContainer { get; init; }
    /// <summary>Join this container's PID namespace (--pid container:&lt;id&gt;).</summary>
    public string? PidOfContainer { get; init; }
    public IReadOnlyList<string> CapAdd { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> CapDrop { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> SecurityOpt { get; init; } = Array.Empty<string>();
    public IReadOnlyDictionary<string, string> Sysctls { get; init; } = new Dictionary<string, string>();
    /// <summary>Host device paths mapped 1:1 (e.g. /dev/net/tun).</summary>
    public IReadOnlyList<string> Devices { get; init; } = Array.Empty<string>();
    /// <summary>Path → mount options, e.g. /run → "rw,nosuid,nodev".</summary>
    public IReadOnlyDictionary<string, string> Tmpfs { get; init; } = new Dictionary<string, string>();
    /// <summary>host-path:container-path[:ro] or volume-name:container-path.</summary>
    public IReadOnlyList<string> Binds { get; init; } = Array.Empty<string>();
    /// <summary>Anonymous volumes (container paths): removed with the container, as kind's /var.</summary>
    public IReadOnlyList<string> Volumes { get; init; } = Array.Empty<string>();
    public bool Init { get; init; } = true;
    public bool Privileged { get; init; }
    /// <summary>A writable /proc/sys and no masked /proc paths (the CLI's --security-opt systempaths=unconfined).</summary>
    public bool UnmaskSystemPaths { get; init; }
    /// <summary>"no", "unless-stopped", "always", "on-failure".</summary>
    public string RestartPolicy { get; init; } = "no";
    public string? CgroupnsMode { get; init; }
    /// <summary>Container port → host address and port, e.g. 6443/tcp → ("::1", 0 = any free port).</summary>
    public IReadOnlyDictionary<string, (string HostIp, int HostPort)> PortBindings { get; init; } = new Dictionary<string, (string, int)>();
}

public sealed record ContainerInfo(
    string Id,
    string Name,
    string Image,
    string State,
    bool Running,
    int Pid,
    IReadOnlyDictionary<string, string> Labels,
    /// <summary>Network name → (IPv6 address, IPv4 address), as Docker assigned them.</summary>
    IReadOnlyDictionary<string, (string? Ipv6, string? Ipv4)> Networks,
    IReadOnlyList<string> CapAdd,
    IReadOnlyList<string> CapDrop)
{
    /// <summary>Published ports: container port ("6443/tcp") → host address and port the daemon bound.</summary>
    public IReadOnlyDictionary<string, (string HostIp, int HostPort)> Ports { get; init; } = new Dictionary<string, (string, int)>();
    public bool Privileged { get; init; }
    /// <summary>Port bindings as created (HostConfig; present also while stopped): container port → host address and port (0 = any).</summary>
    public IReadOnlyDictionary<string, (string HostIp, int HostPort)> PortBindings { get; init; } = new Dictionary<string, (string, int)>();
    /// <summary>-P: every exposed port published on a random host port.</summary>
    public bool PublishAllPorts { get; init; }
    /// <summary>Host devices given to the container (their path on the host, e.g. /dev/net/tun).</summary>
    public IReadOnlyList<string> Devices { get; init; } = Array.Empty<string>();
    /// <summary>--security-opt values, e.g. apparmor=unconfined.</summary>
    public IReadOnlyList<string> SecurityOptions { get; init; } = Array.Empty<string>();
    /// <summary>Paths hidden in the container (the daemon records its default list at creation; empty when unmasked).</summary>
    public IReadOnlyList<string> MaskedPaths { get; init; } = Array.Empty<string>();
    /// <summary>Paths mounted read-only in the container, /proc/sys among them by default; empty when unmasked.</summary>
    public IReadOnlyList<string> ReadonlyPaths { get; init; } = Array.Empty<string>();
    /// <summary>HostConfig.PidMode: "" (its own PID namespace), "host" or "container:&lt;id&gt;".</summary>
    public string PidMode { get; init; } = "";
    /// <summary>HostConfig.NetworkMode: a network's name or "container:&lt;id&gt;".</summary>
    public string NetworkMode { get; init; } = "";
    /// <summary>NetworkSettings.SandboxKey: the file under Docker's exec root that holds the container's network namespace (running containers).</summary>
    public string? SandboxKey { get; init; }
    /// <summary>The host file Docker bind-mounts as the container's /etc/resolv.conf.</summary>
    public string? ResolvConfPath { get; init; }
}

public sealed record ExecResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;
}

public sealed record ImageInfo(string Id, IReadOnlyList<string> Tags, IReadOnlyDictionary<string, string> Labels, long Size)
{
    /// <summary>The image's own ENTRYPOINT and CMD (a kindest/node image starts systemd through them).</summary>
    public IReadOnlyList<string> Entrypoint { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Command { get; init; } = Array.Empty<string>();
}

public sealed record ImageBuildOptions
{
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> BuildArgs { get; init; } = new Dictionary<string, string>();
    /// <summary>"host" lets RUN apt-get reach the package mirror past an egress guard on FORWARD.</summary>
    public string? NetworkMode { get; init; }
    /// <summary>
    /// "name:address" lines added to the build containers' /etc/hosts. The daemon's --dns (a lab resolver) also
    /// applies to host-network builds, so the mirror's address is resolved on the host and handed in this way.
    /// </summary>
    public IReadOnlyList<string> ExtraHosts { get; init; } = Array.Empty<string>();
}
