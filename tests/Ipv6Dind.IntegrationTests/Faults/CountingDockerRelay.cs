using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Ipv6Dind.IntegrationTests.Faults;

/// <summary>
/// A unix-socket relay in front of the Docker daemon (test code only): every accepted connection is forwarded
/// byte-for-byte to <see cref="Upstream"/> in both directions, and the Docker API requests the client sends are
/// numbered as they arrive (1, 2, … since <see cref="Reset"/>). <see cref="OnRequest"/> runs synchronously when a
/// request's line is complete, before any byte of that request is forwarded - the place to inject Ctrl-C.
///
/// Counting: the client side of each connection is parsed as HTTP/1.1 messages - request line, headers, a body of
/// Content-Length bytes or chunked - so a keep-alive connection's several requests are all counted and a body that
/// happens to contain "GET / HTTP/1.1" is not. A request that upgrades the connection (Upgrade/Connection: Upgrade
/// headers, or an exec start or attach, which Docker hijacks even without them) ends the parsing of that
/// connection: what follows is the exec's raw stdin. A line that is not a request line also ends it (counted in
/// <see cref="Unparsed"/>, which a sweep asserts is zero). The daemon's side is copied, never parsed.
/// </summary>
public sealed class CountingDockerRelay : IAsyncDisposable
{
    public const string DefaultUpstream = "/var/run/docker.sock";

    private static readonly Regex RequestLine = new(@"^(GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS) (\S+) HTTP/1\.[01]$", RegexOptions.CultureInvariant);
    private static readonly Regex Hijacked = new(@"^/(v[0-9.]+/)?(exec/[^/?]+/start|containers/[^/?]+/attach)([/?]|$)", RegexOptions.CultureInvariant);

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<Socket> _open = new();
    private readonly List<string> _requests = new();
    private int _count;
    private int _unparsed;

    private CountingDockerRelay(string directory, string upstream)
    {
        Directory = directory;
        Upstream = upstream;
        SocketPath = Path.Combine(directory, "docker.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(64);
        _accepting = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Starts a relay on a socket in a fresh folder under <paramref name="parent"/> (mode 0700).</summary>
    public static CountingDockerRelay Start(string parent = "/run", string upstream = DefaultUpstream)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the relay uses unix sockets and /run");
        var directory = Path.Combine(parent, "ipv6dind-relay-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try { return new CountingDockerRelay(directory, upstream); }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public string Directory { get; }
    public string SocketPath { get; }
    public string Upstream { get; }
    /// <summary>DOCKER_HOST for clients of the relay.</summary>
    public string DockerHost => "unix://" + SocketPath;

    /// <summary>Requests since <see cref="Reset"/>.</summary>
    public int Count => Volatile.Read(ref _count);
    /// <summary>Connections whose client side stopped parsing as HTTP (their later requests were not counted).</summary>
    public int Unparsed => Volatile.Read(ref _unparsed);
    /// <summary>"n METHOD path" of every request since <see cref="Reset"/>, in arrival order.</summary>
    public IReadOnlyList<string> Requests { get { lock (_requests) return _requests.ToList(); } }

    /// <summary>Called with the request's number and its request line, before the request is forwarded.</summary>
    public Action<int, string>? OnRequest { get; set; }

    /// <summary>Numbers the next request 1 again and sets the callback.</summary>
    public void Reset(Action<int, string>? onRequest = null)
    {
        lock (_requests)
        {
            _requests.Clear();
            Volatile.Write(ref _count, 0);
            Volatile.Write(ref _unparsed, 0);
            OnRequest = onRequest;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException) { continue; }
            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var daemon = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        lock (_open) { _open.Add(client); _open.Add(daemon); }
        try
        {
            await daemon.ConnectAsync(new UnixDomainSocketEndPoint(Upstream), _stop.Token).ConfigureAwait(false);
            var up = PumpRequestsAsync(client, daemon);
            var down = CopyAsync(daemon, client);
            await Task.WhenAll(up, down).ConfigureAwait(false);
        }
        catch (Exception) { /* a side went away: close both */ }
        finally
        {
            lock (_open) { _open.Remove(client); _open.Remove(daemon); }
            client.Dispose();
            daemon.Dispose();
        }
    }

    /// <summary>Daemon to client, untouched; the end of one side's sending is passed on as a half-close.</summary>
    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n == 0) break;
                await SendAllAsync(to, buffer.AsMemory(0, n)).ConfigureAwait(false);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            // One side is gone: end the other too, so its pump ends.
            from.Dispose();
            to.Dispose();
        }
    }

    private async Task PumpRequestsAsync(Socket client, Socket daemon)
    {
        var buffer = new byte[64 * 1024];
        var parser = new RequestParser();
        try
        {
            while (true)
            {
                var n = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n == 0) break;
                foreach (var piece in parser.Feed(buffer.AsSpan(0, n)))
                {
                    if (piece.Line is { } line)
                    {
                        int number;
                        Action<int, string>? callback;
                        lock (_requests)
                        {
                            number = Interlocked.Increment(ref _count);
                            _requests.Add($"{number} {StripQuery(line)}");
                            callback = OnRequest;
                        }
                        callback?.Invoke(number, line);
                    }
                    if (piece.Unparsed) Interlocked.Increment(ref _unparsed);
                    if (piece.Bytes.Length > 0) await SendAllAsync(daemon, piece.Bytes).ConfigureAwait(false);
                }
            }
            daemon.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            client.Dispose();
            daemon.Dispose();
        }
    }

    private static string StripQuery(string line)
    {
        var parts = line.Split(' ');
        return parts.Length < 2 ? line : parts[0] + " " + parts[1].Split('?')[0];
    }

    private static async Task SendAllAsync(Socket to, ReadOnlyMemory<byte> data)
    {
        while (data.Length > 0)
        {
            var n = await to.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[n..];
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { await _accepting.ConfigureAwait(false); } catch (Exception) { }
        lock (_open)
        {
            foreach (var s in _open) s.Dispose();
            _open.Clear();
        }
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        _stop.Dispose();
    }

    /// <summary>A piece of the client's stream: bytes to forward, preceded by a request line when one starts there.</summary>
    private readonly record struct Piece(byte[] Bytes, string? Line, bool Unparsed);

    /// <summary>HTTP/1.1 request framing of one connection's client side (see the class comment).</summary>
    private sealed class RequestParser
    {
        private enum State { Line, Headers, Body, ChunkSize, ChunkData, ChunkEnd, Trailers, Raw }

        private const int MaxLine = 64 * 1024;
        private State _state = State.Line;
        private readonly List<byte> _line = new();
        private long _remaining;
        private long _contentLength;
        private bool _chunked;
        private bool _upgrade;

        public List<Piece> Feed(ReadOnlySpan<byte> data)
        {
            var pieces = new List<Piece>();
            var pending = new List<byte>();
            var i = 0;
            while (i < data.Length)
            {
                switch (_state)
                {
                    case State.Raw:
                        pending.AddRange(data[i..].ToArray());
                        i = data.Length;
                        break;
                    case State.Body:
                    case State.ChunkData:
                    {
                        var take = (int)Math.Min(_remaining, data.Length - i);
                        pending.AddRange(data.Slice(i, take).ToArray());
                        i += take;
                        _remaining -= take;
                        if (_remaining == 0) _state = _state == State.Body ? AfterMessage() : State.ChunkEnd;
                        break;
                    }
                    default:
                    {
                        // Line-oriented states: collect up to LF.
                        var b = data[i++];
                        _line.Add(b);
                        if (b != (byte)'\n')
                        {
                            if (_line.Count > MaxLine) GiveUp(pending, pieces);
                            break;
                        }
                        var text = Encoding.ASCII.GetString(_line.ToArray()).TrimEnd('\r', '\n');
                        var bytes = _line.ToArray();
                        _line.Clear();
                        LineDone(text, bytes, pending, pieces);
                        break;
                    }
                }
            }
            // A request line still incomplete stays in _line (not forwarded yet); everything else goes now.
            if (pending.Count > 0) pieces.Add(new Piece(pending.ToArray(), null, false));
            return pieces;
        }

        private void GiveUp(List<byte> pending, List<Piece> pieces)
        {
            pending.AddRange(_line);
            _line.Clear();
            _state = State.Raw;
            pieces.Add(new Piece(pending.ToArray(), null, true));
            pending.Clear();
        }

        private void LineDone(string text, byte[] bytes, List<byte> pending, List<Piece> pieces)
        {
            switch (_state)
            {
                case State.Line:
                    if (text.Length == 0) { pending.AddRange(bytes); return; } // stray CRLF between messages
                    var m = RequestLine.Match(text);
                    if (!m.Success)
                    {
                        _line.AddRange(bytes);
                        GiveUp(pending, pieces);
                        return;
                    }
                    // What came before belongs to the previous request: forwarded first; then the callback; then this line.
                    pieces.Add(new Piece(pending.ToArray(), null, false));
                    pending.Clear();
                    pieces.Add(new Piece(bytes, text, false));
                    _contentLength = 0;
                    _chunked = false;
                    _upgrade = Hijacked.IsMatch(m.Groups[2].Value);
                    _state = State.Headers;
                    return;
                case State.Headers:
                    pending.AddRange(bytes);
                    if (text.Length == 0)
                    {
                        if (_chunked) _state = State.ChunkSize;
                        else if (_contentLength > 0) { _remaining = _contentLength; _state = State.Body; }
                        else _state = AfterMessage();
                        return;
                    }
                    var colon = text.IndexOf(':');
                    if (colon <= 0) return;
                    var name = text[..colon].Trim();
                    var value = text[(colon + 1)..].Trim();
                    if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && long.TryParse(value, out var length)) _contentLength = length;
                    else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && value.Contains("chunked", StringComparison.OrdinalIgnoreCase)) _chunked = true;
                    else if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)) _upgrade = true;
                    else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.Contains("upgrade", StringComparison.OrdinalIgnoreCase)) _upgrade = true;
                    return;
                case State.ChunkSize:
                    pending.AddRange(bytes);
                    var hex = text.Split(';')[0].Trim();
                    if (!long.TryParse(hex, System.Globalization.NumberStyles.HexNumber, null, out var size))
                    {
                        pieces.Add(new Piece(pending.ToArray(), null, true));
                        pending.Clear();
                        _state = State.Raw;
                        return;
                    }
                    if (size == 0) _state = State.Trailers;
                    else { _remaining = size; _state = State.ChunkData; }
                    return;
                case State.ChunkEnd:
                    pending.AddRange(bytes); // the CRLF after a chunk's data
                    _state = State.ChunkSize;
                    return;
                case State.Trailers:
                    pending.AddRange(bytes);
                    if (text.Length == 0) _state = AfterMessage();
                    return;
            }
        }

        /// <summary>After a complete message: the next request, or raw bytes once the connection was upgraded.</summary>
        private State AfterMessage() => _upgrade ? State.Raw : State.Line;
    }
}
