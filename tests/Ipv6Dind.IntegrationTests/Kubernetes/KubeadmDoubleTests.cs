using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Rendering;
using Xunit.Abstractions;

namespace Ipv6Dind.IntegrationTests.Kubernetes;

/// <summary>
/// Containers of the TEST DOUBLE image (network none: the doubles talk to nothing), made on demand and all removed
/// at the end, found again by their label even when a test forgot one.
/// </summary>
public sealed class KubeDoubleFixture : IAsyncLifetime
{
    public const string LabelKey = "io.ipv6dind.test";

    public DockerApi Api { get; private set; } = null!;
    public string Image { get; private set; } = "";
    public string RunId { get; } = "it-kubedouble-" + Guid.NewGuid().ToString("N")[..8];
    public IReadOnlyDictionary<string, string> Labels => new Dictionary<string, string> { [LabelKey] = RunId };

    private string? _shared;
    private int _count;

    public async Task InitializeAsync()
    {
        Api = DockerApi.Connect();
        Image = await KubeDoubleImage.EnsureAsync(Api, CancellationToken.None);
    }

    /// <summary>A fresh container; /kind/version set to <paramref name="version"/> when given.</summary>
    public async Task<string> StartAsync(string role, string? version = null)
    {
        var name = $"{RunId}-{role}-{Interlocked.Increment(ref _count)}";
        var id = await Api.CreateContainerAsync(new ContainerSpec(name, Image, Labels)
        {
            Hostname = role,
            Network = "none",
            Command = new[] { "sleep", "infinity" },
            Init = true,
        }, default);
        await Api.StartContainerAsync(id, default);
        if (version is not null) await Api.PutFileAsync(id, "/kind/version", version + "\n", 420, default);
        return id;
    }

    /// <summary>One container shared by the rejection cases: nothing they run may write anything.</summary>
    public async Task<string> SharedAsync() => _shared ??= await StartAsync("rejects");

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var c in await Api.ListContainersAsync(Labels, default))
                await Api.RemoveContainerAsync(c.Id, default);
        }
        finally
        {
            Api.Dispose();
        }
    }
}

/// <summary>
/// Our rendered kubeadm, kubelet and kube-proxy configurations against the kubeadm TEST DOUBLE, which checks them
/// field by field against the upstream types (tests/doubles/kubernetes/kubedouble/schemas.py) and the IPv6-only
/// rules, and writes the files real kubeadm writes. No real kubeadm can run here; this is the closest check.
/// </summary>
public sealed class KubeadmDoubleTests : IClassFixture<KubeDoubleFixture>
{
    private const string Token = "abcdef.0123456789abcdef";
    private const string ConfigPath = KubeadmRenderer.ContainerPath;
    private const string CallLog = "/var/log/kubernetes-double/calls.jsonl";

    private readonly KubeDoubleFixture _f;
    private readonly ITestOutputHelper _out;

    public KubeadmDoubleTests(KubeDoubleFixture fixture, ITestOutputHelper output)
    {
        _f = fixture;
        _out = output;
    }

    private static (KubeadmOptions Options, AddressPlan Plan) Lab(string version, int nodes = 3)
    {
        var spec = new DindClusterSpec
        {
            ClusterName = "lab",
            Nodes = nodes,
            Subnet = "fd00:77::/48",
            Dns64Upstream = new[] { "198.51.100.53" },
            KubernetesVersion = version,
            Cni = "bridge",
        };
        var plan = AddressPlanner.Plan(spec);
        return (KubeadmOptions.From(spec, plan, Token), plan);
    }

    private Task<ExecResult> Exec(string id, params string[] argv) => _f.Api.ExecAsync(id, argv, null, null, default);

    private async Task<ExecResult> RunAsync(string id, string config, string command, params string[] extra)
    {
        await _f.Api.PutFileAsync(id, ConfigPath, config, 420, default);
        var result = await Exec(id, new[] { "kubeadm", command, $"--config={ConfigPath}", "--skip-phases=preflight", "--v=5" }.Concat(extra).ToArray());
        _out.WriteLine($"kubeadm {command} -> {result.ExitCode}\n{result.StandardOutput}{result.StandardError}");
        return result;
    }

    private async Task<JsonElement> LastCallAsync(string id)
    {
        var log = await _f.Api.GetFileAsync(id, CallLog, default);
        Assert.NotNull(log);
        return JsonDocument.Parse(log.TrimEnd('\n').Split('\n')[^1]).RootElement;
    }

    /// <summary>kubeadm's pin: sha256 over the CA certificate's DER SubjectPublicKeyInfo, computed here independently.</summary>
    private static string Pin(X509Certificate2 ca) =>
        "sha256:" + Convert.ToHexString(SHA256.HashData(ca.PublicKey.ExportSubjectPublicKeyInfo())).ToLowerInvariant();

    private static X509Certificate2 ClientCertificate(string kubeconfig)
    {
        var data = Regex.Match(kubeconfig, @"client-certificate-data: (\S+)").Groups[1].Value;
        Assert.NotEmpty(data);
        return X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(Convert.FromBase64String(data)));
    }

    private static void AssertSignedBy(X509Certificate2 leaf, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(leaf), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }

    // ---- accepted ----

    [Theory]
    [InlineData("v1.25.0", KubeadmRenderer.V1Beta3)]
    [InlineData("v1.30.2", KubeadmRenderer.V1Beta3)]
    [InlineData("v1.31.2", KubeadmRenderer.V1Beta4)]
    [InlineData("v1.35.0", KubeadmRenderer.V1Beta4)]
    public async Task Rendered_init_is_accepted_and_writes_what_kubeadm_writes(string version, string apiVersion)
    {
        var (options, plan) = Lab(version);
        var init = KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]);
        Assert.Contains($"apiVersion: {apiVersion}\nkind: InitConfiguration", init.Content);
        var cp = await _f.StartAsync("cp", version);

        var result = await RunAsync(cp, init.Content, "init", "--skip-token-print");

        Assert.True(result.Succeeded, result.StandardError);
        Assert.Contains($"[init] Using Kubernetes version: {version}", result.StandardOutput);
        Assert.Contains("Your Kubernetes control-plane has initialized successfully!", result.StandardOutput);
        Assert.Contains($"kubeadm join [{plan.ApiServerAddress}]:6443 --token <value withheld>", result.StandardOutput);
        Assert.DoesNotContain(Token, result.StandardOutput);

        var caPem = await _f.Api.GetFileAsync(cp, "/etc/kubernetes/pki/ca.crt", default);
        Assert.NotNull(caPem);
        using var ca = X509Certificate2.CreateFromPem(caPem);
        Assert.Contains($"--discovery-token-ca-cert-hash {Pin(ca)}", result.StandardOutput);

        var admin = await _f.Api.GetFileAsync(cp, "/etc/kubernetes/admin.conf", default);
        Assert.NotNull(admin);
        Assert.Contains($"server: https://[{plan.ApiServerAddress}]:6443", admin);
        Assert.Contains("current-context: kubernetes-admin@lab", admin);
        Assert.Contains("certificate-authority-data: " + Convert.ToBase64String(Encoding.ASCII.GetBytes(caPem)), admin);
        using var client = ClientCertificate(admin);
        Assert.Contains("CN=kubernetes-admin", client.Subject);
        // kubeadm 1.29 moved kubernetes-admin from system:masters to kubeadm:cluster-admins.
        Assert.Contains(new Version(version.TrimStart('v')) >= new Version(1, 29) ? "O=kubeadm:cluster-admins" : "O=system:masters", client.Subject);
        AssertSignedBy(client, ca);
        Assert.Equal("600", (await Exec(cp, "stat", "-c", "%a", "/etc/kubernetes/admin.conf")).StandardOutput.Trim());

        var kubelet = await _f.Api.GetFileAsync(cp, KubeletConfigRenderer.ContainerPath, default);
        Assert.NotNull(kubelet);
        Assert.Contains(plan.KubeDnsAddress, kubelet);
        Assert.Contains($"--node-ip={plan.ApiServerAddress}", await _f.Api.GetFileAsync(cp, "/var/lib/kubelet/kubeadm-flags.env", default));

        var call = await LastCallAsync(cp);
        Assert.True(call.GetProperty("ok").GetBoolean());
        Assert.Equal(JsonValueKind.Null, call.GetProperty("error").ValueKind);
        Assert.Equal(new[] { "kubeadm", "init", $"--config={ConfigPath}", "--skip-phases=preflight", "--v=5", "--skip-token-print" },
            call.GetProperty("argv").EnumerateArray().Select(a => a.GetString()));

        var reset = await Exec(cp, "kubeadm", "reset", "--force");
        Assert.True(reset.Succeeded, reset.StandardError);
        Assert.Null(await _f.Api.GetFileAsync(cp, "/etc/kubernetes/admin.conf", default));
        Assert.Null(await _f.Api.GetFileAsync(cp, "/etc/kubernetes/pki/ca.crt", default));
        await _f.Api.RemoveContainerAsync(cp, default);
    }

    [Theory]
    [InlineData("v1.30.2")]
    [InlineData("v1.31.2")]
    public async Task Join_with_the_hash_init_printed_is_accepted_and_a_wrong_one_is_refused(string version)
    {
        var (options, plan) = Lab(version);
        var cp = await _f.StartAsync("cp", version);
        var worker = await _f.StartAsync("worker", version);
        var init = await RunAsync(cp, KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content, "init");
        Assert.True(init.Succeeded, init.StandardError);
        var printed = Regex.Match(init.StandardOutput, @"--discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})").Groups[1].Value;
        Assert.Contains($"--token {Token}", init.StandardOutput);
        using (var ca = X509Certificate2.CreateFromPem((await _f.Api.GetFileAsync(cp, "/etc/kubernetes/pki/ca.crt", default))!))
            Assert.Equal(Pin(ca), printed);

        // A wrong pin first: refused, and nothing written.
        var wrong = "sha256:" + new string('0', 64);
        var refused = await RunAsync(worker, KubeadmRenderer.RenderJoin(options, plan.NodeAddresses[2], wrong).Content, "join");
        Assert.False(refused.Succeeded);
        Assert.Contains($"none of the public keys \"{printed}\" are pinned", refused.StandardError);
        Assert.Null(await _f.Api.GetFileAsync(worker, "/etc/kubernetes/kubelet.conf", default));
        Assert.False((await LastCallAsync(worker)).GetProperty("ok").GetBoolean());

        var node = plan.NodeAddresses[1];
        var joined = await RunAsync(worker, KubeadmRenderer.RenderJoin(options, node, printed).Content, "join");
        Assert.True(joined.Succeeded, joined.StandardError);
        Assert.Contains("This node has joined the cluster", joined.StandardOutput);
        var kubeletConf = await _f.Api.GetFileAsync(worker, "/etc/kubernetes/kubelet.conf", default);
        Assert.NotNull(kubeletConf);
        Assert.Contains($"server: https://[{plan.ApiServerAddress}]:6443", kubeletConf);
        using var workerCa = X509Certificate2.CreateFromPem((await _f.Api.GetFileAsync(worker, "/etc/kubernetes/pki/ca.crt", default))!);
        Assert.Equal(printed, Pin(workerCa));
        using var nodeCert = ClientCertificate(kubeletConf);
        Assert.Contains($"CN=system:node:{node.NodeName}", nodeCert.Subject);
        AssertSignedBy(nodeCert, workerCa);
        Assert.Contains($"--node-ip={node.IPv6Address}", await _f.Api.GetFileAsync(worker, "/var/lib/kubelet/kubeadm-flags.env", default));
        Assert.True((await LastCallAsync(worker)).GetProperty("ok").GetBoolean());
        await _f.Api.RemoveContainerAsync(worker, default);
        await _f.Api.RemoveContainerAsync(cp, default);
    }

    // ---- refused ----

    /// <summary>A hand-broken configuration: the version in /kind/version, the render, the edit, what the error must name.</summary>
    private sealed record Broken(string NodeVersion, string RenderVersion, bool Join, Func<AddressPlan, string, string> Edit, params string[] Expected);

    private static string Replace(string text, string old, string replacement)
    {
        Assert.Contains(old, text);
        return text.Replace(old, replacement);
    }

    private static readonly Dictionary<string, Broken> BrokenCases = new()
    {
        ["unknown field at depth 2 (v1beta3's apiServer.timeoutForControlPlane in v1beta4)"] = new("v1.31.2", "v1.31.2", false,
            (p, t) => Replace(t, "apiServer:\n", "apiServer:\n  timeoutForControlPlane: 4m0s\n"),
            "ClusterConfiguration.apiServer.timeoutForControlPlane: unknown field \"timeoutForControlPlane\"", "not a field of APIServer"),
        ["unknown field in kube-proxy's conntrack"] = new("v1.31.2", "v1.31.2", false,
            (p, t) => Replace(t, "  maxPerCore: 0\n", "  maxPerCore: 0\n  maxPerCpu: 0\n"),
            "KubeProxyConfiguration.conntrack.maxPerCpu: unknown field", "not a field of KubeProxyConntrackConfiguration"),
        ["IPv4 advertiseAddress"] = new("v1.31.2", "v1.31.2", false,
            (p, t) => Replace(t, $"advertiseAddress: \"{p.ApiServerAddress}\"", "advertiseAddress: \"198.18.0.10\""),
            "InitConfiguration.localAPIEndpoint.advertiseAddress: Invalid value: \"198.18.0.10\"", "IPv4"),
        ["IPv4 podSubnet"] = new("v1.30.2", "v1.30.2", false,
            (p, t) => Replace(t, $"podSubnet: \"{p.PodPrefix}\"", "podSubnet: \"198.18.64.0/18\""),
            "ClusterConfiguration.networking.podSubnet: Invalid value: \"198.18.64.0/18\"", "IPv4"),
        ["IPv4 clusterDNS"] = new("v1.31.2", "v1.31.2", false,
            (p, t) => Replace(t, $"- \"{p.KubeDnsAddress}\"", "- \"198.18.96.10\""),
            "KubeletConfiguration.clusterDNS[0]: Invalid value: \"198.18.96.10\""),
        ["kube-proxy maxPerCore nonzero"] = new("v1.31.2", "v1.31.2", false,
            (p, t) => Replace(t, "maxPerCore: 0", "maxPerCore: 32768"),
            "KubeProxyConfiguration.conntrack.maxPerCore: Invalid value: 32768", "/sys/module/nf_conntrack/parameters/hashsize"),
        ["kube-proxy maxPerCore missing"] = new("v1.31.2", "v1.31.2", false,
            (p, t) => Regex.Replace(t, @"conntrack:\n(.*\n)*", ""),
            "KubeProxyConfiguration.conntrack.maxPerCore: Required value", "operation not supported"),
        ["v1beta3 on kubeadm 1.31"] = new("v1.31.2", "v1.30.2", false, (p, t) => t,
            "InitConfiguration.apiVersion: Invalid value: \"kubeadm.k8s.io/v1beta3\"", "ClusterConfiguration.kubernetesVersion"),
        ["v1beta4 on kubeadm 1.30"] = new("v1.30.2", "v1.31.2", false, (p, t) => t,
            "InitConfiguration.apiVersion: Invalid value: \"kubeadm.k8s.io/v1beta4\"", "predates v1beta4"),
        ["node mask more than 16 bits longer than the pod subnet"] = new("v1.31.2", "v1.31.2", false,
            (p, t) => Replace(t, "  - name: node-cidr-mask-size-ipv6\n    value: \"80\"", "  - name: node-cidr-mask-size-ipv6\n    value: \"96\""),
            $"ClusterConfiguration.networking.podSubnet: Invalid value: \"{Lab("v1.31.2").Plan.PodPrefix}\"", "difference is greater than 16"),
        ["bad bootstrap token"] = new("v1.31.2", "v1.31.2", false,
            (p, t) => Replace(t, $"token: {Token}", "token: abcdef.0123456789ABCDEF"),
            "InitConfiguration.bootstrapTokens[0].token: Invalid value: \"abcdef.0123456789ABCDEF\""),
        ["extraArgs as a map in v1beta4"] = new("v1.31.2", "v1.31.2", false,
            (p, t) => Replace(t, "scheduler:\n  extraArgs:\n  - name: bind-address\n    value: \"::\"\n", "scheduler:\n  extraArgs:\n    bind-address: \"::\"\n"),
            "ClusterConfiguration.scheduler.extraArgs: expected []Arg, got object", "v1beta4 takes a list of {name, value}"),
        ["bindPort as a string"] = new("v1.31.2", "v1.31.2", false,
            (p, t) => Replace(t, "bindPort: 6443", "bindPort: \"6443\""),
            "InitConfiguration.localAPIEndpoint.bindPort: cannot unmarshal string \"6443\" into Go value of type int32"),
        ["join: IPv4 node-ip"] = new("v1.31.2", "v1.31.2", true,
            (p, t) => Replace(t, $"value: \"{p.NodeAddresses[1].IPv6Address}\"", "value: \"198.18.0.12\""),
            "JoinConfiguration.nodeRegistration.kubeletExtraArgs[0].value: Invalid value: \"198.18.0.12\""),
        ["join: IPv4 apiServerEndpoint"] = new("v1.30.2", "v1.30.2", true,
            (p, t) => Replace(t, $"apiServerEndpoint: \"[{p.ApiServerAddress}]:6443\"", "apiServerEndpoint: \"198.18.0.5:6443\""),
            "JoinConfiguration.discovery.bootstrapToken.apiServerEndpoint: Invalid value: \"198.18.0.5:6443\""),
        ["join: bad token"] = new("v1.31.2", "v1.31.2", true,
            (p, t) => Replace(t, $"token: {Token}", "token: abcdef0123456789abcdef"),
            "JoinConfiguration.discovery.bootstrapToken.token: Invalid value"),
        // What the renderer writes when no CA hash is known: the lab flow never joins that way, and the double says why.
        ["join: unpinned (unsafeSkipCAVerification)"] = new("v1.31.2", "v1.31.2", true, (p, t) => t,
            "JoinConfiguration.discovery.bootstrapToken.unsafeSkipCAVerification: Invalid value: true",
            "JoinConfiguration.discovery.bootstrapToken.caCertHashes: Required value"),
    };

    public static TheoryData<string> BrokenNames => new(BrokenCases.Keys);

    [Theory]
    [MemberData(nameof(BrokenNames))]
    public async Task Broken_configuration_is_refused_with_the_path_in_the_message(string name)
    {
        var c = BrokenCases[name];
        var (options, plan) = Lab(c.RenderVersion);
        var rendered = c.Join
            ? KubeadmRenderer.RenderJoin(options, plan.NodeAddresses[1], name.Contains("unpinned") ? null : "sha256:" + new string('a', 64)).Content
            : KubeadmRenderer.RenderInit(options, plan.NodeAddresses[0]).Content;
        var id = await _f.SharedAsync();
        await _f.Api.PutFileAsync(id, "/kind/version", c.NodeVersion + "\n", 420, default);

        var result = await RunAsync(id, c.Edit(plan, rendered), c.Join ? "join" : "init");

        Assert.Equal(1, result.ExitCode);
        foreach (var expected in c.Expected) Assert.Contains(expected, result.StandardError);
        var call = await LastCallAsync(id);
        Assert.False(call.GetProperty("ok").GetBoolean());
        Assert.Contains(c.Expected[0], call.GetProperty("error").GetString());
        Assert.Null(await _f.Api.GetFileAsync(id, "/etc/kubernetes/admin.conf", default));
        Assert.Null(await _f.Api.GetFileAsync(id, "/etc/kubernetes/kubelet.conf", default));
    }

    // ---- the other doubles ----

    [Fact]
    public async Task Versions_come_from_kind_version_and_ctr_records_imported_archives()
    {
        var id = await _f.StartAsync("tools", "v1.30.2");
        Assert.Equal("v1.30.2", (await Exec(id, "kubeadm", "version", "-o", "short")).StandardOutput.Trim());
        Assert.Equal("Kubernetes v1.30.2", (await Exec(id, "kubelet", "--version")).StandardOutput.Trim());
        Assert.StartsWith("Client Version: v1.30.2", (await Exec(id, "kubectl", "version", "--client")).StandardOutput);
        foreach (var tool in new[] { "kubeadm", "kubelet", "kubectl", "ctr" })
            Assert.Contains("TEST DOUBLE", (await _f.Api.GetFileAsync(id, $"/usr/local/bin/{tool}", default))!.Split('\n')[1]);
        Assert.Equal("true", (await _f.Api.InspectImageAsync(_f.Image, default))!.Labels[KubeDoubleImage.TestDoubleLabel]);

        // A docker-save archive (manifest.json with RepoTags) and an OCI layout (index.json with a ref name).
        await _f.Api.PutFileAsync(id, "/tmp/busybox.tar", TarText(("manifest.json",
            "[{\"Config\":\"c.json\",\"RepoTags\":[\"busybox:1.36\",\"example.test:5000/lab/app:v1\"],\"Layers\":[]}]")), 420, default);
        await _f.Api.PutFileAsync(id, "/tmp/oci.tar", TarText(("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"),
            ("index.json", "{\"schemaVersion\":2,\"manifests\":[{\"annotations\":{\"io.containerd.image.name\":\"docker.io/library/pause:3.10\"}}]}")), 420, default);
        await _f.Api.PutFileAsync(id, "/tmp/not-an-image.tar", TarText(("hello.txt", "hi")), 420, default);
        Assert.True((await Exec(id, "ctr", "--namespace", "k8s.io", "images", "import", "/tmp/busybox.tar")).Succeeded);
        Assert.True((await Exec(id, "ctr", "-n", "k8s.io", "images", "import", "/tmp/oci.tar")).Succeeded);
        var bad = await Exec(id, "ctr", "-n", "k8s.io", "images", "import", "/tmp/not-an-image.tar");
        Assert.False(bad.Succeeded);
        Assert.Contains("neither a docker-save archive (manifest.json) nor an OCI image layout (index.json)", bad.StandardError);

        var listed = await Exec(id, "ctr", "-n", "k8s.io", "images", "ls", "-q");
        Assert.Equal(new[] { "docker.io/library/busybox:1.36", "example.test:5000/lab/app:v1", "docker.io/library/pause:3.10" },
            listed.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty((await Exec(id, "ctr", "-n", "default", "images", "ls", "-q")).StandardOutput.Trim());

        var log = (await _f.Api.GetFileAsync(id, CallLog, default))!.TrimEnd('\n').Split('\n');
        Assert.Equal(8, log.Length);
        Assert.Equal(new[] { true, true, true, true, true, false, true, true },
            log.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("ok").GetBoolean()));
        await _f.Api.RemoveContainerAsync(id, default);
    }

    /// <summary>A tar of ASCII files as a string (PutFileAsync takes text; every byte of this tar is below 0x80).</summary>
    private static string TarText(params (string Name, string Content)[] files)
    {
        using var stream = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(stream, System.Formats.Tar.TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, content) in files)
                writer.WriteEntry(new System.Formats.Tar.UstarTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name)
                {
                    DataStream = new MemoryStream(Encoding.ASCII.GetBytes(content)),
                    ModificationTime = DateTimeOffset.UnixEpoch,
                });
        }
        var bytes = stream.ToArray();
        Assert.True(bytes.All(b => b < 0x80));
        return Encoding.ASCII.GetString(bytes);
    }
}
