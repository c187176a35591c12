using Ipv6Dind.TestSupport;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Images;
using Xunit.Abstractions;

namespace Ipv6Dind.IntegrationTests.Docker;

/// <summary>
/// Shared by the driver and image tests: one daemon connection, the role images (built offline on first use,
/// cached after), and one labelled network with one running node container. Everything it or a test creates
/// carries io.ipv6dind.cluster=it-docker-…; all of that is removed before (leftovers of a killed run) and after.
/// The images themselves are kept: they are the cache later runs and the lab tests rely on.
/// </summary>
public sealed class DockerFixture : IAsyncLifetime
{
    public const string LabelKey = "io.ipv6dind.cluster";
    public const string Prefix = "it-docker-";

    public DockerApi Api { get; private set; } = null!;
    /// <summary>This run's label value; every object of the run carries it.</summary>
    public string Cluster { get; } = Prefix + Guid.NewGuid().ToString("N")[..8];
    public IReadOnlyDictionary<string, string> Labels => new Dictionary<string, string> { [LabelKey] = Cluster };
    public string NodeImage { get; } = ImageBuilder.ReferenceFor("node");
    public IReadOnlyList<BuiltImage> Images { get; private set; } = Array.Empty<BuiltImage>();
    public TimeSpan ImageBuildTime { get; private set; }

    public string NetworkName => Cluster + "-net";
    public string Subnet { get; private set; } = "";
    public string ContainerName => Cluster + "-c1";
    public string ContainerAddress { get; private set; } = "";
    public string ContainerId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Api = DockerApi.Connect();
        await RemoveLeftoversAsync(all: true);

        var sw = Stopwatch.StartNew();
        Images = await new ImageBuilder(Api, OperationContext.None).EnsureImagesAsync(ImageRecipes.Roles, force: false);
        ImageBuildTime = sw.Elapsed;

        // A random /64 in fd00:7e57::/32 (never fd00::/64, the host's uplink), not used by any network yet.
        var used = (await Api.ListNetworksAsync(null, default)).SelectMany(n => n.Subnets).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var rng = new Random();
        do
        {
            var word = rng.Next(1, 0xffff).ToString("x");
            Subnet = $"fd00:7e57:{word}::/64";
            ContainerAddress = $"fd00:7e57:{word}::10";
        } while (used.Contains(Subnet));

        await Api.CreateNetworkAsync(new NetworkSpec(NetworkName, Subnet, Subnet.Replace("::/64", "::1"), Labels), default);
        ContainerId = await Api.CreateContainerAsync(new ContainerSpec(ContainerName, NodeImage, Labels)
        {
            Hostname = "c1",
            Command = new[] { "sleep", "infinity" },
            Environment = new[] { "FROM_SPEC=spec value" },
            Network = NetworkName,
            Ipv6Address = ContainerAddress,
            CapAdd = new[] { "NET_ADMIN" },
            CapDrop = new[] { "MKNOD" },
            Sysctls = new Dictionary<string, string> { ["net.ipv6.conf.all.disable_ipv6"] = "0" },
            Tmpfs = new Dictionary<string, string> { ["/run"] = "rw,nosuid,nodev" },
            Init = true,
        }, default);
        await Api.StartContainerAsync(ContainerId, default);
    }

    public async Task DisposeAsync()
    {
        try { await RemoveLeftoversAsync(all: false); }
        finally { Api.Dispose(); }
    }

    /// <summary>Containers, then networks and volumes, of this run (or of every it-docker- run).</summary>
    public async Task RemoveLeftoversAsync(bool all)
    {
        var filter = all ? new Dictionary<string, string> { [LabelKey] = "" } : (IReadOnlyDictionary<string, string>)Labels;
        bool Ours(IReadOnlyDictionary<string, string> labels) =>
            labels.TryGetValue(LabelKey, out var v) && (all ? v.StartsWith(Prefix, StringComparison.Ordinal) : v == Cluster);

        foreach (var c in (await Api.ListContainersAsync(filter, default)).Where(c => Ours(c.Labels)))
            await Api.RemoveContainerAsync(c.Id, default);
        foreach (var n in (await Api.ListNetworksAsync(filter, default)).Where(n => Ours(n.Labels)))
            await Api.RemoveNetworkAsync(n.Id, default);
        foreach (var v in await Api.ListVolumesAsync(all ? filter : Labels, default))
            if (all ? v.StartsWith(Prefix, StringComparison.Ordinal) : v.StartsWith(Cluster, StringComparison.Ordinal))
                await Api.RemoveVolumeAsync(v, default);
    }
}

[CollectionDefinition("docker")]
public sealed class DockerCollection : ICollectionFixture<DockerFixture> { }

[Collection("docker")]
public sealed class DockerApiTests
{
    private readonly DockerFixture _f;
    private readonly ITestOutputHelper _out;

    public DockerApiTests(DockerFixture fixture, ITestOutputHelper output)
    {
        _f = fixture;
        _out = output;
    }

    private IDockerApi Api => _f.Api;

    [Fact]
    public async Task Daemon_info_names_version_and_negotiated_api()
    {
        var info = await Api.GetDaemonInfoAsync(default);
        Assert.False(string.IsNullOrEmpty(info.Version));
        Assert.True(Version.TryParse(info.ApiVersion, out var daemonApi));
        Assert.NotNull(_f.Api.ApiVersion);
        Assert.True(_f.Api.ApiVersion <= daemonApi, $"negotiated {_f.Api.ApiVersion} > daemon {daemonApi}");
        Assert.True(_f.Api.ApiVersion <= DockerApiOptions.Default.MaxApiVersion);
        Assert.False(info.IsDockerDesktop);
        _out.WriteLine($"{info}; negotiated API {_f.Api.ApiVersion}; images ready in {_f.ImageBuildTime.TotalSeconds:0.0} s ({string.Join(", ", _f.Images)})");
    }

    [Fact]
    public async Task Exec_feeds_stdin_and_environment_and_returns_exit_code_and_both_streams()
    {
        var result = await Api.ExecAsync(_f.ContainerId,
            new[] { "sh", "-c", "cat; echo \"$GREETING|$FROM_SPEC\" >&2; exit 3" },
            "hello\nwörld\n",
            new Dictionary<string, string> { ["GREETING"] = "hi there" }, default);

        Assert.Equal(3, result.ExitCode);
        Assert.False(result.Succeeded);
        Assert.Equal("hello\nwörld\n", result.StandardOutput);
        Assert.Equal("hi there|spec value\n", result.StandardError);
    }

    [Fact]
    public async Task Exec_without_stdin_and_with_a_megabyte_of_stdin()
    {
        var sw = Stopwatch.StartNew();
        var hostname = await Api.ExecAsync(_f.ContainerId, new[] { "cat", "/etc/hostname" }, null, null, default);
        var once = sw.Elapsed;
        Assert.True(hostname.Succeeded, hostname.StandardError);
        Assert.Equal("c1\n", hostname.StandardOutput);

        // Stdin is written while output is read: a big input must not deadlock against a full pipe.
        var big = new string('x', 1 << 20);
        var counted = await Api.ExecAsync(_f.ContainerId, new[] { "wc", "-c" }, big, null, default);
        Assert.Equal((1 << 20).ToString(), counted.StandardOutput.Trim());

        sw.Restart();
        for (var i = 0; i < 10; i++) await Api.ExecAsync(_f.ContainerId, new[] { "true" }, null, null, default);
        _out.WriteLine($"first exec {once.TotalMilliseconds:0} ms; 10 execs {sw.Elapsed.TotalMilliseconds / 10:0} ms each");
    }

    [Fact]
    public async Task Put_and_get_file_round_trip_content_mode_and_links()
    {
        const string content = "line one\nzwei: ü\n";
        await Api.PutFileAsync(_f.ContainerId, "/etc/ipv6dind-test.conf", content, Convert.ToInt32("640", 8), default);

        Assert.Equal(content, await Api.GetFileAsync(_f.ContainerId, "/etc/ipv6dind-test.conf", default));
        var stat = await Api.ExecAsync(_f.ContainerId, new[] { "stat", "-c", "%a %u", "/etc/ipv6dind-test.conf" }, null, null, default);
        Assert.Equal("640 0", stat.StandardOutput.Trim());

        // Overwrite, then read through a symbolic link (the archive API alone would hand back the link).
        await Api.PutFileAsync(_f.ContainerId, "/etc/ipv6dind-test.conf", "second\n", Convert.ToInt32("644", 8), default);
        var ln = await Api.ExecAsync(_f.ContainerId, new[] { "ln", "-sf", "../etc/ipv6dind-test.conf", "/tmp/link" }, null, null, default);
        Assert.True(ln.Succeeded, ln.StandardError);
        Assert.Equal("second\n", await Api.GetFileAsync(_f.ContainerId, "/tmp/link", default));

        Assert.Null(await Api.GetFileAsync(_f.ContainerId, "/etc/no-such-file", default));
        var noDir = await Assert.ThrowsAsync<DindException>(() => Api.PutFileAsync(_f.ContainerId, "/no/such/dir/file", "x", Convert.ToInt32("644", 8), default));
        Assert.Equal(ErrorIds.DockerObjectNotFound, noDir.ErrorId);
        var noContainer = await Assert.ThrowsAsync<DindException>(() => Api.GetFileAsync(_f.Cluster + "-missing", "/etc/hostname", default));
        Assert.Equal(ErrorIds.DockerObjectNotFound, noContainer.ErrorId);
        var relative = await Assert.ThrowsAsync<DindException>(() => Api.GetFileAsync(_f.ContainerId, "etc/hostname", default));
        Assert.Equal(ErrorIds.InvalidPath, relative.ErrorId);
    }

    [Fact]
    public async Task Inspect_reports_pid_addresses_caps_and_labels()
    {
        var c = await Api.InspectContainerAsync(_f.ContainerName, default);
        Assert.NotNull(c);
        Assert.Equal(_f.ContainerId, c.Id);
        Assert.Equal(_f.ContainerName, c.Name);
        Assert.True(c.Running);
        Assert.Equal("running", c.State);
        Assert.True(c.Pid > 0);
        Assert.Equal(_f.NodeImage, c.Image);
        Assert.Equal(_f.Cluster, c.Labels[DockerFixture.LabelKey]);
        Assert.Equal(IPAddress.Parse(_f.ContainerAddress), IPAddress.Parse(c.Networks[_f.NetworkName].Ipv6!));
        Assert.Contains("NET_ADMIN", c.CapAdd);
        Assert.Contains("MKNOD", c.CapDrop);

        // What was asked for is what runs: the address on eth0, the tmpfs, the capability set.
        var addr = await Api.ExecAsync(_f.ContainerId, new[] { "ip", "-6", "addr", "show", "dev", "eth0" }, null, null, default);
        Assert.Contains(_f.ContainerAddress + "/64", addr.StandardOutput);
        var mounts = await Api.ExecAsync(_f.ContainerId, new[] { "grep", " /run ", "/proc/mounts" }, null, null, default);
        Assert.StartsWith("tmpfs /run tmpfs", mounts.StandardOutput);
        // PID 1 is docker-init (Init = true), which is why stop does not wait for sleep's ignored SIGTERM.
        var pid1 = await Api.ExecAsync(_f.ContainerId, new[] { "cat", "/proc/1/comm" }, null, null, default);
        Assert.Equal("docker-init", pid1.StandardOutput.Trim());

        Assert.Null(await Api.InspectContainerAsync(_f.Cluster + "-missing", default));
    }

    [Fact]
    public async Task Lists_filter_by_label()
    {
        var containers = await Api.ListContainersAsync(_f.Labels, default);
        var mine = Assert.Single(containers);
        Assert.Equal(_f.ContainerName, mine.Name);
        Assert.True(mine.Running);
        Assert.Equal(IPAddress.Parse(_f.ContainerAddress), IPAddress.Parse(mine.Networks[_f.NetworkName].Ipv6!));

        var networks = await Api.ListNetworksAsync(_f.Labels, default);
        var net = Assert.Single(networks);
        Assert.Equal(_f.NetworkName, net.Name);
        Assert.Equal("bridge", net.Driver);
        Assert.Contains(_f.Subnet, net.Subnets);

        var other = new Dictionary<string, string> { [DockerFixture.LabelKey] = _f.Cluster + "-other" };
        Assert.Empty(await Api.ListContainersAsync(other, default));
        Assert.Empty(await Api.ListNetworksAsync(other, default));
        // A key with an empty value matches the key with any value.
        Assert.Contains(await Api.ListContainersAsync(new Dictionary<string, string> { [DockerFixture.LabelKey] = "" }, default), c => c.Id == _f.ContainerId);
    }

    [Fact]
    public async Task Stop_logs_and_remove_twice()
    {
        var name = _f.Cluster + "-stop";
        var id = await Api.CreateContainerAsync(new ContainerSpec(name, _f.NodeImage, _f.Labels)
        {
            Command = new[] { "sh", "-c", "echo to-stdout; echo to-stderr >&2; exec sleep infinity" },
            Network = _f.NetworkName,
            RestartPolicy = "no",
        }, default);
        await Api.StartContainerAsync(id, default);
        await Api.StartContainerAsync(id, default); // already running: not an error

        var logs = "";
        for (var i = 0; i < 50 && !logs.Contains("to-stderr"); i++)
        {
            await Task.Delay(50);
            logs = await Api.GetLogsAsync(id, default);
        }
        Assert.Contains("to-stdout", logs);
        Assert.Contains("to-stderr", logs);

        var sw = Stopwatch.StartNew();
        await Api.StopContainerAsync(id, TimeSpan.FromSeconds(5), default);
        _out.WriteLine($"stop took {sw.Elapsed.TotalMilliseconds:0} ms");
        var stopped = await Api.InspectContainerAsync(id, default);
        Assert.NotNull(stopped);
        Assert.False(stopped.Running);
        Assert.Equal(0, stopped.Pid);

        await Api.RemoveContainerAsync(id, default);
        await Api.RemoveContainerAsync(id, default); // already gone: not an error
        Assert.Null(await Api.InspectContainerAsync(id, default));
    }

    [Fact]
    public async Task Volumes_create_list_and_remove_twice()
    {
        var name = _f.Cluster + "-vol";
        Assert.Equal(name, await Api.CreateVolumeAsync(name, _f.Labels, default));
        Assert.Contains(name, await Api.ListVolumesAsync(_f.Labels, default));

        await Api.RemoveVolumeAsync(name, default);
        await Api.RemoveVolumeAsync(name, default);
        Assert.DoesNotContain(name, await Api.ListVolumesAsync(_f.Labels, default));
    }

    [Fact]
    public async Task Duplicate_names_are_DockerConflict()
    {
        var container = await Assert.ThrowsAsync<DindException>(() =>
            Api.CreateContainerAsync(new ContainerSpec(_f.ContainerName, _f.NodeImage, _f.Labels), default));
        Assert.Equal(ErrorIds.DockerConflict, container.ErrorId);
        Assert.Equal(DindErrorCategory.ResourceExists, container.Category);
        Assert.Equal(_f.ContainerName, container.Target);

        var network = await Assert.ThrowsAsync<DindException>(() =>
            Api.CreateNetworkAsync(new NetworkSpec(_f.NetworkName, "fd00:7e57:ffff::/64", "fd00:7e57:ffff::1", _f.Labels), default));
        Assert.Equal(ErrorIds.DockerConflict, network.ErrorId);
    }

    [Fact]
    public async Task Missing_objects_are_null_or_DockerObjectNotFound()
    {
        Assert.Null(await Api.InspectImageAsync("ipv6dind/no-such-image:0", default));
        var start = await Assert.ThrowsAsync<DindException>(() => Api.StartContainerAsync(_f.Cluster + "-missing", default));
        Assert.Equal(ErrorIds.DockerObjectNotFound, start.ErrorId);
        Assert.Equal(DindErrorCategory.ObjectNotFound, start.Category);
        var exec = await Assert.ThrowsAsync<DindException>(() => Api.ExecAsync(_f.Cluster + "-missing", new[] { "true" }, null, null, default));
        Assert.Equal(ErrorIds.DockerObjectNotFound, exec.ErrorId);
        var image = await Assert.ThrowsAsync<DindException>(() =>
            Api.CreateContainerAsync(new ContainerSpec(_f.Cluster + "-noimage", "ipv6dind/no-such-image:0", _f.Labels), default));
        Assert.Equal(ErrorIds.DockerObjectNotFound, image.ErrorId);
        // Removing what is not there is not an error.
        await Api.RemoveNetworkAsync(_f.Cluster + "-missing", default);
        await Api.RemoveVolumeAsync(_f.Cluster + "-missing", default);
        await Api.RemoveImageAsync("ipv6dind/no-such-image:0", default);
    }

    [Fact]
    public async Task Unreachable_endpoint_fails_quickly_with_DockerUnreachable()
    {
        using var api = DockerApi.Connect("unix:///nonexistent");
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<DindException>(() => api.GetDaemonInfoAsync(default));
        Assert.Equal(ErrorIds.DockerUnreachable, e.ErrorId);
        Assert.Equal(DindErrorCategory.ConnectionError, e.Category);
        Assert.Contains("unix:///nonexistent", e.Message);
        Assert.Contains("DOCKER_HOST", e.RecommendedAction);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");

        // And again (a failed negotiation is not cached as success or as a permanent failure).
        var again = await Assert.ThrowsAsync<DindException>(() => api.InspectContainerAsync("x", default));
        Assert.Equal(ErrorIds.DockerUnreachable, again.ErrorId);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ssh://user@host")]
    [InlineData("npipe:////./pipe/docker_engine")]
    [InlineData("unix://relative.sock")]
    [InlineData("http://127.0.0.1:2375")]
    [InlineData("tcp://127.0.0.1:2375/path")]
    public void Invalid_DOCKER_HOST_is_DockerHostInvalid(string host)
    {
        var e = Assert.Throws<DindException>(() => DockerApi.Connect(host, _ => null));
        Assert.Equal(ErrorIds.DockerHostInvalid, e.ErrorId);
        Assert.Equal(DindErrorCategory.InvalidArgument, e.Category);
        Assert.Equal("DOCKER_HOST", e.ParameterName);
    }

    [Fact]
    public void Endpoint_comes_from_argument_then_DOCKER_HOST_then_default()
    {
        Assert.Equal("unix:///var/run/docker.sock", DockerEndpoint.Resolve(null, _ => null).Display);
        Assert.Equal("unix:///run/x.sock", DockerEndpoint.Resolve(null, k => k == "DOCKER_HOST" ? "unix:///run/x.sock" : null).Display);
        Assert.Equal("unix:///run/y.sock", DockerEndpoint.Resolve("unix:///run/y.sock", k => k == "DOCKER_HOST" ? "unix:///run/x.sock" : null).Display);
        Assert.Equal("tcp://127.0.0.1:2375", DockerEndpoint.Resolve("tcp://127.0.0.1", _ => null).Display);
        Assert.Null(DockerEndpoint.Resolve("tcp://127.0.0.1", _ => null).Tls);
        Assert.Equal("tcp://[::1]:2400", DockerEndpoint.Resolve("tcp://[::1]:2400", _ => null).Display);

        // TLS requested with no certificate files: a clear error naming the file, not a failed handshake later.
        var empty = Directory.CreateTempSubdirectory("ipv6dind-it-certs-");
        try
        {
            var e = Assert.Throws<DindException>(() => DockerEndpoint.Resolve("tcp://127.0.0.1",
                k => k switch { "DOCKER_TLS_VERIFY" => "1", "DOCKER_CERT_PATH" => empty.FullName, _ => null }));
            Assert.Equal(ErrorIds.DockerHostInvalid, e.ErrorId);
            Assert.Contains("ca.pem", e.Message);
        }
        finally { empty.Delete(true); }
    }

    [Fact]
    public async Task Cancelling_a_long_exec_returns_promptly()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Api.ExecAsync(_f.ContainerId, new[] { "sleep", "30" }, null, null, cts.Token));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");

        // The driver is still usable afterwards.
        Assert.True((await Api.ExecAsync(_f.ContainerId, new[] { "true" }, null, null, default)).Succeeded);
    }

    [Fact]
    public async Task A_call_past_its_time_limit_fails_naming_the_operation()
    {
        using var api = DockerApi.Connect(null, DockerApiOptions.Default with { ExecTimeout = TimeSpan.FromSeconds(1) });
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<DindException>(() => api.ExecAsync(_f.ContainerId, new[] { "sleep", "30" }, null, null, default));
        Assert.Equal(ErrorIds.DockerUnreachable, e.ErrorId);
        Assert.Equal(DindErrorCategory.OperationTimeout, e.Category);
        Assert.Contains("exec sleep", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task A_daemon_that_accepts_but_never_answers_times_out_instead_of_hanging()
    {
        // Loopback listener that takes the connection and the request, then says nothing.
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try { while (true) { var c = await silent.AcceptTcpClientAsync(); lock (held) held.Add(c); } }
            catch (Exception) { }
        });
        try
        {
            var port = ((IPEndPoint)silent.LocalEndpoint).Port;
            using var api = DockerApi.Connect($"tcp://127.0.0.1:{port}", _ => null, DockerApiOptions.Default with { CallTimeout = TimeSpan.FromSeconds(1) });
            var sw = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<DindException>(() => api.InspectContainerAsync("x", default));
            Assert.Equal(ErrorIds.DockerUnreachable, e.ErrorId);
            Assert.Equal(DindErrorCategory.OperationTimeout, e.Category);
            Assert.Contains($"tcp://127.0.0.1:{port}", e.Message);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
        }
        finally
        {
            silent.Stop();
            await accepting;
            lock (held) foreach (var c in held) c.Dispose();
        }
    }

    [Fact]
    public async Task Counting_and_fault_injecting_decorators()
    {
        var counting = new CountingDockerApi(Api);
        var faulty = new FaultInjectingDockerApi(counting).FailNth("Exec", 2);
        Assert.True((await faulty.ExecAsync(_f.ContainerId, new[] { "true" }, null, null, default)).Succeeded);
        var e = await Assert.ThrowsAsync<DindException>(() => faulty.ExecAsync(_f.ContainerId, new[] { "true" }, null, null, default));
        Assert.Equal(ErrorIds.DockerApiError, e.ErrorId);
        Assert.Contains("Injected", e.Message);
        Assert.True((await faulty.ExecAsync(_f.ContainerId, new[] { "true" }, null, null, default)).Succeeded);

        faulty.FailWhen(call => call.Method == "InspectContainer" && call.Target == "boom",
            call => new DindException(ErrorIds.DockerUnreachable, DindErrorCategory.ConnectionError, "down"));
        Assert.NotNull(await faulty.InspectContainerAsync(_f.ContainerId, default));
        var down = await Assert.ThrowsAsync<DindException>(() => faulty.InspectContainerAsync("boom", default));
        Assert.Equal(ErrorIds.DockerUnreachable, down.ErrorId);
        Assert.Equal(2, faulty.Injected.Count);

        // The injected calls never reached the counter; the others did.
        Assert.Equal(2, counting.Execs);
        Assert.Equal(1, counting.Calls["InspectContainer"]);
        Assert.Equal(3, counting.Total);
        Assert.Equal(1, counting.ApiCalls);
        counting.Reset();
        Assert.Equal(0, counting.Total);
    }

    /// <summary>
    /// TLS the way DOCKER_TLS_VERIFY means it, against a stand-in daemon on loopback (a second real dockerd with TLS
    /// would need its own bridge and data root): our client certificate is presented and checked, the server's is
    /// checked against ca.pem only, and a server signed by another CA is refused as DockerUnreachable.
    /// </summary>
    [Fact]
    public async Task Tls_endpoint_presents_client_certificate_and_checks_server_against_ca_pem()
    {
        var dir = Directory.CreateTempSubdirectory("ipv6dind-it-tls-");
        try
        {
            using var ca = TestCa.Create("ipv6dind-it CA");
            using var server = ca.Issue("127.0.0.1", server: true);
            using var client = ca.Issue("ipv6dind-it client", server: false);
            File.WriteAllText(Path.Combine(dir.FullName, "ca.pem"), ca.Certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(dir.FullName, "cert.pem"), client.ExportCertificatePem());
            File.WriteAllText(Path.Combine(dir.FullName, "key.pem"), client.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
            string? Env(string k) => k switch { "DOCKER_TLS_VERIFY" => "1", "DOCKER_CERT_PATH" => dir.FullName, _ => null };

            await using (var fake = FakeTlsDaemon.Start(server, ca.Certificate))
            {
                using var api = DockerApi.Connect($"tcp://127.0.0.1:{fake.Port}", Env);
                Assert.Null(await api.InspectImageAsync("ipv6dind/anything:1", default));
                Assert.Equal(new Version(1, 41), api.ApiVersion);
                Assert.Equal("CN=ipv6dind-it client", fake.ClientSubjects.First());
                Assert.Contains("GET /v1.41/images/ipv6dind/anything:1/json", fake.Requests);
            }

            using var otherCa = TestCa.Create("someone else's CA");
            using var stranger = otherCa.Issue("127.0.0.1", server: true);
            await using (var fake = FakeTlsDaemon.Start(stranger, ca.Certificate))
            {
                using var api = DockerApi.Connect($"tcp://127.0.0.1:{fake.Port}", Env);
                var e = await Assert.ThrowsAsync<DindException>(() => api.InspectImageAsync("x", default));
                Assert.Equal(ErrorIds.DockerUnreachable, e.ErrorId);
            }
        }
        finally { dir.Delete(true); }
    }

    private sealed class TestCa : IDisposable
    {
        public X509Certificate2 Certificate { get; }
        private readonly RSA _key;

        private TestCa(X509Certificate2 certificate, RSA key) { Certificate = certificate; _key = key; }

        public static TestCa Create(string name)
        {
            var key = RSA.Create(2048);
            var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
            // The CA outlives its leaves: a leaf may not end after its issuer.
            return new TestCa(req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddHours(2)), key);
        }

        public X509Certificate2 Issue(string name, bool server)
        {
            using var key = RSA.Create(2048);
            var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
            req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection
            {
                server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2"),
            }, false));
            if (server)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Parse(name));
                req.CertificateExtensions.Add(san.Build());
            }
            var serial = RandomNumberGenerator.GetBytes(12);
            using var issued = req.Create(Certificate, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1), serial);
            // Re-import through PKCS#12 so SslStream can use the private key on every platform.
            return X509CertificateLoader.LoadPkcs12(issued.CopyWithPrivateKey(key).Export(X509ContentType.Pkcs12), null);
        }

        public void Dispose()
        {
            Certificate.Dispose();
            _key.Dispose();
        }
    }

    /// <summary>Answers /version like a 20.10 daemon and 404 to everything else, over TLS that requires a client certificate.</summary>
    private sealed class FakeTlsDaemon : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly X509Certificate2 _certificate;
        private readonly X509Certificate2 _ca;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public List<string> ClientSubjects { get; } = new();
        public List<string> Requests { get; } = new();

        private FakeTlsDaemon(X509Certificate2 certificate, X509Certificate2 ca)
        {
            _certificate = certificate;
            _ca = ca;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public static FakeTlsDaemon Start(X509Certificate2 certificate, X509Certificate2 ca) => new(certificate, ca);

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient tcp;
                try { tcp = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception) { return; }
                _ = Task.Run(() => ServeAsync(tcp));
            }
        }

        private async Task ServeAsync(TcpClient tcp)
        {
            using (tcp)
            {
                try
                {
                    await using var ssl = new SslStream(tcp.GetStream(), false, (_, cert, _, _) =>
                    {
                        if (cert is null) return false;
                        using var chain = new X509Chain();
                        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                        chain.ChainPolicy.CustomTrustStore.Add(_ca);
                        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                        return chain.Build(new X509Certificate2(cert));
                    });
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                    {
                        ServerCertificate = _certificate,
                        ClientCertificateRequired = true,
                    }, _stop.Token);
                    lock (ClientSubjects) ClientSubjects.Add(ssl.RemoteCertificate?.Subject ?? "");
                    var reader = new StreamReader(ssl, Encoding.ASCII);
                    var requestLine = await reader.ReadLineAsync() ?? "";
                    while (!string.IsNullOrEmpty(await reader.ReadLineAsync())) { }
                    var parts = requestLine.Split(' ');
                    lock (Requests) Requests.Add(parts.Length > 1 ? parts[0] + " " + parts[1] : requestLine);
                    var (status, body) = parts.Length > 1 && parts[1].EndsWith("/version", StringComparison.Ordinal)
                        ? ("200 OK", "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\",\"Os\":\"linux\"}")
                        : ("404 Not Found", "{\"message\":\"No such image\"}");
                    var bytes = Encoding.UTF8.GetBytes(body);
                    var head = $"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n";
                    await ssl.WriteAsync(Encoding.ASCII.GetBytes(head));
                    await ssl.WriteAsync(bytes);
                    await ssl.FlushAsync();
                }
                catch (Exception) { /* a refused handshake ends here; the client reports it */ }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            try { await _loop; } catch (Exception) { }
            _stop.Dispose();
        }
    }
}
