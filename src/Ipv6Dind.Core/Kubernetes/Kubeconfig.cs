using Ipv6Dind.Core.Files;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Kubernetes;

/// <summary>
/// Kubeconfig text as kubectl keeps it. Edits go through YamlDotNet's node tree rather than a typed model, so that
/// whatever else a user's ~/.kube/config holds (extensions, exec plugins, preferences, fields newer than any model)
/// survives a merge untouched and in its order. Comments do not survive (kubectl drops them too).
/// </summary>
public static class Kubeconfig
{
    private static readonly (string List, string Item)[] Sections = [("clusters", "cluster"), ("users", "user"), ("contexts", "context")];

    /// <summary>Sets the server URL of every cluster entry (a lab's API server is published on https://[::1]:port).</summary>
    public static string RewriteServer(string kubeconfigYaml, string server)
    {
        if (!IsServerUrl(server))
            throw new DindException(ErrorIds.KubeconfigInvalid, DindErrorCategory.InvalidArgument,
                $"server: '{server}' is not an absolute http(s) URL.", server, nameof(server),
                "Give the API server's URL, for example https://[::1]:6443.");
        var root = Parse(kubeconfigYaml, nameof(kubeconfigYaml));
        var clusters = Entries(root, "clusters");
        if (clusters.Count == 0)
            throw KubernetesApiFactory.Invalid(nameof(kubeconfigYaml), "it has no clusters entry whose server could be set.");
        foreach (var entry in clusters)
            ((YamlMappingNode)entry.Children[new YamlScalarNode("cluster")]).Children[new YamlScalarNode("server")] = new YamlScalarNode(server);
        return Save(root);
    }

    /// <summary>
    /// Merges the current context of <paramref name="newYaml"/> (with its cluster and user) into
    /// <paramref name="existingYaml"/> (null or empty: a new kubeconfig), all three renamed to
    /// <paramref name="contextName"/>. Entries of that name are replaced in place; every other entry, and every other
    /// top-level field, is kept in its order. With <paramref name="setCurrentContext"/> the result's current-context
    /// is <paramref name="contextName"/>, otherwise the existing one is kept.
    /// </summary>
    public static string Merge(string? existingYaml, string newYaml, string contextName, bool setCurrentContext)
    {
        if (string.IsNullOrWhiteSpace(contextName) || contextName.Any(char.IsControl) || contextName != contextName.Trim())
            throw new DindException(ErrorIds.KubeconfigInvalid, DindErrorCategory.InvalidArgument,
                $"contextName: '{contextName}' cannot name a kubeconfig context.", contextName, nameof(contextName),
                "Give a non-empty name without surrounding spaces or control characters, for example ipv6dind-lab.");

        var source = Parse(newYaml, nameof(newYaml));
        var context = CurrentContextEntry(source, nameof(newYaml));
        var details = (YamlMappingNode)context.Children[new YamlScalarNode("context")];
        var clusterName = Scalar(details, "cluster");
        var userName = Scalar(details, "user");
        var cluster = Entries(source, "clusters").FirstOrDefault(e => Scalar(e, "name") == clusterName)
            ?? throw KubernetesApiFactory.Invalid(nameof(newYaml), $"its context '{Scalar(context, "name")}' names cluster '{clusterName}', which it does not define.");
        YamlMappingNode? user = null;
        if (!string.IsNullOrEmpty(userName))
            user = Entries(source, "users").FirstOrDefault(e => Scalar(e, "name") == userName)
                ?? throw KubernetesApiFactory.Invalid(nameof(newYaml), $"its context '{Scalar(context, "name")}' names user '{userName}', which it does not define.");

        cluster.Children[new YamlScalarNode("name")] = new YamlScalarNode(contextName);
        context.Children[new YamlScalarNode("name")] = new YamlScalarNode(contextName);
        details.Children[new YamlScalarNode("cluster")] = new YamlScalarNode(contextName);
        if (user is not null)
        {
            user.Children[new YamlScalarNode("name")] = new YamlScalarNode(contextName);
            details.Children[new YamlScalarNode("user")] = new YamlScalarNode(contextName);
        }

        var target = string.IsNullOrWhiteSpace(existingYaml) ? Empty() : Parse(existingYaml, nameof(existingYaml));
        Upsert(target, "clusters", cluster);
        if (user is not null) Upsert(target, "users", user);
        Upsert(target, "contexts", context);
        if (setCurrentContext)
            target.Children[new YamlScalarNode("current-context")] = new YamlScalarNode(contextName);
        return Save(target);
    }

    /// <summary>
    /// Writes a kubeconfig (it holds the cluster's admin key) atomically: a temp file in the same folder, created
    /// with mode 0600 (never readable by others, not even for a moment), then renamed over <paramref name="path"/>.
    /// A missing folder is created with mode 0700. A link or another user's file at the path, in a folder others can
    /// write, is refused with HostPathUnsafe (SecureDirectory). Fails with KubeconfigInvalid before writing anything that is not
    /// a kubeconfig, and with ConfigFileWriteFailed when the file cannot be written.
    /// </summary>
    public static void WriteFile(string path, string kubeconfigYaml)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new DindException(ErrorIds.InvalidPath, DindErrorCategory.InvalidArgument,
                "path: give the path of the kubeconfig file to write.", path, nameof(path), "For example ~/.kube/config.");
        Parse(kubeconfigYaml, nameof(kubeconfigYaml));
        // A ~/.kube/config that is a symbolic link (dotfile managers) stays one where only its owner can write the
        // folder; a link in a folder others can write is refused (ConfigFileWriter through SecureDirectory).
        ConfigFileWriter.Write(path, kubeconfigYaml, overwrite: true, ErrorIds.ConfigFileExists, ErrorIds.ConfigFileWriteFailed, nameof(path),
            fileMode: UnixFileMode.UserRead | UnixFileMode.UserWrite,
            newDirectoryMode: UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    // ---- reading --------------------------------------------------------------------------------------------

    /// <summary>
    /// Checks the shape KubernetesClient and kubectl rely on; with <paramref name="requireContext"/> also that its
    /// current-context leads to a cluster with a server (what a client needs to connect).
    /// </summary>
    internal static void Validate(string kubeconfigYaml, string parameterName, bool requireContext)
    {
        var root = Parse(kubeconfigYaml, parameterName);
        if (!requireContext) return;
        var context = CurrentContextEntry(root, parameterName);
        var details = (YamlMappingNode)context.Children[new YamlScalarNode("context")];
        var clusterName = Scalar(details, "cluster");
        var cluster = Entries(root, "clusters").FirstOrDefault(e => Scalar(e, "name") == clusterName)
            ?? throw KubernetesApiFactory.Invalid(parameterName, $"its context '{Scalar(context, "name")}' names cluster '{clusterName}', which it does not define.");
        var server = Scalar((YamlMappingNode)cluster.Children[new YamlScalarNode("cluster")], "server");
        if (string.IsNullOrWhiteSpace(server))
            throw KubernetesApiFactory.Invalid(parameterName, $"cluster '{clusterName}' has no server URL.");
        if (!IsServerUrl(server))
            throw KubernetesApiFactory.Invalid(parameterName, $"cluster '{clusterName}' has server '{server}', which is not an absolute http(s) URL.");
    }

    internal static bool IsServerUrl(string? server) =>
        Uri.TryCreate(server, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
        && !string.IsNullOrEmpty(uri.Host);

    private static YamlMappingNode Parse(string? yaml, string parameterName)
    {
        if (string.IsNullOrWhiteSpace(yaml))
            throw KubernetesApiFactory.Invalid(parameterName, "it is empty.");
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw KubernetesApiFactory.Invalid(parameterName, $"YAML error at line {e.Start.Line}, column {e.Start.Column}: {e.Message}", e);
        }
        if (stream.Documents.Count != 1)
            throw KubernetesApiFactory.Invalid(parameterName, $"it holds {stream.Documents.Count} YAML documents; a kubeconfig is one.");
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
            throw KubernetesApiFactory.Invalid(parameterName, "its top level is not a mapping (apiVersion, kind, clusters, users, contexts, ...).");
        var kind = Scalar(root, "kind");
        if (kind is not null && kind != "Config")
            throw KubernetesApiFactory.Invalid(parameterName, $"its kind is '{kind}'; a kubeconfig's is Config.");
        foreach (var (list, item) in Sections)
        {
            if (!root.Children.TryGetValue(new YamlScalarNode(list), out var node) || IsNull(node)) continue;
            if (node is not YamlSequenceNode sequence)
                throw KubernetesApiFactory.Invalid(parameterName, $"'{list}' is not a list.");
            var index = 0;
            foreach (var entry in sequence)
            {
                if (entry is not YamlMappingNode mapping || string.IsNullOrEmpty(Scalar(mapping, "name")))
                    throw KubernetesApiFactory.Invalid(parameterName, $"entry {index} of '{list}' has no name.");
                if (!mapping.Children.TryGetValue(new YamlScalarNode(item), out var body) || body is not YamlMappingNode)
                    throw KubernetesApiFactory.Invalid(parameterName, $"{item} '{Scalar(mapping, "name")}' has no '{item}' mapping.");
                index++;
            }
        }
        if (root.Children.TryGetValue(new YamlScalarNode("current-context"), out var current) && current is not YamlScalarNode)
            throw KubernetesApiFactory.Invalid(parameterName, "'current-context' is not a name.");
        return root;
    }

    private static YamlMappingNode CurrentContextEntry(YamlMappingNode root, string parameterName)
    {
        var contexts = Entries(root, "contexts");
        var current = Scalar(root, "current-context");
        YamlMappingNode? context;
        if (!string.IsNullOrEmpty(current))
            context = contexts.FirstOrDefault(e => Scalar(e, "name") == current)
                ?? throw KubernetesApiFactory.Invalid(parameterName, $"its current-context '{current}' is not one of its contexts ({Names(contexts)}).");
        else if (contexts.Count == 1)
            context = contexts[0];
        else
            throw KubernetesApiFactory.Invalid(parameterName, contexts.Count == 0
                ? "it has no contexts."
                : $"it has no current-context to choose among its contexts ({Names(contexts)}).");
        if (string.IsNullOrEmpty(Scalar((YamlMappingNode)context.Children[new YamlScalarNode("context")], "cluster")))
            throw KubernetesApiFactory.Invalid(parameterName, $"its context '{Scalar(context, "name")}' names no cluster.");
        return context;
    }

    private static List<YamlMappingNode> Entries(YamlMappingNode root, string list) =>
        root.Children.TryGetValue(new YamlScalarNode(list), out var node) && node is YamlSequenceNode sequence
            ? sequence.Children.Cast<YamlMappingNode>().ToList()
            : [];

    private static string? Scalar(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var node) && node is YamlScalarNode scalar && !IsNull(scalar) ? scalar.Value : null;

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && (s.Value is null or "" or "~" or "null" or "Null" or "NULL");

    private static string Names(List<YamlMappingNode> entries) =>
        entries.Count == 0 ? "none" : string.Join(", ", entries.Select(e => Scalar(e, "name")));

    // ---- writing --------------------------------------------------------------------------------------------

    /// <summary>Replaces the entry of the same name in place, or appends.</summary>
    private static void Upsert(YamlMappingNode root, string list, YamlMappingNode entry)
    {
        var key = new YamlScalarNode(list);
        if (!root.Children.TryGetValue(key, out var node) || node is not YamlSequenceNode sequence)
        {
            sequence = new YamlSequenceNode();
            root.Children[key] = sequence;
        }
        var name = Scalar(entry, "name");
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            if (sequence.Children[i] is YamlMappingNode existing && Scalar(existing, "name") == name)
            {
                sequence.Children[i] = entry;
                return;
            }
        }
        sequence.Children.Add(entry);
    }

    /// <summary>What kubectl writes for a new file, in its order.</summary>
    private static YamlMappingNode Empty() => new()
    {
        { "apiVersion", "v1" },
        { "clusters", new YamlSequenceNode() },
        { "contexts", new YamlSequenceNode() },
        { "current-context", new YamlScalarNode("") { Style = ScalarStyle.DoubleQuoted } },
        { "kind", "Config" },
        { "preferences", new YamlMappingNode() },
        { "users", new YamlSequenceNode() },
    };

    internal static string Save(YamlMappingNode root)
    {
        var writer = new StringWriter { NewLine = "\n" };
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream ends every document with an explicit "..." marker; kubectl's files have none.
        if (text.EndsWith("...\n", StringComparison.Ordinal)) text = text[..^4];
        return text;
    }
}
