using System.Text.RegularExpressions;
using Ipv6Dind.Core.Diagnostics;

namespace Ipv6Dind.Core.Docker;

/// <summary>
/// The grammar of a Docker image reference (distribution/reference, grammar.go), so that a reference is checked
/// before Docker (or containerd in a node) is asked about it:
/// <code>
/// reference        := name [ ":" tag ] [ "@" digest ]
/// name             := [domain '/'] path-component ['/' path-component]*
/// domain           := host [':' port-number]            host: domain-component ['.' domain-component]* | '[' IPv6 ']'
/// domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
/// path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*    separator: /[_.]|__|[-]+/
/// tag              := /[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}/
/// digest           := algorithm ':' /[0-9a-fA-F]{32,}/       algorithm: /[A-Za-z][A-Za-z0-9]*/ joined by [+._-]
/// </code>
/// The name is at most 255 characters. Everything is ASCII (Go's \w), anchored with \z (a .NET '$' would let a
/// trailing newline through).
/// </summary>
public static partial class ImageReference
{
    public const int MaxNameLength = 255;

    [GeneratedRegex(
        @"^(?<name>(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?/)?" +
        @"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*)*)" +
        @"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?" +
        @"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?\z",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Pattern();

    /// <summary>Why <paramref name="reference"/> is not an image reference, or null when it is one.</summary>
    public static string? Problem(string? reference)
    {
        if (string.IsNullOrEmpty(reference)) return "an image reference is required.";
        var match = Pattern().Match(reference);
        if (!match.Success) return $"'{Printable.Text(reference)}' is not a Docker image reference.";
        if (match.Groups["name"].Length > MaxNameLength)
            return $"the repository name of '{Printable.Text(reference)}' is longer than {MaxNameLength} characters.";
        return null;
    }

    public static bool IsValid(string? reference) => Problem(reference) is null;
}
