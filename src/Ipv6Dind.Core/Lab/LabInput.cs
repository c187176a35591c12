using System.Text.RegularExpressions;
using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Diagnostics;
using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Lab;

/// <summary>
/// Checks of what users hand the lab operations: cluster and node names, name patterns, image references, paths and
/// probe targets. Each failure is a <see cref="DindException"/> with the id, the parameter and what would be valid,
/// raised before Docker is asked anything. The names become Docker names, DNS names, label filters, lock-file and
/// log-folder names; the rules keep quotes, ';', '$()', backticks, newlines, '../', '/', look-alike letters and a
/// leading '-' out of all of them. Cmdlets call these before ShouldProcess (so -WhatIf refuses too); the
/// <see cref="DindLab"/> entry points call them again for callers of the core.
/// </summary>
public static partial class LabInput
{
    /// <summary>PATH_MAX on Linux: no longer path can be opened.</summary>
    public const int MaxPathLength = 4096;

    /// <summary>A DNS name is at most 253 characters (RFC 1035).</summary>
    public const int MaxDnsNameLength = 253;

    /// <summary>A wildcard pattern over cluster or node names: the name characters plus PowerShell's * ? [ ].</summary>
    [GeneratedRegex(@"^[a-z0-9*?\[\]-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePatternCharacters();

    [GeneratedRegex(@"^(?<index>[1-9][0-9]{0,3})\z", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex NodeIndex();

    // RFC 1123 host names with '_' allowed in labels (SRV-style names resolve too); no label starts with '-'.
    [GeneratedRegex(@"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?\z", RegexOptions.CultureInvariant)]
    private static partial Regex DnsName();

    private const string ClusterNameRule = "Use 1 to 32 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (e.g. 'lab'); Get-DindCluster lists the clusters.";

    /// <summary>A cluster name: the rules of New-DindCluster (<see cref="SpecValidator.ClusterNameProblem"/>).</summary>
    public static string ClusterName(string? name, string parameter = "ClusterName")
    {
        if (SpecValidator.ClusterNameProblem(name ?? "") is { } problem)
            throw Invalid(ErrorIds.InvalidClusterName, parameter, name, problem, ClusterNameRule);
        return name!;
    }

    /// <summary>A cluster name or a wildcard pattern over cluster names (Get-DindCluster -Name).</summary>
    public static string ClusterNamePattern(string pattern, string parameter = "ClusterName")
    {
        if (!HasWildcards(pattern))
            return ClusterName(pattern, parameter);
        if (pattern.Length > SpecValidator.MaxClusterNameLength * 2 || !NamePatternCharacters().IsMatch(pattern))
            throw Invalid(ErrorIds.InvalidClusterName, parameter, pattern, $"'{Printable.Text(pattern)}' is not a pattern over cluster names.",
                "Use lowercase letters, digits, hyphens and the wildcards * ? [ ] (e.g. 'lab*').");
        return pattern;
    }

    /// <summary>
    /// A node name of <paramref name="cluster"/>: "&lt;cluster&gt;-node-&lt;n&gt;" with n from 1 (the names
    /// <see cref="AddressPlanner.NodeName"/> gives). A node of another cluster is refused here too.
    /// </summary>
    public static string NodeName(string cluster, string? nodeName, string parameter = "NodeName")
    {
        var prefix = AddressPlanner.NodeNamePrefix(cluster);
        var valid = $"Use a node name of cluster '{cluster}', {prefix}<n> with n from 1 (e.g. {prefix}1); Get-DindNode {cluster} lists them.";
        if (string.IsNullOrEmpty(nodeName))
            throw Invalid(ErrorIds.InvalidNodeName, parameter, nodeName, "a node name is required.", valid);
        if (!nodeName.StartsWith(prefix, StringComparison.Ordinal) || !NodeIndex().IsMatch(nodeName[prefix.Length..]))
            throw Invalid(ErrorIds.InvalidNodeName, parameter, nodeName, $"'{Printable.Text(nodeName)}' is not a node name of cluster '{cluster}'.", valid);
        return nodeName;
    }

    /// <summary>Every name of a list (null: all nodes) through <see cref="NodeName"/>.</summary>
    public static IReadOnlyCollection<string>? NodeNames(string cluster, IReadOnlyCollection<string>? nodeNames, string parameter = "NodeName")
    {
        if (nodeNames is null) return null;
        foreach (var name in nodeNames) NodeName(cluster, name, parameter);
        return nodeNames;
    }

    /// <summary>A node name or a wildcard pattern over node names (Get-DindNode -NodeName).</summary>
    public static string NodeNamePattern(string cluster, string pattern, string parameter = "NodeName")
    {
        if (!HasWildcards(pattern))
            return NodeName(cluster, pattern, parameter);
        if (pattern.Length > 80 || !NamePatternCharacters().IsMatch(pattern))
            throw Invalid(ErrorIds.InvalidNodeName, parameter, pattern, $"'{Printable.Text(pattern)}' is not a pattern over node names.",
                $"Use lowercase letters, digits, hyphens and the wildcards * ? [ ] (e.g. '{cluster}-node-*').");
        return pattern;
    }

    /// <summary>A Docker image reference (<see cref="ImageReference"/>).</summary>
    public static string Image(string? reference, string parameter = "Image")
    {
        if (ImageReference.Problem(reference) is { } problem)
            throw Invalid(ErrorIds.InvalidImageReference, parameter, reference, problem,
                "Use a reference such as nginx:1.27, registry.example:5000/team/app:v2 or an image@sha256:<digest> (docker images lists them).");
        return reference!;
    }

    /// <summary>
    /// A file-system path given by the user. It may be relative, contain '..' or be absolute (it is the caller's own
    /// file system, under the caller's permissions), but not empty, longer than PATH_MAX or hold control characters
    /// (a newline or NUL in a file name is never what a script meant).
    /// </summary>
    public static string Path(string? path, string parameter = "Path")
    {
        const string valid = "Give a file-system path without control characters (e.g. ./lab-logs or /tmp/kubeconfig).";
        if (string.IsNullOrWhiteSpace(path))
            throw Invalid(ErrorIds.InvalidPath, parameter, path, "a path is required.", valid);
        if (path.Length > MaxPathLength)
            throw Invalid(ErrorIds.InvalidPath, parameter, path, $"the path is {path.Length} characters long, more than {MaxPathLength} (PATH_MAX).", valid);
        if (path.Any(char.IsControl))
            throw Invalid(ErrorIds.InvalidPath, parameter, path, $"'{Printable.Text(path)}' contains a control character.", valid);
        return path;
    }

    /// <summary>A DNS name to look up (Test-DindCluster -ProbeName): passed to dig as an argument, so never an option.</summary>
    public static string ProbeName(string? name, string parameter = "ProbeName")
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxDnsNameLength || !DnsName().IsMatch(name))
            throw Invalid(ErrorIds.InvalidProbeName, parameter, name, $"'{Printable.Text(name)}' is not a DNS name.",
                "Give a host name such as ipv4only.arpa or example.org (letters, digits, '-' and '_', labels not starting with '-').");
        return name;
    }

    /// <summary>An http:// or https:// URL with a host (Test-DindCluster -ProbeUrl): passed to curl as an argument.</summary>
    public static string ProbeUrl(string? url, string parameter = "ProbeUrl")
    {
        if (string.IsNullOrEmpty(url) || url.Length > 2048 || url.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) ||
            !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host) ||
            !url.StartsWith(uri.Scheme + "://", StringComparison.OrdinalIgnoreCase))
            throw Invalid(ErrorIds.InvalidProbeUrl, parameter, url, $"'{Printable.Text(url)}' is not an http:// or https:// URL.",
                "Give the URL of an IPv4-only web server, e.g. http://198.51.100.80/.");
        return url;
    }

    /// <summary>DNS64 upstream resolvers on their own (Set-Dns64 -Upstream); the cluster's ranges are checked later.</summary>
    public static IReadOnlyList<string> Upstreams(IReadOnlyList<string> upstreams, string parameter = "Dns64Upstream")
    {
        foreach (var text in upstreams)
            if (SpecValidator.Dns64UpstreamProblem(text, out _) is { } problem)
                throw Invalid(ErrorIds.InvalidDns64Upstream, parameter, text, problem.Message, problem.Valid);
        return upstreams;
    }

    /// <summary>Whether a name filter is a pattern (PowerShell's wildcard characters; the core has no PowerShell reference).</summary>
    public static bool HasWildcards(string? pattern) => pattern is not null && pattern.IndexOfAny(WildcardCharacters) >= 0;

    private static readonly char[] WildcardCharacters = { '*', '?', '[', ']' };

    private static DindException Invalid(string id, string parameter, object? value, string problem, string valid) =>
        new(id, DindErrorCategory.InvalidArgument, $"{parameter}: {problem} {valid}", value, parameter, valid);
}
