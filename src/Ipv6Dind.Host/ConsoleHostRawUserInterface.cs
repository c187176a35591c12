using System.Management.Automation.Host;

namespace Ipv6Dind.Host;

/// <summary>
/// Raw console facts for the engine. The formatter sizes tables from BufferSize/WindowSize, so the width is
/// the terminal's when stdout is one and a fixed 120 columns otherwise (logs and tests stay stable).
/// Colours are only stored: the UI decides whether to emit escape sequences.
/// </summary>
internal sealed class ConsoleHostRawUserInterface : PSHostRawUserInterface
{
    public const int DefaultWidth = 120;
    private const int DefaultHeight = 50;

    private readonly TextReader _input;
    private Size _bufferSize;
    private Size _windowSize;

    public ConsoleHostRawUserInterface(TextReader input, int width, int height)
    {
        _input = input;
        _windowSize = new Size(width, height);
        // pwsh reports a tall scroll-back buffer; only the width matters to formatting.
        _bufferSize = new Size(width, 9001);
    }

    /// <summary>Width of stdout's terminal, or 120 when stdout is not a terminal or the size is unknown.</summary>
    public static (int Width, int Height) MeasureConsole(bool stdoutIsTerminal)
    {
        if (!stdoutIsTerminal)
        {
            return (DefaultWidth, DefaultHeight);
        }

        try
        {
            int width = Console.WindowWidth;
            int height = Console.WindowHeight;
            return (width > 0 ? width : DefaultWidth, height > 0 ? height : DefaultHeight);
        }
        catch (IOException)
        {
            return (DefaultWidth, DefaultHeight);
        }
    }

    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;

    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;

    public override Coordinates CursorPosition { get; set; }

    public override int CursorSize { get; set; } = 25;

    public override Size BufferSize
    {
        get => _bufferSize;
        set => _bufferSize = value;
    }

    public override Size WindowSize
    {
        get => _windowSize;
        set => _windowSize = value;
    }

    public override Coordinates WindowPosition { get; set; }

    public override Size MaxWindowSize => _windowSize;

    public override Size MaxPhysicalWindowSize => _windowSize;

    public override string WindowTitle { get; set; } = "ipv6dind";

    // Input is a line-oriented stream here, so there is never a pending key to report.
    public override bool KeyAvailable => false;

    public override void FlushInputBuffer()
    {
    }

    public override KeyInfo ReadKey(ReadKeyOptions options)
    {
        // Best effort for "press a key" scripts: one character from the input stream.
        int c = _input.Read();
        if (c < 0)
        {
            throw new PromptingException("Cannot read a key: stdin is at end of input.", null, "ReadKeyEndOfInput", System.Management.Automation.ErrorCategory.ReadError);
        }

        return new KeyInfo(0, (char)c, 0, keyDown: true);
    }

    public override BufferCell[,] GetBufferContents(Rectangle rectangle) =>
        throw new NotSupportedException("ipv6dind writes to a stream and cannot read back the screen buffer.");

    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) =>
        throw new NotSupportedException("ipv6dind writes to a stream and cannot scroll the screen buffer.");

    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) =>
        throw new NotSupportedException("ipv6dind writes to a stream and cannot set the screen buffer.");

    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) =>
        throw new NotSupportedException("ipv6dind writes to a stream and cannot set the screen buffer.");
}
