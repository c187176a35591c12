using Ipv6Dind.Core.Addressing;
using YamlDotNet.RepresentationModel;

namespace Ipv6Dind.Core.Spec;

/// <summary>
/// Reading helpers of the file importers (Lazyjack, kind), bound to one file: every error and warning starts with
/// "file:line:" and names the key path. Refused is a value Ipv6Dind cannot honour (SpecValueUnsupported, InvalidData);
/// Bad is a value that is malformed (the specific error id, InvalidArgument).
/// </summary>
internal class ImportReader
{
    private readonly List<string> _warnings;

    public ImportReader(string source, List<string> warnings)
    {
        Source = source;
        _warnings = warnings;
    }

    public string Source { get; }

    public string At(YamlNode node) => $"{Source}:{YamlFile.Line(node.Start)}";

    /// <summary>Adds "file:line: text" to the warnings.</summary>
    public virtual void Warn(YamlNode node, string text) => _warnings.Add($"{At(node)}: {text}");

    /// <summary>A scalar's text, trimmed; "" when not given.</summary>
    public string Text(YamlNode node, string path) => (YamlFile.Text(node, Source, path) ?? "").Trim();

    /// <summary>
    /// An IPv6 prefix. An IPv4 one (told apart by the colon, as Lazyjack and kubeadm-dind-cluster did) is refused with
    /// <paramref name="ipv4Problem"/>; a malformed one is <paramref name="errorId"/> (PrefixHostBitsSet for host bits).
    /// </summary>
    public Ipv6Prefix ParsePrefix(string text, YamlNode node, string path, string errorId, string example, string ipv4Problem)
    {
        if (!text.Contains(':'))
            throw Refused(node, path, text, ipv4Problem, $"Give an IPv6 prefix, e.g. {example}.");
        var prefix = Ipv6Prefix.TryParse(text, out var reason);
        if (prefix is not null) return prefix;
        throw Bad(reason.StartsWith("host bits", StringComparison.Ordinal) ? ErrorIds.PrefixHostBitsSet : errorId, node, path, text,
            $"is not a valid IPv6 prefix: {reason}.", $"Give an IPv6 prefix, e.g. {example}.");
    }

    public DindException Refused(YamlNode node, string path, string value, string problem, string valid) =>
        new(ErrorIds.SpecValueUnsupported, DindErrorCategory.InvalidData, $"{At(node)}: {path}{(value.Length == 0 ? "" : $" '{value}'")}: {problem} {valid}", value, path, valid);

    public DindException Bad(string errorId, YamlNode node, string path, string value, string problem, string valid) =>
        new(errorId, DindErrorCategory.InvalidArgument, $"{At(node)}: {path}{(value.Length == 0 ? "" : $" '{value}'")} {problem} {valid}", value, path, valid);
}
