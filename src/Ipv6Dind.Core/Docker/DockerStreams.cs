using System.Formats.Tar;
using System.Text;
using Docker.DotNet;

namespace Ipv6Dind.Core.Docker;

/// <summary>Small stream helpers of the driver: demultiplexing and single-file tars.</summary>
internal static class DockerStreams
{
    /// <summary>
    /// Reads a multiplexed (non-TTY) stream to its end: stdout and stderr apart, and both in arrival order when
    /// <paramref name="combined"/> is given (logs). Decoders keep a UTF-8 sequence split across frames whole.
    /// </summary>
    public static async Task ReadAllAsync(MultiplexedStream stream, StringBuilder stdout, StringBuilder stderr, StringBuilder? combined, CancellationToken ct)
    {
        var buffer = new byte[81920];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        var outDecoder = Encoding.UTF8.GetDecoder();
        var errDecoder = Encoding.UTF8.GetDecoder();
        while (true)
        {
            var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, ct).ConfigureAwait(false);
            if (read.EOF) break;
            if (read.Count == 0) continue;
            var toErr = read.Target == MultiplexedStream.TargetStream.StandardError;
            var decoder = toErr ? errDecoder : outDecoder;
            var n = decoder.GetChars(buffer, 0, read.Count, chars, 0, flush: false);
            (toErr ? stderr : stdout).Append(chars, 0, n);
            combined?.Append(chars, 0, n);
        }
        var tailOut = outDecoder.GetChars(Array.Empty<byte>(), 0, 0, chars, 0, flush: true);
        stdout.Append(chars, 0, tailOut);
        combined?.Append(chars, 0, tailOut);
        var tailErr = errDecoder.GetChars(Array.Empty<byte>(), 0, 0, chars, 0, flush: true);
        stderr.Append(chars, 0, tailErr);
        combined?.Append(chars, 0, tailErr);
    }

    /// <summary>A tar holding one regular file, owned by root, for the archive API.</summary>
    public static MemoryStream SingleFileTar(string name, byte[] content, int mode)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
            {
                Mode = (UnixFileMode)(mode & 0xFFF),
                Uid = 0,
                Gid = 0,
                ModificationTime = DateTimeOffset.UtcNow,
                DataStream = new MemoryStream(content),
            };
            writer.WriteEntry(entry);
        }
        tar.Position = 0;
        return tar;
    }

    /// <summary>
    /// First entry of an archive-API tar. Returns (content, null) for a regular file, (null, target) for a
    /// symbolic link (the API does not follow links), and throws for a directory or device.
    /// </summary>
    public static async Task<(string? Content, string? LinkTarget)> ReadSingleFileAsync(Stream tarStream, string path, CancellationToken ct)
    {
        using var reader = new TarReader(tarStream, leaveOpen: true);
        var entry = await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false);
        if (entry is null) return (null, null);
        switch (entry.EntryType)
        {
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                if (entry.DataStream is null || entry.Length == 0) return ("", null);
                // Exactly the entry's length: a StreamReader's final 0-byte read makes Docker.DotNet's chunked
                // stream throw EndOfStreamException when it stops inside a chunk (seen with a 600-byte tayga.conf).
                var bytes = new byte[entry.Length];
                await entry.DataStream.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
                return (new UTF8Encoding(false).GetString(bytes), null);
            case TarEntryType.SymbolicLink:
                return (null, entry.LinkName);
            default:
                throw new DindException(ErrorIds.DockerApiError, DindErrorCategory.InvalidArgument,
                    $"{path} in the container is a {entry.EntryType}, not a regular file.", target: path);
        }
    }
}

/// <summary>The last lines of a long output, for error messages that show what happened just before.</summary>
internal sealed class TailBuffer
{
    private readonly Queue<string> _lines = new();
    private readonly int _capacity;
    private readonly object _gate = new();

    public TailBuffer(int capacity = 25) => _capacity = capacity;

    public void Add(string line)
    {
        lock (_gate)
        {
            _lines.Enqueue(line);
            while (_lines.Count > _capacity) _lines.Dequeue();
        }
    }

    public override string ToString()
    {
        lock (_gate) return string.Join(Environment.NewLine, _lines);
    }
}
