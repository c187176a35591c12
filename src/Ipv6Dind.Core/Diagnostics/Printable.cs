using System.Text.RegularExpressions;

namespace Ipv6Dind.Core.Diagnostics;

/// <summary>Renders user input for messages: control characters escaped, very long values cut.</summary>
public static partial class Printable
{
    public const int MaxShown = 80;

    public static string Text(string? value)
    {
        if (value is null) return "";
        var cut = value.Length > MaxShown ? value[..MaxShown] + "…" : value;
        return ControlCharacter().Replace(cut, c => $"\\u{(int)c.Value[0]:x4}");
    }

    [GeneratedRegex(@"\p{C}", RegexOptions.CultureInvariant)]
    private static partial Regex ControlCharacter();
}
