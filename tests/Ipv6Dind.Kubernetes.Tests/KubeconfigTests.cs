using Ipv6Dind.Core.Kubernetes;
using Ipv6Dind.FakeKubeApi;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Kubernetes.Tests;

// File modes are the point of several tests; the lab runs on Linux only.
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KubeconfigTests : IAsyncLifetime, IDisposable
{
    private const string Existing = """
        apiVersion: v1
        clusters:
        - cluster:
            certificate-authority-data: T0xE
            server: https://old.example:6443
          name: work
        - cluster:
            server: https://[fd00:1::1]:6443
          name: ipv6dind-lab
        contexts:
        - context:
            cluster: work
            namespace: team
            user: alice
          name: work
        - context:
            cluster: ipv6dind-lab
            user: ipv6dind-lab
          name: ipv6dind-lab
        current-context: work
        kind: Config
        preferences:
          colors: true
        users:
        - name: alice
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: kubelogin
              args:
              - get-token
        - name: ipv6dind-lab
          user:
            token: stale
        extensions:
        - name: keep-me
          extension:
            value: "1"

        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ipv6dind-kubeconfig-" + Guid.NewGuid().ToString("N"));
    private FakeKubeApiServer _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeKubeApiServer.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static YamlMappingNode Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    private static IEnumerable<YamlMappingNode> Entries(YamlMappingNode root, string list) =>
        ((YamlSequenceNode)root[list]).Children.Cast<YamlMappingNode>();

    private static string Name(YamlMappingNode entry) => ((YamlScalarNode)entry["name"]).Value!;

    private static string Get(YamlMappingNode node, params string[] path)
    {
        YamlNode current = node;
        foreach (var key in path) current = ((YamlMappingNode)current)[key];
        return ((YamlScalarNode)current).Value!;
    }

    [Fact]
    public void RewriteServer_sets_every_cluster_and_keeps_the_rest()
    {
        var rewritten = Kubeconfig.RewriteServer(Existing, "https://[::1]:40123");

        var root = Load(rewritten);
        Assert.All(Entries(root, "clusters"), c => Assert.Equal("https://[::1]:40123", Get(c, "cluster", "server")));
        Assert.Equal("T0xE", Get(Entries(root, "clusters").First(), "cluster", "certificate-authority-data"));
        Assert.Equal("work", Get(root, "current-context"));
        Assert.Equal("keep-me", Name((YamlMappingNode)((YamlSequenceNode)root["extensions"])[0]));
        Assert.DoesNotContain("...", rewritten);
    }

    [Fact]
    public async Task RewriteServer_output_still_connects()
    {
        _fake.Cluster.AddNodes(["a"]);
        var adminConf = _fake.CreateKubeconfig(server: "https://[fd00:77:1::3]:6443", clientCertificate: true);

        using var api = KubernetesApiFactory.FromKubeconfig(Kubeconfig.RewriteServer(adminConf, _fake.Server));

        Assert.Equal(_fake.Server, api.Server);
        Assert.Single(await api.GetNodesAsync(CancellationToken.None));
    }

    [Fact]
    public void RewriteServer_refuses_a_server_that_is_not_a_URL()
    {
        var e = Assert.Throws<DindException>(() => Kubeconfig.RewriteServer(_fake.Kubeconfig, "[::1]:6443"));
        Assert.Equal(ErrorIds.KubeconfigInvalid, e.ErrorId);
        Assert.Equal("server", e.ParameterName);
    }

    [Fact]
    public async Task Merge_into_nothing_makes_a_kubeconfig_with_one_renamed_context()
    {
        _fake.Cluster.AddNodes(["a"]);

        var merged = Kubeconfig.Merge(null, _fake.ClientCertificateKubeconfig, "ipv6dind-lab", setCurrentContext: true);

        var root = Load(merged);
        Assert.Equal("Config", Get(root, "kind"));
        Assert.Equal("ipv6dind-lab", Get(root, "current-context"));
        Assert.Equal(["ipv6dind-lab"], Entries(root, "clusters").Select(Name));
        Assert.Equal(["ipv6dind-lab"], Entries(root, "users").Select(Name));
        var context = Assert.Single(Entries(root, "contexts"));
        Assert.Equal(("ipv6dind-lab", "ipv6dind-lab", "ipv6dind-lab"), (Name(context), Get(context, "context", "cluster"), Get(context, "context", "user")));
        using var api = KubernetesApiFactory.FromKubeconfig(merged);
        Assert.Single(await api.GetNodesAsync(CancellationToken.None));
    }

    [Fact]
    public void Merge_keeps_other_entries_in_order_and_replaces_the_same_names_in_place()
    {
        var merged = Kubeconfig.Merge(Existing, _fake.Kubeconfig, "ipv6dind-lab", setCurrentContext: false);

        var root = Load(merged);
        Assert.Equal(["work", "ipv6dind-lab"], Entries(root, "clusters").Select(Name));
        Assert.Equal(["work", "ipv6dind-lab"], Entries(root, "contexts").Select(Name));
        Assert.Equal(["alice", "ipv6dind-lab"], Entries(root, "users").Select(Name));
        var lab = Entries(root, "clusters").Last();
        Assert.Equal(_fake.Server, Get(lab, "cluster", "server"));
        Assert.Equal(_fake.Token, Get(Entries(root, "users").Last(), "user", "token"));
        // The rest is as it was: current-context, the other context's namespace, an exec user, preferences, extensions.
        Assert.Equal("work", Get(root, "current-context"));
        Assert.Equal("team", Get(Entries(root, "contexts").First(), "context", "namespace"));
        Assert.Equal("kubelogin", Get(Entries(root, "users").First(), "user", "exec", "command"));
        Assert.Equal("true", Get(root, "preferences", "colors"));
        Assert.Equal("1", Get((YamlMappingNode)((YamlSequenceNode)root["extensions"])[0], "extension", "value"));
        Assert.Contains("value: \"1\"", merged);
    }

    [Fact]
    public void Merge_with_setCurrentContext_switches_to_the_new_context_and_appends_new_names()
    {
        var merged = Kubeconfig.Merge(Existing, _fake.Kubeconfig, "ipv6dind-other", setCurrentContext: true);

        var root = Load(merged);
        Assert.Equal("ipv6dind-other", Get(root, "current-context"));
        Assert.Equal(["work", "ipv6dind-lab", "ipv6dind-other"], Entries(root, "clusters").Select(Name));
        Assert.Equal(["alice", "ipv6dind-lab", "ipv6dind-other"], Entries(root, "users").Select(Name));
        Assert.Equal("stale", Get(Entries(root, "users").ElementAt(1), "user", "token"));
    }

    [Fact]
    public void Merge_takes_the_current_context_of_the_new_kubeconfig()
    {
        // Existing as the "new" side: its current context is "work", with cluster work and user alice.
        var merged = Kubeconfig.Merge(null, Existing, "copied", setCurrentContext: false);

        var root = Load(merged);
        Assert.Equal("https://old.example:6443", Get(Assert.Single(Entries(root, "clusters")), "cluster", "server"));
        Assert.Equal("kubelogin", Get(Assert.Single(Entries(root, "users")), "user", "exec", "command"));
        Assert.Equal("team", Get(Assert.Single(Entries(root, "contexts")), "context", "namespace"));
        Assert.Equal("", Get(root, "current-context"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n")]
    [InlineData("clusters: [unclosed")]
    [InlineData("- just\n- a list\n")]
    [InlineData("apiVersion: v1\nkind: Pod\n")]
    [InlineData("apiVersion: v1\nkind: Config\nclusters: nope\n")]
    [InlineData("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://[::1]:1\n")]
    public void Invalid_kubeconfig_text_fails_with_KubeconfigInvalid(string yaml)
    {
        void AssertInvalid(Action action, string parameter)
        {
            var e = Assert.Throws<DindException>(action);
            Assert.Equal(ErrorIds.KubeconfigInvalid, e.ErrorId);
            Assert.Equal(DindErrorCategory.InvalidData, e.Category);
            Assert.Equal(parameter, e.ParameterName);
            Assert.StartsWith(parameter + ": the kubeconfig is not valid; ", e.Message);
        }

        AssertInvalid(() => KubernetesApiFactory.FromKubeconfig(yaml), "kubeconfigYaml");
        AssertInvalid(() => Kubeconfig.RewriteServer(yaml, "https://[::1]:1"), "kubeconfigYaml");
        if (string.IsNullOrWhiteSpace(yaml))
            Assert.Contains("name: lab", Kubeconfig.Merge(yaml, _fake.Kubeconfig, "lab", true)); // an empty ~/.kube/config is a start
        else
            AssertInvalid(() => Kubeconfig.Merge(yaml, _fake.Kubeconfig, "lab", true), "existingYaml");
        AssertInvalid(() => Kubeconfig.Merge(null, yaml, "lab", true), "newYaml");
        AssertInvalid(() => Kubeconfig.WriteFile(Path.Combine(_dir, "config"), yaml), "kubeconfigYaml");
        Assert.False(Directory.Exists(_dir));
    }

    [Theory]
    [InlineData("current-context", "elsewhere", "its current-context 'elsewhere' is not one of its contexts (kubernetes-admin@kubernetes)")]
    [InlineData("certificate-authority-data", null, "no certificate-authority-data")]
    [InlineData("client-key-data", "bm90IGEga2V5", "it cannot be used")]
    [InlineData("server", "not a url", "is not an absolute http(s) URL")]
    public void A_kubeconfig_a_client_cannot_use_fails_with_KubeconfigInvalid(string key, string? value, string expected)
    {
        // The fake's admin.conf-like kubeconfig with one line changed (value) or removed (null).
        var lines = _fake.ClientCertificateKubeconfig.Split('\n').ToList();
        var index = lines.FindIndex(l => l.TrimStart().StartsWith(key + ":", StringComparison.Ordinal));
        if (value is null) lines.RemoveAt(index);
        else lines[index] = lines[index][..(lines[index].IndexOf(':') + 1)] + " " + value;

        var e = Assert.Throws<DindException>(() => KubernetesApiFactory.FromKubeconfig(string.Join('\n', lines)));

        Assert.Equal(ErrorIds.KubeconfigInvalid, e.ErrorId);
        Assert.Equal(DindErrorCategory.InvalidData, e.Category);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void WriteFile_creates_the_folder_0700_and_the_file_0600()
    {
        var path = Path.Combine(_dir, ".kube", "config");

        Kubeconfig.WriteFile(path, _fake.Kubeconfig);

        Assert.Equal(_fake.Kubeconfig, File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        Assert.Equal(["config"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteFile_replaces_a_world_readable_file_with_a_0600_one()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "config");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100); // 0644

        Kubeconfig.WriteFile(path, _fake.Kubeconfig);

        Assert.Equal(_fake.Kubeconfig, File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        // An existing folder keeps its mode.
        Assert.Equal(Directory.CreateDirectory(_dir).UnixFileMode, File.GetUnixFileMode(_dir));
    }

    [Fact]
    public async Task WriteFile_is_atomic_a_reader_sees_the_old_or_the_new_file_never_a_mix()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "config");
        // Large enough that a non-atomic write (truncate, then write) is caught half-way.
        var a = _fake.Kubeconfig + "# " + new string('a', 512 * 1024) + "\n";
        var b = _fake.ClientCertificateKubeconfig + "# " + new string('b', 256 * 1024) + "\n";
        Kubeconfig.WriteFile(path, a);
        using var stop = new CancellationTokenSource();
        var reads = 0;
        var torn = new List<int>();
        // A thread of its own: the thread pool is busy with the other tests.
        var reader = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var text = File.ReadAllText(path);
                Interlocked.Increment(ref reads);
                if (text != a && text != b) lock (torn) torn.Add(text.Length);
            }
        }, TaskCreationOptions.LongRunning);

        // At least 60 writes, and on until the reader has looked 100 times (bounded, for a starved machine).
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 60 || (Volatile.Read(ref reads) < 100 && watch.Elapsed < TimeSpan.FromSeconds(20)); i++)
            Kubeconfig.WriteFile(path, i % 2 == 0 ? b : a);
        stop.Cancel();
        await reader;

        Assert.Empty(torn);
        Assert.True(reads >= 100, $"only {reads} reads");
        Assert.Equal(["config"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteFile_through_a_symbolic_link_replaces_the_target_and_keeps_the_link()
    {
        var dotfiles = Path.Combine(_dir, "dotfiles");
        Directory.CreateDirectory(dotfiles);
        var target = Path.Combine(dotfiles, "kubeconfig");
        File.WriteAllText(target, "old");
        var link = Path.Combine(_dir, "config");
        File.CreateSymbolicLink(link, target);

        Kubeconfig.WriteFile(link, _fake.Kubeconfig);

        Assert.Equal(target, new FileInfo(link).LinkTarget);
        Assert.Equal(_fake.Kubeconfig, File.ReadAllText(target));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
    }

    [Fact]
    public void WriteFile_that_cannot_write_leaves_the_old_file_and_no_temp_file()
    {
        Directory.CreateDirectory(_dir);
        var blocker = Path.Combine(_dir, "not-a-folder");
        File.WriteAllText(blocker, "x");

        var e = Assert.Throws<DindException>(() => Kubeconfig.WriteFile(Path.Combine(blocker, "config"), _fake.Kubeconfig));

        Assert.Equal(ErrorIds.ConfigFileWriteFailed, e.ErrorId);
        Assert.Equal("path", e.ParameterName);
        Assert.Equal(["not-a-folder"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }
}
