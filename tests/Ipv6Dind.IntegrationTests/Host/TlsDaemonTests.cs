using System.Net;
using System.Net.Sockets;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.IntegrationTests.Lab;
using Xunit.Abstractions;

namespace Ipv6Dind.IntegrationTests.Host;

/// <summary>
/// The tcp+TLS endpoint (the seed's remote use: DOCKER_HOST=tcp://host:2376 with DOCKER_TLS_VERIFY and
/// DOCKER_CERT_PATH) against a real dockerd with --tlsverify: a CA, server and client pairs made here with openssl,
/// the test-owned second daemon listening on 127.0.0.1 (loopback only; nothing leaves the host). The endpoint is
/// reached the way the module resolves it, through DockerEndpoint and Docker.DotNet, with TLS both ways.
/// </summary>
public sealed class TlsDaemonFixture : IAsyncLifetime
{
    public string Certs { get; } = Directory.CreateTempSubdirectory("ipv6dind-tls-").FullName;
    public string Client => Path.Combine(Certs, "client");
    public string RogueClient => Path.Combine(Certs, "rogue-client");
    public string WrongCa => Path.Combine(Certs, "wrong-ca");
    public int Port { get; } = FreePort();
    public string Endpoint => $"tcp://127.0.0.1:{Port}";
    public TestDockerd Daemon { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        foreach (var dir in new[] { Client, RogueClient, WrongCa }) Directory.CreateDirectory(dir);
        await CaAsync("ca");
        await CaAsync("rogue-ca");
        await SignedAsync("server", "ca", "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        await SignedAsync("client", "ca", "extendedKeyUsage=clientAuth\n");
        await SignedAsync("rogue", "rogue-ca", "extendedKeyUsage=clientAuth\n");
        // DOCKER_CERT_PATH folders: ca.pem, cert.pem, key.pem, as docker's CLI wants them.
        Place(Client, "ca", "client");
        Place(RogueClient, "ca", "rogue");        // a client pair the daemon's CA never signed
        Place(WrongCa, "rogue-ca", "client");     // a CA that did not sign the daemon's certificate
        Daemon = new TestDockerd
        {
            ExtraArgs = new[]
            {
                "-H", Endpoint, "--tlsverify",
                "--tlscacert", Path.Combine(Certs, "ca.pem"),
                "--tlscert", Path.Combine(Certs, "server-cert.pem"),
                "--tlskey", Path.Combine(Certs, "server-key.pem"),
            },
        };
        await Daemon.StartAsync("{\n  \"ip6tables\": false\n}\n");
    }

    public async Task DisposeAsync()
    {
        try { if (Daemon is not null) await Daemon.DisposeAsync(); }
        finally { Directory.Delete(Certs, recursive: true); }
    }

    private void Place(string dir, string ca, string pair)
    {
        File.Copy(Path.Combine(Certs, ca + ".pem"), Path.Combine(dir, "ca.pem"), overwrite: true);
        File.Copy(Path.Combine(Certs, pair + "-cert.pem"), Path.Combine(dir, "cert.pem"), overwrite: true);
        File.Copy(Path.Combine(Certs, pair + "-key.pem"), Path.Combine(dir, "key.pem"), overwrite: true);
    }

    private Task CaAsync(string name) => OpenSsl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", Path.Combine(Certs, name + "-key.pem"), "-out", Path.Combine(Certs, name + ".pem"), "-days", "2", "-subj", "/CN=ipv6dind-test-" + name);

    private async Task SignedAsync(string name, string ca, string extensions)
    {
        var ext = Path.Combine(Certs, name + ".ext");
        File.WriteAllText(ext, extensions);
        await OpenSsl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", Path.Combine(Certs, name + "-key.pem"), "-out", Path.Combine(Certs, name + ".csr"), "-subj", "/CN=" + (name == "server" ? "localhost" : "ipv6dind-test-" + name));
        await OpenSsl("x509", "-req", "-in", Path.Combine(Certs, name + ".csr"), "-CA", Path.Combine(Certs, ca + ".pem"), "-CAkey", Path.Combine(Certs, ca + "-key.pem"),
            "-CAcreateserial", "-out", Path.Combine(Certs, name + "-cert.pem"), "-days", "2", "-extfile", ext);
    }

    private static async Task OpenSsl(params string[] args)
    {
        var r = await HostProcess.RunAsync("openssl", args, TimeSpan.FromSeconds(30));
        if (!r.Succeeded) throw new InvalidOperationException($"openssl {string.Join(' ', args)} failed: {r.StdErr}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[Collection("docker")]
public sealed class TlsDaemonTests : IClassFixture<TlsDaemonFixture>
{
    private readonly TlsDaemonFixture _f;
    private readonly ITestOutputHelper _out;

    public TlsDaemonTests(TlsDaemonFixture fixture, ITestOutputHelper output)
    {
        _f = fixture;
        _out = output;
    }

    /// <summary>DOCKER_* as a user would export them, handed to the module's resolver (no process environment touched).</summary>
    private DockerApi Connect(string? certPath, bool tls = true) =>
        DockerApi.Connect(null, name => name switch
        {
            "DOCKER_HOST" => _f.Endpoint,
            "DOCKER_TLS_VERIFY" => tls ? "1" : null,
            "DOCKER_CERT_PATH" => certPath,
            _ => null,
        });

    [Fact]
    public async Task Client_certificates_reach_a_tlsverify_daemon_and_the_lab_calls_work_over_it()
    {
        using var api = Connect(_f.Client);
        Assert.Equal(_f.Endpoint, api.Endpoint);
        var info = await api.GetDaemonInfoAsync(default);
        _out.WriteLine($"{info} over {api.Endpoint} (TLS)");
        Assert.False(string.IsNullOrEmpty(info.Version));
        // The lab's listing calls go the same way.
        Assert.Contains(await api.ListNetworksAsync(null, default), n => n.Name == "bridge");
        // Even on loopback a port does not say which daemon answers: host-side changes are refused over tcp.
        Assert.False(Ipv6Dind.Core.Host.DaemonLocality.Check(api.Endpoint).IsLocal);
    }

    [Fact]
    public async Task A_client_pair_the_daemons_CA_never_signed_is_refused_with_a_clear_error()
    {
        using var api = Connect(_f.RogueClient);
        var e = await Assert.ThrowsAsync<DindException>(() => api.GetDaemonInfoAsync(default));
        _out.WriteLine(e.Message);
        Assert.Equal(ErrorIds.DockerUnreachable, e.ErrorId);
        Assert.Contains(_f.Endpoint, e.Message);
    }

    [Fact]
    public async Task A_daemon_certificate_not_signed_by_the_trusted_CA_is_refused()
    {
        using var api = Connect(_f.WrongCa);
        var e = await Assert.ThrowsAsync<DindException>(() => api.GetDaemonInfoAsync(default));
        _out.WriteLine(e.Message);
        Assert.Equal(ErrorIds.DockerUnreachable, e.ErrorId);
    }

    [Fact]
    public async Task Plain_http_to_the_TLS_port_fails_clearly()
    {
        using var api = Connect(null, tls: false);
        var e = await Assert.ThrowsAsync<DindException>(() => api.GetDaemonInfoAsync(default));
        _out.WriteLine($"{e.ErrorId}: {e.Message}");
        Assert.Equal(ErrorIds.DockerUnreachable, e.ErrorId);
        Assert.Contains(_f.Endpoint, e.Message);
        Assert.Contains("DOCKER_TLS_VERIFY", e.RecommendedAction);
    }
}
