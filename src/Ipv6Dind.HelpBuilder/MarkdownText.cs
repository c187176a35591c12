using System.Text;
using System.Text.RegularExpressions;

namespace Ipv6Dind.HelpBuilder;

/// <summary>A source line with its 1-based number in the page (for error messages).</summary>
internal readonly record struct SourceLine(int Number, string Text);

internal enum BlockKind { Paragraph, ListItem, Code, Preformatted }

/// <summary>A markdown block; Text is already plain text for Paragraph/ListItem, verbatim lines for Code/Preformatted.</summary>
internal sealed record TextBlock(BlockKind Kind, string Text, int Line, string Info = "");

/// <summary>
/// The small subset of markdown that PlatyPS pages use, turned into console-readable text:
/// console help has no markup, so emphasis is dropped, links keep their text (and an absolute
/// URL in parentheses), inline code keeps its backticks, list items become their own paragraphs.
/// </summary>
internal static partial class MarkdownText
{
    [GeneratedRegex(@"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)")]
    private static partial Regex FenceOpen();

    [GeneratedRegex(@"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^(\s*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$")]
    private static partial Regex ListItem();

    [GeneratedRegex(@"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")]
    private static partial Regex TableSeparator();

    [GeneratedRegex(@"(`+)(.+?)\1", RegexOptions.Singleline)]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"!\[([^\]]*)\]\(([^)\s]*)(?:\s+""[^""]*"")?\)")]
    private static partial Regex Image();

    [GeneratedRegex(@"\[([^\]]+)\]\(([^)\s]*)(?:\s+""[^""]*"")?\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"<((?:https?|ftp|mailto):[^>\s]+)>")]
    private static partial Regex AutoLink();

    [GeneratedRegex(@"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")]
    private static partial Regex Bold();

    [GeneratedRegex(@"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")]
    private static partial Regex ItalicStar();

    // Only _word_ between non-word characters, so identifiers like about_Ipv6Dind_Lab survive.
    [GeneratedRegex(@"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")]
    private static partial Regex ItalicUnderscore();

    [GeneratedRegex(@"\\([!-/:-@\[-`{-~])")]
    private static partial Regex Escape();

    [GeneratedRegex(@"<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex HtmlComment();

    /// <summary>Opening fence of a fenced code block, or null. Info is the language word (yaml, powershell…).</summary>
    public static (char FenceChar, int Length, string Info)? MatchFenceOpen(string line)
    {
        var m = FenceOpen().Match(line);
        if (!m.Success) return null;
        // A backtick fence's info string may not contain backticks (CommonMark); then it is inline code.
        if (m.Groups[1].Value[0] == '`' && line.IndexOf('`', m.Groups[1].Index + m.Groups[1].Length) >= 0) return null;
        return (m.Groups[1].Value[0], m.Groups[1].Length, m.Groups[2].Value);
    }

    public static bool IsFenceClose(string line, char fenceChar, int length)
    {
        var t = line.TrimStart(' ');
        if (line.Length - t.Length > 3) return false;
        int n = 0;
        while (n < t.Length && t[n] == fenceChar) n++;
        return n >= length && t[n..].Trim().Length == 0;
    }

    public static (int Level, string Text)? MatchHeading(string line)
    {
        var m = Heading().Match(line);
        return m.Success ? (m.Groups[1].Length, m.Groups[2].Value.Trim()) : null;
    }

    /// <summary>Splits section lines into blocks (paragraphs joined across soft line breaks, list items, code).</summary>
    public static List<TextBlock> ParseBlocks(IReadOnlyList<SourceLine> lines)
    {
        var blocks = new List<TextBlock>();
        var current = new StringBuilder();
        BlockKind? currentKind = null;
        int currentLine = 0;
        string currentPrefix = "";
        var raw = new List<string>();

        void Flush()
        {
            if (currentKind is BlockKind.Paragraph or BlockKind.ListItem)
            {
                var text = RenderInline(current.ToString());
                if (text.Length > 0) blocks.Add(new TextBlock(currentKind.Value, currentPrefix + text, currentLine));
            }
            else if (currentKind == BlockKind.Preformatted && raw.Count > 0)
            {
                blocks.Add(new TextBlock(BlockKind.Preformatted, string.Join("\n", raw), currentLine));
            }
            current.Clear();
            raw.Clear();
            currentKind = null;
            currentPrefix = "";
        }

        for (int i = 0; i < lines.Count; i++)
        {
            var (number, text) = lines[i];
            var fence = MatchFenceOpen(text);
            if (fence is { } f)
            {
                Flush();
                var code = new List<string>();
                int j = i + 1;
                for (; j < lines.Count && !IsFenceClose(lines[j].Text, f.FenceChar, f.Length); j++) code.Add(lines[j].Text);
                blocks.Add(new TextBlock(BlockKind.Code, string.Join("\n", code), number, f.Info));
                i = j; // skip the closing fence (or run to the end when unclosed)
                continue;
            }

            if (text.Trim().Length == 0)
            {
                Flush();
                continue;
            }

            if (MatchHeading(text) is { } h)
            {
                // Deeper headings inside a section read as a paragraph of their own.
                Flush();
                var ht = RenderInline(h.Text);
                if (ht.Length > 0) blocks.Add(new TextBlock(BlockKind.Paragraph, ht, number));
                continue;
            }

            if (text.TrimStart().StartsWith('|'))
            {
                if (currentKind != BlockKind.Preformatted) { Flush(); currentKind = BlockKind.Preformatted; currentLine = number; }
                if (!TableSeparator().IsMatch(text)) raw.Add(RenderInline(text.Trim()));
                continue;
            }

            if (currentKind == BlockKind.Preformatted) Flush();

            var li = ListItem().Match(text);
            if (li.Success)
            {
                Flush();
                int depth = li.Groups[1].Value.Replace("\t", "    ").Length / 2;
                var marker = li.Groups[2].Value is "-" or "*" or "+" ? "-" : li.Groups[2].Value;
                currentKind = BlockKind.ListItem;
                currentLine = number;
                currentPrefix = new string(' ', 2 * depth) + marker + " ";
                current.Append(li.Groups[3].Value.Trim());
                continue;
            }

            var content = text.TrimStart();
            if (content.StartsWith('>')) content = content.TrimStart('>').TrimStart();

            if (currentKind is BlockKind.Paragraph or BlockKind.ListItem)
            {
                // Two trailing spaces or a backslash is a hard break; anything else is a soft break (a space).
                var prev = current.ToString();
                bool hard = lines[i - 1].Text.EndsWith("  ") || prev.EndsWith('\\');
                if (prev.EndsWith('\\')) current.Length--;
                current.Append(hard ? "\n" : " ").Append(content.TrimEnd());
            }
            else
            {
                currentKind = BlockKind.Paragraph;
                currentLine = number;
                current.Append(content.TrimEnd());
            }
        }
        Flush();
        return blocks;
    }

    /// <summary>Blocks as MAML paragraphs. Code keeps its lines, indented so it stands out in console help.</summary>
    public static List<string> ToParagraphs(IEnumerable<TextBlock> blocks)
    {
        var paras = new List<string>();
        foreach (var b in blocks)
        {
            switch (b.Kind)
            {
                case BlockKind.Code:
                    var lines = b.Text.Split('\n');
                    if (lines.All(l => l.Trim().Length == 0)) break;
                    paras.Add(string.Join("\n", lines.Select(l => l.Length == 0 ? "" : "    " + l.TrimEnd())));
                    break;
                default:
                    paras.Add(b.Text);
                    break;
            }
        }
        return paras;
    }

    public static List<string> ToParagraphs(IReadOnlyList<SourceLine> lines) => ToParagraphs(ParseBlocks(lines));

    /// <summary>Inline markdown to plain text. Code spans are kept as they are (with backticks).</summary>
    public static string RenderInline(string text)
    {
        var sb = new StringBuilder();
        int pos = 0;
        foreach (Match m in CodeSpan().Matches(text))
        {
            sb.Append(RenderPlain(text[pos..m.Index]));
            sb.Append(m.Value);
            pos = m.Index + m.Length;
        }
        sb.Append(RenderPlain(text[pos..]));
        return sb.ToString().Trim();
    }

    private static string RenderPlain(string s)
    {
        if (s.Length == 0) return s;
        s = HtmlComment().Replace(s, "");
        s = Image().Replace(s, m => m.Groups[1].Value);
        s = Link().Replace(s, m => LinkText(m.Groups[1].Value, m.Groups[2].Value));
        s = AutoLink().Replace(s, m => m.Groups[1].Value);
        s = Bold().Replace(s, m => m.Groups[2].Value);
        s = ItalicStar().Replace(s, m => m.Groups[1].Value);
        s = ItalicUnderscore().Replace(s, m => m.Groups[1].Value);
        s = Escape().Replace(s, m => m.Groups[1].Value);
        return s;
    }

    private static string LinkText(string text, string uri)
    {
        // Relative links (other pages of these docs) mean nothing in a console; absolute ones are worth printing.
        if (IsAbsoluteUri(uri) && !string.Equals(text, uri, StringComparison.Ordinal)) return $"{text} ({uri})";
        return text;
    }

    public static bool IsAbsoluteUri(string uri) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" or "ftp" or "mailto";

    /// <summary>[text](uri) pairs on a line, for RELATED LINKS.</summary>
    public static IEnumerable<(string Text, string Uri)> FindLinks(string line) =>
        Link().Matches(line).Select(m => (RenderInline(m.Groups[1].Value), m.Groups[2].Value));
}
