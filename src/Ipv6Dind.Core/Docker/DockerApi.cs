// Over 400 lines on purpose: one adapter, one short method per Docker Engine API call, all sharing RunAsync's
// timeout, cancellation and error mapping; split by topic, each part would need that machinery or reach into it.
using System.Net;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using Version = System.Version;

namespace Ipv6Dind.Core.Docker;

/// <summary>
/// <see cref="IDockerApi"/> over Docker.DotNet. Every call runs under its caller's token and a bounded time
/// (<see cref="DockerApiOptions"/>), and fails only with <see cref="DindException"/> or, when the caller cancels,
/// <see cref="OperationCanceledException"/>. The API version is negotiated on first use: the lower of the daemon's
/// and <see cref="DockerApiOptions.MaxApiVersion"/>, so a 20.10 daemon (1.41) and newer ones both work.
/// </summary>
public sealed class DockerApi : IDockerApi
{
    private readonly DockerClientConfiguration _configuration;
    private readonly DockerApiOptions _options;
    private readonly object _gate = new();
    private Task<(DockerClient Client, VersionResponse Version)>? _negotiated;
    private DockerClient? _probe;
    private bool _disposed;

    private DockerApi(DockerEndpoint endpoint, DockerApiOptions options)
    {
        _options = options;
        Endpoint = endpoint.Display;
        _plainTcp = endpoint.Tls is null && endpoint.Uri.Scheme == "tcp";
        Credentials credentials = endpoint.Tls is { } tls ? new TlsDockerCredentials(tls) : new PlainDockerCredentials();
        // Docker.DotNet's own timeout is switched off: ours (per call, named in the message) replaces it.
        _configuration = new DockerClientConfiguration(endpoint.Uri, credentials, Timeout.InfiniteTimeSpan, TimeSpan.FromSeconds(10), null);
    }

    /// <summary>
    /// A driver for <paramref name="dockerHost"/>, else DOCKER_HOST, else unix:///var/run/docker.sock. Nothing is
    /// sent until the first call; an endpoint that cannot be parsed fails here with DockerHostInvalid.
    /// </summary>
    public static DockerApi Connect(string? dockerHost = null, DockerApiOptions? options = null) =>
        new(DockerEndpoint.Resolve(dockerHost), options ?? DockerApiOptions.Default);

    /// <summary>For tests: DOCKER_* variables from a dictionary instead of the process environment.</summary>
    public static DockerApi Connect(string? dockerHost, Func<string, string?> getEnvironment, DockerApiOptions? options = null) =>
        new(DockerEndpoint.Resolve(dockerHost, getEnvironment), options ?? DockerApiOptions.Default);

    public string Endpoint { get; }

    /// <summary>tcp:// without TLS: a daemon that answers 400 there wants TLS (its 2376 port).</summary>
    private readonly bool _plainTcp;

    /// <summary>The API version in use once the first call has negotiated it; null before.</summary>
    public Version? ApiVersion => _apiVersion;
    private Version? _apiVersion;

    // ---- plumbing -------------------------------------------------------------------------------------------

    private Task<(DockerClient Client, VersionResponse Version)> NegotiatedAsync()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // A failed negotiation (daemon down) is not remembered: the next call tries again.
            if (_negotiated is null || _negotiated.IsFaulted || _negotiated.IsCanceled) _negotiated = NegotiateAsync();
            return _negotiated;
        }
    }

    private async Task<(DockerClient, VersionResponse)> NegotiateAsync()
    {
        // Shared by every caller, so bounded by its own timeout rather than the first caller's token.
        using var timeout = new CancellationTokenSource(_options.CallTimeout);
        DockerClient probe;
        lock (_gate) probe = _probe ??= _configuration.CreateClient(null); // unversioned: the daemon answers in its own
        VersionResponse version;
        try { version = await probe.System.GetVersionAsync(timeout.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw DockerErrors.Timeout(Endpoint, "version negotiation", _options.CallTimeout);
        }
        catch (DockerApiException e) when (_plainTcp && e.StatusCode == System.Net.HttpStatusCode.BadRequest)
        {
            // GET /version answers 400 only when the request never reached the API: plain HTTP on a TLS port.
            throw new DindException(ErrorIds.DockerUnreachable, DindErrorCategory.ConnectionError,
                $"The Docker daemon at {Endpoint} refused a plain HTTP request (400): it expects TLS there.", Endpoint, null,
                "Set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder with ca.pem, cert.pem and key.pem (docker's own variables), or use the daemon's plain port.", e);
        }
        var daemonApi = Version.TryParse(version.APIVersion, out var v) ? v : new Version(1, 41);
        var minApi = Version.TryParse(version.MinAPIVersion, out var m) ? m : new Version(1, 12);
        var use = daemonApi < _options.MaxApiVersion ? daemonApi : _options.MaxApiVersion;
        if (use < minApi)
            throw new DindException(ErrorIds.DockerVersionUnsupported, DindErrorCategory.NotImplemented,
                $"The Docker daemon at {Endpoint} ({version.Version}) accepts API {minApi}–{daemonApi}; this module speaks up to {_options.MaxApiVersion}.",
                target: version.Version);
        _apiVersion = use;
        return (_configuration.CreateClient(use), version);
    }

    private async Task<T> RunAsync<T>(string operation, string? target, TimeSpan timeout, CancellationToken ct,
        Func<DockerClient, CancellationToken, Task<T>> body)
    {
        ct.ThrowIfCancellationRequested();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        Task<T>? work = null;
        try
        {
            work = RunBodyAsync(body, cts.Token);
            // WaitAsync bounds the wait even where Docker.DotNet does not pass the token down (its TCP connect).
            return await work.WaitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Forget(work);
            throw new OperationCanceledException($"Docker {operation} was cancelled.", null, ct);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Forget(work);
            throw DockerErrors.Timeout(Endpoint, operation, timeout);
        }
        catch (Exception e)
        {
            throw DockerErrors.Map(e, Endpoint, operation, target);
        }
    }

    private Task RunAsync(string operation, string? target, TimeSpan timeout, CancellationToken ct,
        Func<DockerClient, CancellationToken, Task> body) =>
        RunAsync<bool>(operation, target, timeout, ct, async (c, t) => { await body(c, t).ConfigureAwait(false); return true; });

    private async Task<T> RunBodyAsync<T>(Func<DockerClient, CancellationToken, Task<T>> body, CancellationToken ct)
    {
        var (client, _) = await NegotiatedAsync().WaitAsync(ct).ConfigureAwait(false);
        return await body(client, ct).ConfigureAwait(false);
    }

    /// <summary>An abandoned task's late failure must not surface as an unobserved exception.</summary>
    private static void Forget(Task? task) =>
        task?.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private static bool IsNotFound(Exception e) => e is DockerApiException { StatusCode: HttpStatusCode.NotFound };

    private static IDictionary<string, IDictionary<string, bool>>? LabelFilter(IReadOnlyDictionary<string, string>? labels)
    {
        if (labels is null || labels.Count == 0) return null;
        return new Dictionary<string, IDictionary<string, bool>>
        {
            ["label"] = labels.ToDictionary(kv => kv.Value.Length == 0 ? kv.Key : $"{kv.Key}={kv.Value}", _ => true),
        };
    }

    private static IReadOnlyDictionary<string, string> Labels(IDictionary<string, string>? labels) =>
        labels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(labels);

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    // ---- daemon ---------------------------------------------------------------------------------------------

    public Task<DaemonInfo> GetDaemonInfoAsync(CancellationToken ct) =>
        RunAsync("version and info", Endpoint, _options.CallTimeout, ct, async (c, t) =>
        {
            var version = await c.System.GetVersionAsync(t).ConfigureAwait(false);
            var info = await c.System.GetSystemInfoAsync(t).ConfigureAwait(false);
            // The default bridge has IPv6 exactly when the daemon runs with --ipv6 (daemon.json "ipv6": true).
            bool ipv6;
            try { ipv6 = (await c.Networks.InspectNetworkAsync("bridge", t).ConfigureAwait(false)).EnableIPv6; }
            catch (DockerApiException e) when (IsNotFound(e)) { ipv6 = false; }
            var os = info.OperatingSystem ?? version.Os ?? "";
            return new DaemonInfo(
                version.Version ?? info.ServerVersion ?? "",
                version.APIVersion ?? "",
                os,
                version.Experimental || info.ExperimentalBuild,
                ipv6,
                info.CgroupVersion ?? "",
                os.Contains("Docker Desktop", StringComparison.OrdinalIgnoreCase)) { Id = info.ID ?? "" };
        });

    // ---- networks -------------------------------------------------------------------------------------------

    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) =>
        RunAsync<IReadOnlyList<NetworkInfo>>("network list", null, _options.CallTimeout, ct, async (c, t) =>
        {
            var list = await c.Networks.ListNetworksAsync(new NetworksListParameters { Filters = LabelFilter(labels) }, t).ConfigureAwait(false);
            return list.Select(n => new NetworkInfo(
                n.ID, n.Name, Labels(n.Labels),
                (n.IPAM?.Config ?? new List<IPAMConfig>()).Select(cfg => cfg.Subnet).Where(s => !string.IsNullOrEmpty(s)).ToList(),
                n.Driver ?? "")).ToList();
        });

    public Task<string> CreateNetworkAsync(NetworkSpec spec, CancellationToken ct) =>
        RunAsync($"network create {spec.Name}", spec.Name, _options.CallTimeout, ct, async (c, t) =>
        {
            var options = new Dictionary<string, string> { ["com.docker.network.driver.mtu"] = spec.Mtu.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            if (!string.IsNullOrEmpty(spec.BridgeName)) options["com.docker.network.bridge.name"] = spec.BridgeName;
            var response = await c.Networks.CreateNetworkAsync(new NetworksCreateParameters
            {
                Name = spec.Name,
                Driver = "bridge",
                // A name that exists is a 409 (DockerConflict), not a second network of the same name.
                CheckDuplicate = true,
                EnableIPv6 = true,
                IPAM = new IPAM
                {
                    Driver = "default",
                    Config = new List<IPAMConfig> { new() { Subnet = spec.Ipv6Subnet, Gateway = NullIfEmpty(spec.Ipv6Gateway) } },
                },
                Options = options,
                Labels = spec.Labels.ToDictionary(kv => kv.Key, kv => kv.Value),
            }, t).ConfigureAwait(false);
            return response.ID;
        });

    public Task RemoveNetworkAsync(string idOrName, CancellationToken ct) =>
        RunAsync($"network remove {idOrName}", idOrName, _options.CallTimeout, ct, async (c, t) =>
        {
            try { await c.Networks.DeleteNetworkAsync(idOrName, t).ConfigureAwait(false); }
            catch (DockerApiException e) when (IsNotFound(e)) { }
        });

    // ---- containers -----------------------------------------------------------------------------------------

    /// <summary>From the list endpoint: no Pid (0) and no capabilities; inspect a container for those.</summary>
    public Task<IReadOnlyList<ContainerInfo>> ListContainersAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) =>
        RunAsync<IReadOnlyList<ContainerInfo>>("container list", null, _options.CallTimeout, ct, async (c, t) =>
        {
            var list = await c.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = LabelFilter(labels) }, t).ConfigureAwait(false);
            return list.Select(r => new ContainerInfo(
                r.ID,
                (r.Names?.FirstOrDefault() ?? r.ID).TrimStart('/'),
                r.Image ?? "",
                r.State ?? "",
                string.Equals(r.State, "running", StringComparison.OrdinalIgnoreCase),
                0,
                Labels(r.Labels),
                Networks(r.NetworkSettings?.Networks),
                Array.Empty<string>(),
                Array.Empty<string>())).ToList();
        });

    public Task<ContainerInfo?> InspectContainerAsync(string idOrName, CancellationToken ct) =>
        RunAsync($"container inspect {idOrName}", idOrName, _options.CallTimeout, ct, async (c, t) =>
        {
            ContainerInspectResponse r;
            try { r = await c.Containers.InspectContainerAsync(idOrName, t).ConfigureAwait(false); }
            catch (DockerApiException e) when (IsNotFound(e)) { return null; }
            return (ContainerInfo?)new ContainerInfo(
                r.ID,
                (r.Name ?? r.ID).TrimStart('/'),
                r.Config?.Image ?? r.Image ?? "",
                r.State?.Status ?? "",
                r.State?.Running ?? false,
                (int)(r.State?.Pid ?? 0),
                Labels(r.Config?.Labels),
                Networks(r.NetworkSettings?.Networks),
                r.HostConfig?.CapAdd?.ToList() ?? new List<string>(),
                r.HostConfig?.CapDrop?.ToList() ?? new List<string>())
            {
                Ports = Ports(r.NetworkSettings?.Ports),
                Privileged = r.HostConfig?.Privileged ?? false,
                PortBindings = Ports(r.HostConfig?.PortBindings, anyPort: true),
                PublishAllPorts = r.HostConfig?.PublishAllPorts ?? false,
                Devices = r.HostConfig?.Devices?.Select(d => d.PathOnHost).ToList() ?? new List<string>(),
                SecurityOptions = r.HostConfig?.SecurityOpt?.ToList() ?? new List<string>(),
                MaskedPaths = r.HostConfig?.MaskedPaths?.ToList() ?? new List<string>(),
                ReadonlyPaths = r.HostConfig?.ReadonlyPaths?.ToList() ?? new List<string>(),
                PidMode = r.HostConfig?.PidMode ?? "",
                NetworkMode = r.HostConfig?.NetworkMode ?? "",
                SandboxKey = string.IsNullOrEmpty(r.NetworkSettings?.SandboxKey) ? null : r.NetworkSettings!.SandboxKey,
                ResolvConfPath = string.IsNullOrEmpty(r.ResolvConfPath) ? null : r.ResolvConfPath,
            };
        });

    /// <param name="anyPort">Also bindings without a host port yet (as created: "" means any free port, reported as 0).</param>
    private static IReadOnlyDictionary<string, (string HostIp, int HostPort)> Ports(IDictionary<string, IList<PortBinding>>? ports, bool anyPort = false)
    {
        var result = new Dictionary<string, (string, int)>(StringComparer.Ordinal);
        foreach (var (port, bindings) in ports ?? new Dictionary<string, IList<PortBinding>>())
        {
            var first = bindings?.FirstOrDefault(b => int.TryParse(b.HostPort, out _) || (anyPort && string.IsNullOrEmpty(b.HostPort)));
            if (first is not null)
                result[port] = (first.HostIP ?? "", string.IsNullOrEmpty(first.HostPort) ? 0 : int.Parse(first.HostPort, System.Globalization.CultureInfo.InvariantCulture));
        }
        return result;
    }

    private static IReadOnlyDictionary<string, (string? Ipv6, string? Ipv4)> Networks(IDictionary<string, EndpointSettings>? networks) =>
        networks is null
            ? new Dictionary<string, (string?, string?)>()
            : networks.ToDictionary(kv => kv.Key, kv => (NullIfEmpty(kv.Value?.GlobalIPv6Address), NullIfEmpty(kv.Value?.IPAddress)));

    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct) =>
        RunAsync($"container create {spec.Name}", spec.Name, _options.CallTimeout, ct, async (c, t) =>
        {
            var response = await c.Containers.CreateContainerAsync(ToParameters(spec), t).ConfigureAwait(false);
            return response.ID;
        });

    internal static CreateContainerParameters ToParameters(ContainerSpec spec)
    {
        var host = new HostConfig
        {
            Init = spec.Init,
            Privileged = spec.Privileged,
            CapAdd = spec.CapAdd.ToList(),
            CapDrop = spec.CapDrop.ToList(),
            SecurityOpt = spec.SecurityOpt.ToList(),
            // The CLI's --security-opt systempaths=unconfined is, in the API, empty masked and read-only path lists.
            MaskedPaths = spec.UnmaskSystemPaths ? new List<string>() : null,
            ReadonlyPaths = spec.UnmaskSystemPaths ? new List<string>() : null,
            Sysctls = spec.Sysctls.ToDictionary(kv => kv.Key, kv => kv.Value),
            Devices = spec.Devices.Select(d => new DeviceMapping { PathOnHost = d, PathInContainer = d, CgroupPermissions = "rwm" }).ToList(),
            Tmpfs = spec.Tmpfs.ToDictionary(kv => kv.Key, kv => kv.Value),
            Binds = spec.Binds.ToList(),
            RestartPolicy = new RestartPolicy { Name = RestartKind(spec.RestartPolicy) },
            CgroupnsMode = NullIfEmpty(spec.CgroupnsMode),
            NetworkMode = spec.NetworkOfContainer is { Length: > 0 } owner ? "container:" + owner : NullIfEmpty(spec.Network),
            PidMode = spec.PidOfContainer is { Length: > 0 } pidOwner ? "container:" + pidOwner : null,
        };
        var exposed = new Dictionary<string, EmptyStruct>();
        if (spec.PortBindings.Count > 0)
        {
            host.PortBindings = new Dictionary<string, IList<PortBinding>>();
            foreach (var (port, (hostIp, hostPort)) in spec.PortBindings)
            {
                var key = port.Contains('/') ? port : port + "/tcp";
                exposed[key] = default;
                host.PortBindings[key] = new List<PortBinding>
                {
                    // HostPort "" lets the daemon pick a free port.
                    new() { HostIP = hostIp, HostPort = hostPort == 0 ? "" : hostPort.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                };
            }
        }

        var parameters = new CreateContainerParameters
        {
            Name = spec.Name,
            Image = spec.Image,
            Hostname = NullIfEmpty(spec.Hostname),
            Labels = spec.Labels.ToDictionary(kv => kv.Key, kv => kv.Value),
            Cmd = spec.Command?.ToList(),
            Entrypoint = spec.Entrypoint?.ToList(),
            Env = spec.Environment.ToList(),
            ExposedPorts = exposed.Count > 0 ? exposed : null,
            Volumes = spec.Volumes.Count > 0 ? spec.Volumes.ToDictionary(v => v, _ => default(EmptyStruct)) : null,
            HostConfig = host,
        };
        if (!string.IsNullOrEmpty(spec.Network))
        {
            parameters.NetworkingConfig = new NetworkingConfig
            {
                EndpointsConfig = new Dictionary<string, EndpointSettings>
                {
                    [spec.Network] = new()
                    {
                        IPAMConfig = string.IsNullOrEmpty(spec.Ipv6Address) ? null : new EndpointIPAMConfig { IPv6Address = spec.Ipv6Address },
                    },
                },
            };
        }
        return parameters;
    }

    private static RestartPolicyKind RestartKind(string policy) => policy.ToLowerInvariant() switch
    {
        "" or "no" => RestartPolicyKind.No,
        "always" => RestartPolicyKind.Always,
        "unless-stopped" => RestartPolicyKind.UnlessStopped,
        "on-failure" => RestartPolicyKind.OnFailure,
        _ => throw new DindException(ErrorIds.DockerApiError, DindErrorCategory.InvalidArgument,
            $"Restart policy '{policy}' is not one of no, always, unless-stopped, on-failure.", target: policy, parameterName: "RestartPolicy"),
    };

    public Task StartContainerAsync(string id, CancellationToken ct) =>
        RunAsync($"container start {id}", id, _options.CallTimeout, ct, async (c, t) =>
            // false means "already running" (304), which is what the caller wants.
            await c.Containers.StartContainerAsync(id, new ContainerStartParameters(), t).ConfigureAwait(false));

    public Task StopContainerAsync(string id, TimeSpan timeout, CancellationToken ct)
    {
        var seconds = (uint)Math.Max(0, Math.Ceiling(timeout.TotalSeconds));
        // The daemon waits up to `seconds` before SIGKILL; our bound comes on top of that.
        return RunAsync($"container stop {id}", id, timeout + _options.CallTimeout, ct, async (c, t) =>
            await c.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = seconds }, t).ConfigureAwait(false));
    }

    public Task RemoveContainerAsync(string idOrName, CancellationToken ct) =>
        RunAsync($"container remove {idOrName}", idOrName, _options.CallTimeout, ct, async (c, t) =>
        {
            try
            {
                await c.Containers.RemoveContainerAsync(idOrName, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, t).ConfigureAwait(false);
            }
            catch (DockerApiException e) when (IsNotFound(e)) { }
            catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict && e.ResponseBody?.Contains("already in progress", StringComparison.Ordinal) == true)
            {
                // An earlier removal is still running in the daemon (its caller was stopped or lost the answer, as
                // Ctrl-C during Remove-DindCluster does): the container goes anyway, so wait for it, within this call's time.
                while (true)
                {
                    try { await c.Containers.InspectContainerAsync(idOrName, t).ConfigureAwait(false); }
                    catch (DockerApiException gone) when (IsNotFound(gone)) { return; }
                    await Task.Delay(TimeSpan.FromMilliseconds(100), t).ConfigureAwait(false);
                }
            }
        });

    public Task PutFileAsync(string id, string path, string content, int mode, CancellationToken ct)
    {
        var (directory, name) = SplitPath(path);
        return RunAsync($"copy to {id}:{path}", path, _options.CallTimeout, ct, async (c, t) =>
        {
            using var tar = DockerStreams.SingleFileTar(name, new UTF8Encoding(false).GetBytes(content), mode);
            await c.Containers.ExtractArchiveToContainerAsync(id,
                new ContainerPathStatParameters { Path = directory, AllowOverwriteDirWithFile = false }, tar, t).ConfigureAwait(false);
        });
    }

    public Task<string?> GetFileAsync(string id, string path, CancellationToken ct)
    {
        SplitPath(path);
        return RunAsync($"copy from {id}:{path}", path, _options.CallTimeout, ct, async (c, t) =>
        {
            var current = path;
            // The archive API hands a symbolic link back as a link; follow a few hops like cat would.
            for (var hop = 0; hop < 8; hop++)
            {
                GetArchiveFromContainerResponse archive;
                try
                {
                    archive = await c.Containers.GetArchiveFromContainerAsync(id, new GetArchiveFromContainerParameters { Path = current }, false, t).ConfigureAwait(false);
                }
                catch (DockerApiException e) when (IsNotFound(e))
                {
                    // 404 means either "no such file" (null) or "no such container" (an error): ask which.
                    try { await c.Containers.InspectContainerAsync(id, t).ConfigureAwait(false); }
                    catch (DockerApiException e2) when (IsNotFound(e2)) { throw e; }
                    return null;
                }
                using (archive.Stream)
                {
                    var (text, link) = await DockerStreams.ReadSingleFileAsync(archive.Stream, current, t).ConfigureAwait(false);
                    if (link is null) return text;
                    current = link.StartsWith('/') ? link : SplitPath(current).Directory.TrimEnd('/') + "/" + link;
                }
            }
            throw new DindException(ErrorIds.DockerApiError, DindErrorCategory.InvalidData, $"{path} in {id} is a chain of more than 8 symbolic links.", target: path);
        });
    }

    public Task<bool> PathExistsAsync(string id, string path, CancellationToken ct)
    {
        SplitPath(path);
        return RunAsync($"stat {id}:{path}", path, _options.CallTimeout, ct, async (c, t) =>
        {
            try
            {
                var stat = await c.Containers.GetArchiveFromContainerAsync(id, new GetArchiveFromContainerParameters { Path = path }, true, t).ConfigureAwait(false);
                stat.Stream?.Dispose();
                return true;
            }
            catch (DockerApiException e) when (IsNotFound(e))
            {
                try { await c.Containers.InspectContainerAsync(id, t).ConfigureAwait(false); }
                catch (DockerApiException e2) when (IsNotFound(e2)) { throw e; }
                return false;
            }
        });
    }

    private static (string Directory, string Name) SplitPath(string path)
    {
        if (string.IsNullOrEmpty(path) || !path.StartsWith('/') || path.EndsWith('/'))
            throw new DindException(ErrorIds.InvalidPath, DindErrorCategory.InvalidArgument,
                $"'{path}' is not an absolute file path inside a container.", target: path, parameterName: "Path");
        var slash = path.LastIndexOf('/');
        return (slash == 0 ? "/" : path[..slash], path[(slash + 1)..]);
    }

    public Task<string> GetLogsAsync(string id, CancellationToken ct) =>
        RunAsync($"container logs {id}", id, _options.CallTimeout, ct, async (c, t) =>
        {
            // Our containers never have a TTY, so the log stream is multiplexed.
            using var stream = await c.Containers.GetContainerLogsAsync(id, false,
                new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Follow = false, Tail = "all" }, t).ConfigureAwait(false);
            var combined = new StringBuilder();
            await DockerStreams.ReadAllAsync(stream, new StringBuilder(), new StringBuilder(), combined, t).ConfigureAwait(false);
            return combined.ToString();
        });

    public Task<ExecResult> ExecAsync(string id, IReadOnlyList<string> argv, string? stdin, IReadOnlyDictionary<string, string>? environment, CancellationToken ct) =>
        ExecCoreAsync(id, argv, environment, _options.ExecTimeout, ct, stdin is null ? null : async (stream, t) =>
        {
            var bytes = new UTF8Encoding(false).GetBytes(stdin);
            await stream.WriteAsync(bytes, 0, bytes.Length, t).ConfigureAwait(false);
        });

    public Task<ExecResult> ExecWithInputAsync(string id, IReadOnlyList<string> argv, Stream stdin, CancellationToken ct) =>
        // Hundreds of MB through the socket (an image archive): the import time limit, not the exec one.
        ExecCoreAsync(id, argv, null, _options.ImportTimeout, ct, async (stream, t) =>
        {
            var buffer = new byte[1 << 16];
            int read;
            while ((read = await stdin.ReadAsync(buffer.AsMemory(), t).ConfigureAwait(false)) > 0)
                await stream.WriteAsync(buffer, 0, read, t).ConfigureAwait(false);
        });

    /// <summary>One exec: create, attach, feed stdin (then EOF) while reading stdout and stderr, wait for the exit code.</summary>
    private Task<ExecResult> ExecCoreAsync(string id, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout,
        CancellationToken ct, Func<MultiplexedStream, CancellationToken, Task>? feedStdin)
    {
        if (argv.Count == 0)
            throw new DindException(ErrorIds.ExecFailed, DindErrorCategory.InvalidArgument, "An exec needs a command (argv is empty).", target: id);
        return RunAsync($"exec {argv[0]} in {id}", id, timeout, ct, async (c, t) =>
        {
            var created = await c.Exec.ExecCreateContainerAsync(id, new ContainerExecCreateParameters
            {
                Cmd = argv.ToList(),
                Env = environment?.Select(kv => $"{kv.Key}={kv.Value}").ToList(),
                AttachStdin = feedStdin is not null,
                AttachStdout = true,
                AttachStderr = true,
                Tty = false,
            }, t).ConfigureAwait(false);

            using var stream = await c.Exec.StartAndAttachContainerExecAsync(created.ID, false, t).ConfigureAwait(false);
            // Closing the hijacked connection is what really stops a read that is waiting on the process.
            using var closeOnCancel = t.Register(static s => ((MultiplexedStream)s!).Dispose(), stream);
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            var reading = DockerStreams.ReadAllAsync(stream, stdout, stderr, null, t);
            if (feedStdin is not null)
            {
                try
                {
                    await feedStdin(stream, t).ConfigureAwait(false);
                    stream.CloseWrite(); // EOF on the process's stdin
                }
                catch (IOException) when (!t.IsCancellationRequested)
                {
                    // The process exited without reading all of stdin; its exit code tells the rest.
                }
            }
            await reading.ConfigureAwait(false);

            var inspect = await c.Exec.InspectContainerExecAsync(created.ID, t).ConfigureAwait(false);
            // The stream can end a moment before the daemon records the exit code.
            for (var i = 0; inspect.Running && i < 100; i++)
            {
                await Task.Delay(10, t).ConfigureAwait(false);
                inspect = await c.Exec.InspectContainerExecAsync(created.ID, t).ConfigureAwait(false);
            }
            return new ExecResult((int)inspect.ExitCode, stdout.ToString(), stderr.ToString());
        });
    }

    // ---- volumes --------------------------------------------------------------------------------------------

    public Task<string> CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) =>
        RunAsync($"volume create {name}", name, _options.CallTimeout, ct, async (c, t) =>
        {
            var v = await c.Volumes.CreateAsync(new VolumesCreateParameters
            {
                Name = name,
                Driver = "local",
                Labels = labels.ToDictionary(kv => kv.Key, kv => kv.Value),
            }, t).ConfigureAwait(false);
            return v.Name;
        });

    public Task<IReadOnlyList<string>> ListVolumesAsync(IReadOnlyDictionary<string, string>? labels, CancellationToken ct) =>
        RunAsync<IReadOnlyList<string>>("volume list", null, _options.CallTimeout, ct, async (c, t) =>
        {
            var list = await c.Volumes.ListAsync(new VolumesListParameters { Filters = LabelFilter(labels) }, t).ConfigureAwait(false);
            return (list.Volumes ?? new List<VolumeResponse>()).Select(v => v.Name).ToList();
        });

    public Task RemoveVolumeAsync(string name, CancellationToken ct) =>
        RunAsync($"volume remove {name}", name, _options.CallTimeout, ct, async (c, t) =>
        {
            try { await c.Volumes.RemoveAsync(name, false, t).ConfigureAwait(false); }
            catch (DockerApiException e) when (IsNotFound(e)) { }
        });

    // ---- images ---------------------------------------------------------------------------------------------

    public Task<ImageInfo?> InspectImageAsync(string reference, CancellationToken ct) =>
        RunAsync($"image inspect {reference}", reference, _options.CallTimeout, ct, async (c, t) =>
        {
            ImageInspectResponse r;
            try { r = await c.Images.InspectImageAsync(reference, t).ConfigureAwait(false); }
            catch (DockerApiException e) when (IsNotFound(e)) { return null; }
            return (ImageInfo?)new ImageInfo(r.ID, r.RepoTags?.ToList() ?? new List<string>(), Labels(r.Config?.Labels), r.Size)
            {
                Entrypoint = r.Config?.Entrypoint?.ToList() ?? new List<string>(),
                Command = r.Config?.Cmd?.ToList() ?? new List<string>(),
            };
        });

    public Task ImportImageAsync(Stream rootfsTar, string reference, CancellationToken ct, IProgress<string>? progress = null)
    {
        var (repository, tag) = SplitReference(reference);
        return RunAsync($"image import {reference}", reference, _options.ImportTimeout, ct, async (c, t) =>
        {
            var messages = new JsonMessages(progress);
            await c.Images.CreateImageAsync(
                new ImagesCreateParameters { FromSrc = "-", Repo = repository, Tag = tag },
                rootfsTar, (AuthConfig?)null, messages, t).ConfigureAwait(false);
            messages.ThrowIfFailed(ErrorIds.DockerApiError, $"Importing {reference} failed");
        });
    }

    public Task BuildImageAsync(Stream contextTar, string reference, ImageBuildOptions options, CancellationToken ct, IProgress<string>? progress = null) =>
        RunAsync($"image build {reference}", reference, _options.BuildTimeout, ct, async (c, t) =>
        {
            var messages = new JsonMessages(progress);
            await c.Images.BuildImageFromDockerfileAsync(new ImageBuildParameters
            {
                Tags = new List<string> { reference },
                Dockerfile = "Dockerfile",
                Labels = options.Labels.ToDictionary(kv => kv.Key, kv => kv.Value),
                BuildArgs = options.BuildArgs.ToDictionary(kv => kv.Key, kv => kv.Value),
                NetworkMode = NullIfEmpty(options.NetworkMode),
                ExtraHosts = options.ExtraHosts.Count > 0 ? options.ExtraHosts.ToList() : null,
                // Intermediate containers go away even when a step fails; nothing is pulled (no registry).
                Remove = true,
                ForceRemove = true,
            }, contextTar, Array.Empty<AuthConfig>(), new Dictionary<string, string>(), messages, t).ConfigureAwait(false);
            messages.ThrowIfFailed(ErrorIds.ImageBuildFailed, $"Building {reference} failed");
        });

    public Task SaveImagesAsync(IReadOnlyList<string> references, Stream destination, CancellationToken ct) =>
        RunAsync($"image save {string.Join(' ', references)}", string.Join(", ", references), _options.ImportTimeout, ct, async (c, t) =>
        {
            using var archive = await c.Images.SaveImagesAsync(references.ToArray(), t).ConfigureAwait(false);
            await archive.CopyToAsync(destination, 1 << 16, t).ConfigureAwait(false);
        });

    public Task RemoveImageAsync(string reference, CancellationToken ct) =>
        RunAsync($"image remove {reference}", reference, _options.CallTimeout, ct, async (c, t) =>
        {
            try { await c.Images.DeleteImageAsync(reference, new ImageDeleteParameters { Force = false }, t).ConfigureAwait(false); }
            catch (DockerApiException e) when (IsNotFound(e)) { }
        });

    internal static (string Repository, string Tag) SplitReference(string reference)
    {
        var slash = reference.LastIndexOf('/');
        var colon = reference.LastIndexOf(':');
        return colon > slash ? (reference[..colon], reference[(colon + 1)..]) : (reference, "latest");
    }

    /// <summary>
    /// The JSON message stream of build and import: lines go to the caller's progress, the last ones are kept for
    /// the error message, and an error message (which arrives with HTTP 200) fails the call.
    /// </summary>
    private sealed class JsonMessages : IProgress<JSONMessage>
    {
        private static readonly System.Text.RegularExpressions.Regex AnsiEscape = new("\u001b\\[[0-9;]*[A-Za-z]", System.Text.RegularExpressions.RegexOptions.Compiled);
        private readonly IProgress<string>? _progress;
        private readonly TailBuffer _tail = new(30);
        private string? _error;

        public JsonMessages(IProgress<string>? progress) => _progress = progress;

        public void Report(JSONMessage value)
        {
            if (value.Error is { Message: { Length: > 0 } em }) _error ??= em;
            else if (!string.IsNullOrEmpty(value.ErrorMessage)) _error ??= value.ErrorMessage;
            var text = value.Stream ?? value.Status;
            if (string.IsNullOrEmpty(text)) return;
            // The classic builder colours a step's stderr with ANSI escapes; keep the text only.
            foreach (var line in AnsiEscape.Replace(text, "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                _tail.Add(line);
                _progress?.Report(line);
            }
        }

        public void ThrowIfFailed(string errorId, string what)
        {
            if (_error is null) return;
            throw new DindException(errorId, DindErrorCategory.InvalidOperation,
                $"{what}: {_error.Trim()}{Environment.NewLine}Last lines:{Environment.NewLine}{_tail}");
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        if (_negotiated is { IsCompletedSuccessfully: true } n) n.Result.Client.Dispose();
        _probe?.Dispose();
        _configuration.Dispose();
    }
}
