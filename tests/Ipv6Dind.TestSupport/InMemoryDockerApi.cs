using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.TestSupport;

/// <summary>What an exec hands to <see cref="InMemoryDockerApi.ExecHandler"/>.</summary>
/// <param name="Stdin">The exec's standard input as text (ExecWithInputAsync: the stream read to its end as UTF-8); null when none.</param>
public sealed record ExecContext(string ContainerName, string ContainerId, IReadOnlyList<string> Argv, string? Stdin)
{
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}

/// <summary>One exec that reached a running container (<see cref="InMemoryDockerApi.Execs"/>).</summary>
public sealed record ExecRecord(string ContainerName, string ContainerId, IReadOnlyList<string> Argv);

/// <summary>
/// Test code: an <see cref="IDockerApi"/> held in memory, so that the step order and the rollback of lab operations
/// can be tested in milliseconds without dockerd. It answers as Docker Engine 20.10 does through
/// <see cref="DockerApi"/>'s mapping: the same "already gone is fine" calls, the same <see cref="DindException"/>
/// ids and categories for the same HTTP statuses (404 DockerObjectNotFound, 409 DockerConflict, others
/// DockerApiError with the category <c>DockerErrors</c> gives the status), names without their leading slash.
/// Every call fails with <see cref="OperationCanceledException"/> when its token is already cancelled, before it
/// does anything; errors come back as faulted tasks, as the real driver's do. Thread-safe: one lock.
/// <para>Modelled:</para>
/// <list type="bullet">
/// <item>images seeded by the test (<see cref="AddImage"/>), built or imported (the context is read to its end and
/// not interpreted), removed (refused, 409, while a container uses one); <see cref="SaveImagesAsync"/> writes an
/// empty tar (two zero blocks).</item>
/// <item>bridge networks: unique names (409), IPv6 subnet and gateway (the first address when none is given),
/// subnets that must not overlap another network's (403 "Pool overlaps"), removal refused (403 "has active
/// endpoints", DockerApiError/ResourceBusy as the real mapping gives it) while a running container is attached.</item>
/// <item>containers: unique names (409), the image and network must exist at create (404); addresses are taken at
/// start, as dockerd's IPAM does: the fixed IPv6 address must lie in the subnet (400) and not be held by another
/// running container of the network (403 "Address already in use"); a stopped container holds none (inspect then
/// shows no address). State created/running/exited, a fake PID while running, Docker 20.10's default masked and
/// read-only paths unless privileged or unmasked, port bindings (0 becomes a fake port while running), anonymous
/// volumes removed with their container, named volumes of <c>name:/path</c> binds created on demand.</item>
/// <item>one network namespace per running container (a container made with NetworkOfContainer shares its owner's):
/// routes (Docker's own on-link, link-local and default routes at start) and iptables/ip6tables rules live in it
/// and are lost when the container stops, as the kernel loses them; files (PutFile, tee) survive stop and start and
/// go with the container.</item>
/// <item>execs: <see cref="ExecHandler"/> first, then the built-in model of what the lab runs (see
/// <c>InMemoryDockerApi.Exec.cs</c>); every exec that reaches a running container is recorded in <see cref="Execs"/>.</item>
/// </list>
/// <para>Not modelled (knowingly less strict than Docker):</para>
/// <list type="bullet">
/// <item>no IPv4 at all (Docker 20.10 gives every network an IPv4 subnet and every container an IPv4 address),
/// no predefined bridge/host/none networks, no default bridge for a container without a network;</item>
/// <item>no image file system: only files written through PutFile or tee exist, every directory exists, no
/// symbolic links, file modes are not kept; the container's main process never exits by itself (no restart
/// policy, no health, no logs: GetLogs returns "");</item>
/// <item>no devices, capabilities, seccomp or sysctls are enforced (they are recorded and shown by inspect);</item>
/// <item>no timing: nothing takes time, nothing times out, calls never fail unless the model says so (wrap it in
/// <see cref="FaultInjectingDockerApi"/> for that).</item>
/// </list>
/// </summary>
public sealed partial class InMemoryDockerApi : IDockerApi
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Image> _images = new(StringComparer.Ordinal);       // normalised reference → image
    private readonly List<Network> _networks = new();
    private readonly List<Container> _containers = new();
    private readonly List<Volume> _volumes = new();
    private readonly List<ExecRecord> _execs = new();
    private readonly string _daemonId;
    private int _nextPid = 4200;
    private int _nextHostPort = 32768;
    private int _unnamed;

    public InMemoryDockerApi(string daemonId = "ipv6dind-in-memory") => _daemonId = daemonId;

    /// <summary>Not a real socket: nothing listens there, so the lab never takes this daemon for the host's.</summary>
    public string Endpoint => "unix:///run/ipv6dind-in-memory.sock";

    /// <summary>
    /// Consulted first for every exec in a running container: a non-null result is the exec's answer; null lets the
    /// built-in model answer. Called outside the model's lock (it may call back into this object).
    /// </summary>
    public Func<ExecContext, ExecResult?>? ExecHandler { get; set; }

    /// <summary>Every exec that reached a running container, in order.</summary>
    public IReadOnlyList<ExecRecord> Execs { get { lock (_gate) return _execs.ToList(); } }

    /// <summary>
    /// A second daemon in the state this one is in now (images, networks, containers with their namespaces and files,
    /// volumes, IDs included), answering as <paramref name="daemonId"/>: arrange a lab once, then run many cases on
    /// copies. The exec record and <see cref="ExecHandler"/> are not copied.
    /// </summary>
    public InMemoryDockerApi Fork(string daemonId)
    {
        var fork = new InMemoryDockerApi(daemonId);
        lock (_gate)
        {
            foreach (var (reference, image) in _images) fork._images[reference] = image;
            fork._networks.AddRange(_networks);                     // immutable once made
            fork._volumes.AddRange(_volumes);
            fork._containers.AddRange(_containers.Select(c => c.Copy()));
            (fork._nextPid, fork._nextHostPort, fork._unnamed) = (_nextPid, _nextHostPort, _unnamed);
        }
        return fork;
    }

    /// <summary>Adds (or replaces) an image, as `docker build` or `docker load` would have.</summary>
    public void AddImage(string reference, IReadOnlyDictionary<string, string>? labels = null)
    {
        lock (_gate) AddImageUnlocked(reference, labels);
    }

    // ================================================================================================ the objects

    private sealed record Image(string Id, string Reference, IReadOnlyDictionary<string, string> Labels);

    private sealed class Network
    {
        public required string Id { get; init; }
        public required string Name { get; init; }
        public required IPNetwork Subnet { get; init; }
        public required IPAddress Gateway { get; init; }
        public required IReadOnlyDictionary<string, string> Labels { get; init; }
    }

    private sealed class Volume
    {
        public required string Name { get; init; }
        public required IReadOnlyDictionary<string, string> Labels { get; init; }
        /// <summary>For an anonymous volume: its container's ID and path in it.</summary>
        public string? AnonymousOf { get; init; }
        public string? Path { get; init; }
    }

    /// <summary>A network namespace: what lives in the kernel and goes when the container stops.</summary>
    private sealed class NetNs
    {
        public List<Route> Routes { get; } = new();
        /// <summary>(tool, table) → chain → rule specifications, in order.</summary>
        public Dictionary<(string Tool, string Table), Dictionary<string, List<string>>> Rules { get; } = new();

        public NetNs Copy()
        {
            var copy = new NetNs();
            copy.Routes.AddRange(Routes);                           // routes are immutable records
            foreach (var (key, chains) in Rules)
                copy.Rules[key] = chains.ToDictionary(c => c.Key, c => c.Value.ToList(), StringComparer.Ordinal);
            return copy;
        }
    }

    private sealed class Container
    {
        public required string Id { get; init; }
        public required string Name { get; init; }
        public required ContainerSpec Spec { get; init; }
        /// <summary>The network's ID and name as created (the name stays in inspect when the network goes).</summary>
        public string? NetworkId { get; init; }
        public string? NetworkName { get; init; }
        /// <summary>NetworkOfContainer, resolved to the owner's ID at create.</summary>
        public string? NetworkOwnerId { get; init; }
        public required IReadOnlyList<string> MaskedPaths { get; init; }
        public required IReadOnlyList<string> ReadonlyPaths { get; init; }
        public List<string> VolumeNames { get; } = new();
        public Dictionary<string, string> Files { get; } = new(StringComparer.Ordinal);
        public string State { get; set; } = "created";
        public int Pid { get; set; }
        /// <summary>The address IPAM gave at start; null while not running.</summary>
        public IPAddress? Address { get; set; }
        public NetNs? OwnNetNs { get; set; }
        public Dictionary<string, (string HostIp, int HostPort)> Ports { get; } = new(StringComparer.Ordinal);
        public bool Running => State == "running";

        public Container Copy()
        {
            var copy = new Container
            {
                Id = Id, Name = Name, Spec = Spec, NetworkId = NetworkId, NetworkName = NetworkName, NetworkOwnerId = NetworkOwnerId,
                MaskedPaths = MaskedPaths, ReadonlyPaths = ReadonlyPaths,
                State = State, Pid = Pid, Address = Address, OwnNetNs = OwnNetNs?.Copy(),
            };
            copy.VolumeNames.AddRange(VolumeNames);
            foreach (var (path, content) in Files) copy.Files[path] = content;
            foreach (var (port, binding) in Ports) copy.Ports[port] = binding;
            return copy;
        }
    }

    // ================================================================================================ plumbing

    private Task<T> Run<T>(CancellationToken ct, Func<T> body)
    {
        if (ct.IsCancellationRequested) return Task.FromCanceled<T>(ct);
        try
        {
            lock (_gate) return Task.FromResult(body());
        }
        catch (Exception e)
        {
            return Task.FromException<T>(e);
        }
    }

    private Task Run(CancellationToken ct, Action body) => Run<bool>(ct, () => { body(); return true; });

    private static DindException NotFound(string operation, string message, string? target) =>
        new(ErrorIds.DockerObjectNotFound, DindErrorCategory.ObjectNotFound, $"Docker {operation}: {message}", target);

    private static DindException Conflict(string operation, string message, string? target) =>
        new(ErrorIds.DockerConflict, DindErrorCategory.ResourceExists, $"Docker {operation}: {message}", target);

    /// <summary>Any other status, with the category the real mapping gives it (400 InvalidArgument, 403 ResourceBusy, 500 InvalidOperation).</summary>
    private static DindException ApiError(string operation, int status, string message, string? target) =>
        new(ErrorIds.DockerApiError, status switch
        {
            400 => DindErrorCategory.InvalidArgument,
            403 => DindErrorCategory.ResourceBusy,
            _ => DindErrorCategory.InvalidOperation,
        }, $"Docker {operation} failed ({status}): {message}", target);

    private static string NewId() => RandomNumberGenerator.GetHexString(64, lowercase: true);

    private static bool Matches(IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, string>? filter) =>
        filter is null || filter.All(f => labels.TryGetValue(f.Key, out var v) && (f.Value.Length == 0 || v == f.Value));

    private static Dictionary<string, string> Copy(IReadOnlyDictionary<string, string>? labels) =>
        labels is null ? new(StringComparer.Ordinal) : new(labels, StringComparer.Ordinal);

    /// <summary>Docker's lookup: the full ID, then the name, then a unique ID prefix.</summary>
    private static T? Find<T>(IReadOnlyList<T> items, string idOrName, Func<T, string> id, Func<T, string> name) where T : class
    {
        var key = idOrName.TrimStart('/');
        var byId = items.FirstOrDefault(i => id(i) == key) ?? items.FirstOrDefault(i => name(i) == key);
        if (byId is not null || key.Length == 0) return byId;
        var prefixed = items.Where(i => id(i).StartsWith(key, StringComparison.Ordinal)).Take(2).ToList();
        return prefixed.Count == 1 ? prefixed[0] : null;
    }

    private Container? FindContainer(string idOrName) => Find(_containers, idOrName, c => c.Id, c => c.Name);
    private Network? FindNetwork(string idOrName) => Find(_networks, idOrName, n => n.Id, n => n.Name);

    private Container RequireContainer(string idOrName, string operation) =>
        FindContainer(idOrName) ?? throw NotFound(operation, $"No such container: {idOrName}", idOrName);

    private Network? NetworkOf(Container c) =>
        c.NetworkOwnerId is { } owner ? _containers.FirstOrDefault(o => o.Id == owner) is { } o ? NetworkOf(o) : null
            : c.NetworkId is { } id ? _networks.FirstOrDefault(n => n.Id == id) : null;

    /// <summary>The namespace a container's processes see: its own, or its network owner's.</summary>
    private NetNs? NetNsOf(Container c) =>
        c.NetworkOwnerId is { } owner ? _containers.FirstOrDefault(o => o.Id == owner)?.OwnNetNs : c.OwnNetNs;

    private IPAddress? AddressOf(Container c) =>
        c.NetworkOwnerId is { } owner ? _containers.FirstOrDefault(o => o.Id == owner)?.Address : c.Address;

    // ================================================================================================ daemon

    public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken ct) =>
        Run(ct, () => new DaemonInfo("20.10.24", "1.41", "Debian GNU/Linux 12 (bookworm)", false, false, "2", false) { Id = _daemonId });

    // ================================================================================================ networks

    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) =>
        Run<IReadOnlyList<NetworkInfo>>(ct, () => _networks.Where(n => Matches(n.Labels, labels))
            .Select(n => new NetworkInfo(n.Id, n.Name, Copy(n.Labels), new[] { n.Subnet.ToString() }, "bridge")).ToList());

    public Task<string> CreateNetworkAsync(NetworkSpec spec, CancellationToken ct) => Run(ct, () =>
    {
        var operation = $"network create {spec.Name}";
        if (_networks.Any(n => n.Name == spec.Name))
            throw Conflict(operation, $"network with name {spec.Name} already exists", spec.Name);
        if (!IPNetwork.TryParse(spec.Ipv6Subnet, out var subnet) || subnet.BaseAddress.AddressFamily != AddressFamily.InterNetworkV6)
            throw ApiError(operation, 400, $"invalid IPv6 subnet '{spec.Ipv6Subnet}'", spec.Name);
        if (_networks.FirstOrDefault(n => Overlaps(n.Subnet, subnet)) is { } other)
            throw ApiError(operation, 403, $"Pool overlaps with other one on this address space (network {other.Name}, {other.Subnet})", spec.Name);
        IPAddress gateway;
        if (string.IsNullOrEmpty(spec.Ipv6Gateway)) gateway = Offset(subnet.BaseAddress, 1);
        else if (!IPAddress.TryParse(spec.Ipv6Gateway, out gateway!) || !subnet.Contains(gateway))
            throw ApiError(operation, 400, $"Invalid gateway {spec.Ipv6Gateway}: it does not belong to subnet {subnet}", spec.Name);
        var network = new Network { Id = NewId(), Name = spec.Name, Subnet = subnet, Gateway = gateway, Labels = Copy(spec.Labels) };
        _networks.Add(network);
        return network.Id;
    });

    public Task RemoveNetworkAsync(string idOrName, CancellationToken ct) => Run(ct, () =>
    {
        if (FindNetwork(idOrName) is not { } network) return;      // already gone: fine
        var attached = _containers.Where(c => c.NetworkId == network.Id && c.Running).ToList();
        if (attached.Count > 0)
            throw ApiError($"network remove {idOrName}", 403,
                $"error while removing network: network {network.Name} id {network.Id} has active endpoints ({string.Join(", ", attached.Select(c => c.Name))})", idOrName);
        _networks.Remove(network);
    });

    private static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));

    private static IPAddress Offset(IPAddress address, int offset)
    {
        var bytes = address.GetAddressBytes();
        var carry = offset;
        for (var i = bytes.Length - 1; i >= 0 && carry != 0; i--)
        {
            var sum = bytes[i] + carry;
            bytes[i] = (byte)(sum & 0xff);
            carry = sum >> 8;
        }
        return new IPAddress(bytes);
    }

    // ================================================================================================ containers

    private static readonly Regex ContainerName = new("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", RegexOptions.CultureInvariant);

    /// <summary>Docker 20.10's oci.DefaultSpec() lists, which the daemon records in HostConfig at creation.</summary>
    public static readonly IReadOnlyList<string> DefaultMaskedPaths = new[]
    {
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    };

    public static readonly IReadOnlyList<string> DefaultReadonlyPaths = new[] { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };

    public Task<IReadOnlyList<ContainerInfo>> ListContainersAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) =>
        // Newest first, as dockerd lists them; the list endpoint has no PID and no capabilities (DockerApi's mapping).
        Run<IReadOnlyList<ContainerInfo>>(ct, () => _containers.AsEnumerable().Reverse().Where(c => Matches(c.Spec.Labels, labels))
            .Select(c => new ContainerInfo(c.Id, c.Name, c.Spec.Image, c.State, c.Running, 0, Copy(c.Spec.Labels), NetworksOf(c),
                Array.Empty<string>(), Array.Empty<string>()))
            .ToList());

    public Task<ContainerInfo?> InspectContainerAsync(string idOrName, CancellationToken ct) => Run(ct, () =>
    {
        if (FindContainer(idOrName) is not { } c) return null;
        var spec = c.Spec;
        return (ContainerInfo?)new ContainerInfo(c.Id, c.Name, spec.Image, c.State, c.Running, c.Pid, Copy(spec.Labels), NetworksOf(c),
            spec.CapAdd.ToList(), spec.CapDrop.ToList())
        {
            Ports = new Dictionary<string, (string, int)>(c.Ports),
            Privileged = spec.Privileged,
            PortBindings = PortBindingsOf(spec),
            Devices = spec.Devices.ToList(),
            SecurityOptions = spec.SecurityOpt.ToList(),
            MaskedPaths = c.MaskedPaths,
            ReadonlyPaths = c.ReadonlyPaths,
            PidMode = spec.PidOfContainer is { Length: > 0 } pid ? "container:" + pid : "",
            NetworkMode = NetworkModeOf(spec),
        };
    });

    /// <summary>A container of NetworkOfContainer has no network entry of its own (dockerd reports none); an address only while running.</summary>
    private static IReadOnlyDictionary<string, (string? Ipv6, string? Ipv4)> NetworksOf(Container c) =>
        c.NetworkName is null
            ? new Dictionary<string, (string?, string?)>()
            : new Dictionary<string, (string?, string?)> { [c.NetworkName] = (c.Running ? c.Address?.ToString() : null, null) };

    private static string NetworkModeOf(ContainerSpec spec) =>
        spec.NetworkOfContainer is { Length: > 0 } owner ? "container:" + owner : string.IsNullOrEmpty(spec.Network) ? "default" : spec.Network;

    private static Dictionary<string, (string HostIp, int HostPort)> PortBindingsOf(ContainerSpec spec) =>
        spec.PortBindings.ToDictionary(kv => kv.Key.Contains('/') ? kv.Key : kv.Key + "/tcp", kv => kv.Value, StringComparer.Ordinal);

    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct) => Run(ct, () =>
    {
        var name = string.IsNullOrEmpty(spec.Name) ? $"inmemory_{++_unnamed}" : spec.Name.TrimStart('/');
        var operation = $"container create {name}";
        if (!ContainerName.IsMatch(name))
            throw ApiError(operation, 400, $"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
        // The driver checks the restart policy before it sends anything.
        if (spec.RestartPolicy.ToLowerInvariant() is not ("" or "no" or "always" or "unless-stopped" or "on-failure"))
            throw new DindException(ErrorIds.DockerApiError, DindErrorCategory.InvalidArgument,
                $"Restart policy '{spec.RestartPolicy}' is not one of no, always, unless-stopped, on-failure.", spec.RestartPolicy, "RestartPolicy");
        if (_containers.FirstOrDefault(c => c.Name == name) is { } taken)
            throw Conflict(operation, $"Conflict. The container name \"/{name}\" is already in use by container \"{taken.Id}\". You have to remove (or rename) that container to be able to reuse that name.", name);
        if (FindImage(spec.Image) is null)
            throw NotFound(operation, $"No such image: {spec.Image}", name);
        if (!string.IsNullOrEmpty(spec.Network) && !string.IsNullOrEmpty(spec.NetworkOfContainer))
            throw ApiError(operation, 400, "conflicting options: container type network can't be used with a network", name);
        Network? network = null;
        if (!string.IsNullOrEmpty(spec.Network))
            network = FindNetwork(spec.Network) ?? throw NotFound(operation, $"network {spec.Network} not found", name);
        Container? owner = null;
        if (!string.IsNullOrEmpty(spec.NetworkOfContainer))
            owner = FindContainer(spec.NetworkOfContainer) ?? throw NotFound(operation, $"No such container: {spec.NetworkOfContainer}", name);
        if (!string.IsNullOrEmpty(spec.Ipv6Address))
        {
            if (network is null)
                throw ApiError(operation, 400, "user specified IP address is supported on user defined networks only", name);
            if (!IPAddress.TryParse(spec.Ipv6Address, out var requested) || requested.AddressFamily != AddressFamily.InterNetworkV6)
                throw ApiError(operation, 400, $"invalid IPv6 address: {spec.Ipv6Address}", name);
        }

        var unmasked = spec.Privileged || spec.UnmaskSystemPaths;
        var container = new Container
        {
            Id = NewId(),
            Name = name,
            Spec = spec,
            NetworkId = network?.Id,
            NetworkName = network?.Name,
            NetworkOwnerId = owner?.Id,
            MaskedPaths = unmasked ? Array.Empty<string>() : DefaultMaskedPaths,
            ReadonlyPaths = unmasked ? Array.Empty<string>() : DefaultReadonlyPaths,
        };
        foreach (var bind in spec.Binds)
        {
            // name:/path is a named volume, made on first use; /host/path:/path a bind mount (not modelled).
            var source = bind.Split(':')[0];
            if (source.Length == 0 || source.StartsWith('/')) continue;
            if (_volumes.All(v => v.Name != source)) _volumes.Add(new Volume { Name = source, Labels = Copy(null) });
            container.VolumeNames.Add(source);
        }
        foreach (var path in spec.Volumes)
        {
            var volume = new Volume { Name = NewId(), Labels = Copy(null), AnonymousOf = container.Id, Path = path };
            _volumes.Add(volume);
            container.VolumeNames.Add(volume.Name);
        }
        _containers.Add(container);
        return container.Id;
    });

    public Task StartContainerAsync(string id, CancellationToken ct) => Run(ct, () =>
    {
        var operation = $"container start {id}";
        var c = RequireContainer(id, operation);
        if (c.Running) return;                                      // 304: already running, what the caller wants
        if (c.NetworkOwnerId is { } ownerId && _containers.FirstOrDefault(o => o.Id == ownerId) is not { Running: true })
            throw Conflict(operation, $"cannot join network of a non running container: {ownerId}", id);
        IPAddress? address = null;
        Network? network = null;
        if (c.NetworkId is not null)
        {
            network = _networks.FirstOrDefault(n => n.Id == c.NetworkId)
                ?? throw NotFound(operation, $"network {c.NetworkName} not found", id);
            var held = _containers.Where(o => o.Running && o.NetworkId == network.Id && o.Address is not null).ToDictionary(o => o.Address!, o => o.Name);
            if (!string.IsNullOrEmpty(c.Spec.Ipv6Address))
            {
                address = IPAddress.Parse(c.Spec.Ipv6Address);
                if (!network.Subnet.Contains(address))
                    throw ApiError(operation, 400, $"Invalid address {address}: It does not belong to any of this network's subnets", id);
                if (address.Equals(network.Gateway) || held.ContainsKey(address))
                    throw ApiError(operation, 403, $"Address already in use ({address}{(held.TryGetValue(address, out var by) ? " by " + by : ", the gateway")})", id);
            }
            else
            {
                address = Offset(network.Subnet.BaseAddress, 1);
                while (address.Equals(network.Gateway) || held.ContainsKey(address)) address = Offset(address, 1);
            }
        }
        c.State = "running";
        c.Pid = ++_nextPid;
        c.Address = address;
        if (c.NetworkOwnerId is null)
        {
            c.OwnNetNs = new NetNs();
            if (network is not null && address is not null)
            {
                // What dockerd and the kernel put in a fresh namespace on its eth0.
                c.OwnNetNs.Routes.Add(new Route(network.Subnet, null, "eth0", 256, Kernel: true));
                c.OwnNetNs.Routes.Add(new Route(IPNetwork.Parse("fe80::/64"), null, "eth0", 256, Kernel: true));
                c.OwnNetNs.Routes.Add(new Route(IPNetwork.Parse("::/0"), network.Gateway, "eth0", 1024, Kernel: false));
            }
        }
        foreach (var (port, (hostIp, hostPort)) in PortBindingsOf(c.Spec))
            c.Ports[port] = (hostIp, hostPort == 0 ? _nextHostPort++ : hostPort);
    });

    public Task StopContainerAsync(string id, TimeSpan timeout, CancellationToken ct) => Run(ct, () =>
    {
        var c = RequireContainer(id, $"container stop {id}");
        if (!c.Running) return;                                     // 304: already stopped
        StopUnlocked(c);
    });

    private static void StopUnlocked(Container c)
    {
        // The network namespace goes with the process: routes and rules are lost, the address is released.
        c.State = "exited";
        c.Pid = 0;
        c.Address = null;
        c.OwnNetNs = null;
        c.Ports.Clear();
    }

    public Task RemoveContainerAsync(string idOrName, CancellationToken ct) => Run(ct, () =>
    {
        if (FindContainer(idOrName) is not { } c) return;          // already gone: fine
        if (c.Running) StopUnlocked(c);                             // force
        _containers.Remove(c);
        _volumes.RemoveAll(v => v.AnonymousOf == c.Id);             // RemoveVolumes: its anonymous volumes go too
    });

    public Task PutFileAsync(string id, string path, string content, int mode, CancellationToken ct) => Run(ct, () =>
    {
        CheckPath(path);
        RequireContainer(id, $"copy to {id}:{path}").Files[path] = content;
    });

    public Task<string?> GetFileAsync(string id, string path, CancellationToken ct) => Run(ct, () =>
    {
        CheckPath(path);
        return RequireContainer(id, $"copy from {id}:{path}").Files.GetValueOrDefault(path);
    });

    public Task<bool> PathExistsAsync(string id, string path, CancellationToken ct) => Run(ct, () =>
    {
        CheckPath(path);
        var c = RequireContainer(id, $"stat {id}:{path}");
        return c.Files.ContainsKey(path) || c.Files.Keys.Any(f => f.StartsWith(path + "/", StringComparison.Ordinal));
    });

    /// <summary>The driver's own check, before it sends anything.</summary>
    private static void CheckPath(string path)
    {
        if (string.IsNullOrEmpty(path) || !path.StartsWith('/') || path.EndsWith('/'))
            throw new DindException(ErrorIds.InvalidPath, DindErrorCategory.InvalidArgument,
                $"'{path}' is not an absolute file path inside a container.", path, "Path");
    }

    public Task<string> GetLogsAsync(string id, CancellationToken ct) => Run(ct, () =>
    {
        RequireContainer(id, $"container logs {id}");
        return "";
    });

    // ================================================================================================ volumes

    private static readonly Regex VolumeName = new("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", RegexOptions.CultureInvariant);

    public Task<string> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) => Run(ct, () =>
    {
        if (!VolumeName.IsMatch(name))
            throw ApiError($"volume create {name}", 400, $"create {name}: \"{name}\" includes invalid characters for a local volume name", name);
        // An existing volume of the same driver is handed back as it is.
        if (_volumes.All(v => v.Name != name)) _volumes.Add(new Volume { Name = name, Labels = Copy(labels) });
        return name;
    });

    public Task<IReadOnlyList<string>> ListVolumesAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) =>
        Run<IReadOnlyList<string>>(ct, () => _volumes.Where(v => Matches(v.Labels, labels)).Select(v => v.Name).ToList());

    public Task RemoveVolumeAsync(string name, CancellationToken ct) => Run(ct, () =>
    {
        if (_volumes.FirstOrDefault(v => v.Name == name) is not { } volume) return;     // already gone: fine
        var users = _containers.Where(c => c.VolumeNames.Contains(name)).Select(c => c.Id).ToList();
        if (users.Count > 0)
            throw Conflict($"volume remove {name}", $"remove {name}: volume is in use - [{string.Join(", ", users)}]", name);
        _volumes.Remove(volume);
    });

    // ================================================================================================ images

    /// <summary>"name" means "name:latest"; a digest reference stays as it is.</summary>
    private static string Normalize(string reference)
    {
        if (reference.Contains('@')) return reference;
        var slash = reference.LastIndexOf('/');
        return reference.LastIndexOf(':') > slash ? reference : reference + ":latest";
    }

    private Image? FindImage(string reference) =>
        _images.GetValueOrDefault(Normalize(reference))
        ?? _images.Values.FirstOrDefault(i => i.Id == reference || (reference.Length >= 12 && i.Id.StartsWith("sha256:" + reference.Replace("sha256:", ""), StringComparison.Ordinal)));

    private Image AddImageUnlocked(string reference, IReadOnlyDictionary<string, string>? labels)
    {
        var image = new Image("sha256:" + NewId(), Normalize(reference), Copy(labels));
        _images[image.Reference] = image;
        return image;
    }

    public Task<ImageInfo?> InspectImageAsync(string reference, CancellationToken ct) => Run(ct, () =>
        FindImage(reference) is { } i ? new ImageInfo(i.Id, new[] { i.Reference }, Copy(i.Labels), 0) : null);

    public async Task ImportImageAsync(Stream rootfsTar, string reference, CancellationToken ct, IProgress<string>? progress = null)
    {
        ct.ThrowIfCancellationRequested();
        await rootfsTar.CopyToAsync(Stream.Null, ct).ConfigureAwait(false);
        await Run(ct, () => progress?.Report(AddImageUnlocked(reference, null).Id)).ConfigureAwait(false);
    }

    public async Task BuildImageAsync(Stream contextTar, string reference, ImageBuildOptions options, CancellationToken ct, IProgress<string>? progress = null)
    {
        ct.ThrowIfCancellationRequested();
        await contextTar.CopyToAsync(Stream.Null, ct).ConfigureAwait(false);
        await Run(ct, () =>
        {
            var image = AddImageUnlocked(reference, options.Labels);
            progress?.Report($"Successfully built {image.Id[7..19]}");
            progress?.Report($"Successfully tagged {image.Reference}");
        }).ConfigureAwait(false);
    }

    public Task RemoveImageAsync(string reference, CancellationToken ct) => Run(ct, () =>
    {
        if (FindImage(reference) is not { } image) return;          // already gone: fine
        if (_containers.FirstOrDefault(c => FindImage(c.Spec.Image) == image) is { } user)
            throw Conflict($"image remove {reference}",
                $"conflict: unable to remove repository reference \"{reference}\" (must force) - container {user.Id[..12]} is using its referenced image {image.Id[7..19]}", reference);
        _images.Remove(image.Reference);
    });

    /// <summary>Writes an empty tar (two zero blocks) once every image is known; the archive holds no image.</summary>
    public Task SaveImagesAsync(IReadOnlyList<string> references, Stream destination, CancellationToken ct) => Run(ct, () =>
    {
        foreach (var reference in references)
            if (FindImage(reference) is null)
                throw NotFound($"image save {string.Join(' ', references)}", $"An image does not exist locally with the tag: {reference}", reference);
        destination.Write(new byte[1024]);
    });

    // ================================================================================================ snapshot

    /// <summary>
    /// One sorted line per object, for comparing the daemon before and after an operation: every network (name,
    /// subnet, labels), container (name, image, state, labels, IPv6 address), volume (an anonymous one by its
    /// container's name and path), and per container the routes and iptables rules of its own network namespace
    /// and its files (path and a hash of the content). IDs are left out (a rollback that recreates an object
    /// restores the state, not the ID), and so are images (tests seed them). Long or multi-line label values appear
    /// as a hash.
    /// </summary>
    public IReadOnlyList<string> Snapshot()
    {
        lock (_gate)
        {
            var lines = new List<string>();
            foreach (var n in _networks)
                lines.Add($"network {n.Name} subnet={n.Subnet} gateway={n.Gateway} labels={Render(n.Labels)}");
            foreach (var c in _containers)
            {
                lines.Add($"container {c.Name} image={c.Spec.Image} state={c.State} ipv6={(string.IsNullOrEmpty(c.Spec.Ipv6Address) ? "-" : c.Spec.Ipv6Address)} network={NetworkModeOf(c.Spec)} labels={Render(c.Spec.Labels)}");
                if (c.OwnNetNs is { } ns)
                {
                    lines.AddRange(ns.Routes.Select(r => $"route {c.Name} {r}"));
                    foreach (var ((tool, table), chains) in ns.Rules)
                        foreach (var (chain, rules) in chains)
                            lines.AddRange(rules.Select(rule => $"rule {c.Name} {tool} -t {table} -A {chain} {rule}".TrimEnd()));
                }
                lines.AddRange(c.Files.Select(f => $"file {c.Name} {f.Key} sha256:{Hash(f.Value)}"));
            }
            foreach (var v in _volumes)
                lines.Add(v.AnonymousOf is { } owner
                    ? $"volume (anonymous) {_containers.FirstOrDefault(c => c.Id == owner)?.Name ?? owner}:{v.Path}"
                    : $"volume {v.Name} labels={Render(v.Labels)}");
            lines.Sort(StringComparer.Ordinal);
            return lines;
        }
    }

    private static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16].ToLowerInvariant();

    private static string Render(IReadOnlyDictionary<string, string> labels) =>
        string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal)
            .Select(l => $"{l.Key}={(l.Value.Length > 64 || l.Value.Any(ch => char.IsWhiteSpace(ch) || ch == ',') ? "#" + Hash(l.Value) : l.Value)}"));

    public void Dispose() { }
}
