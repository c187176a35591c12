using System.Net;
using System.Net.Sockets;

namespace Ipv6Dind.Core.Host;

/// <summary>
/// Asks a DNS server for version.bind (class CH, type TXT) over UDP from this machine: named answers it itself,
/// whatever its upstream does, so an answer means the server is up. Used for the lab's DNS64 when the daemon is this
/// machine's (its management network is a bridge of this host, so the host reaches the DNS64 directly) instead of
/// running dig in the container through docker exec.
/// </summary>
public static class VersionBindQuery
{
    /// <summary>The query, with <paramref name="id"/> as its ID (RFC 1035 section 4.1).</summary>
    public static byte[] Build(ushort id)
    {
        var name = new List<byte>();
        foreach (var label in new[] { "version", "bind" })
        {
            name.Add((byte)label.Length);
            name.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }
        name.Add(0);
        var header = new byte[] { (byte)(id >> 8), (byte)id, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };   // no recursion wanted, one question
        var question = new byte[] { 0, 16, 0, 3 };                                                   // TXT, CH
        return header.Concat(name).Concat(question).ToArray();
    }

    /// <summary>Whether <paramref name="reply"/> answers the query of <paramref name="id"/> without an error.</summary>
    public static bool Answers(ReadOnlySpan<byte> reply, ushort id) =>
        reply.Length >= 12 && reply[0] == (byte)(id >> 8) && reply[1] == (byte)id
        && (reply[2] & 0x80) != 0                          // a response
        && (reply[3] & 0x0F) == 0                          // RCODE NOERROR
        && (reply[6] << 8 | reply[7]) > 0;                 // at least one answer

    /// <summary>
    /// One query to <paramref name="server"/> port 53, waiting up to <paramref name="timeout"/>; false on no or a bad
    /// answer. <paramref name="socket"/>: a UDP socket to ask through (for example one made in a container's network
    /// namespace, ContainerNetns.OpenUdpSocket), disposed here; null: a new one of this machine's.
    /// </summary>
    public static Task<bool> AskAsync(IPAddress server, TimeSpan timeout, CancellationToken ct, Socket? socket = null) =>
        AskAsync(new IPEndPoint(server, 53), timeout, ct, socket);

    /// <summary>The query to any port (the tests' own servers).</summary>
    internal static async Task<bool> AskAsync(IPEndPoint server, TimeSpan timeout, CancellationToken ct, Socket? socket = null)
    {
        var id = (ushort)Random.Shared.Next(1, ushort.MaxValue);
        using var udp = socket ?? new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(timeout);
        try
        {
            await udp.ConnectAsync(server, wait.Token).ConfigureAwait(false);
            await udp.SendAsync(Build(id), SocketFlags.None, wait.Token).ConfigureAwait(false);
            var reply = new byte[512];
            while (true)
            {
                var n = await udp.ReceiveAsync(reply, SocketFlags.None, wait.Token).ConfigureAwait(false);
                if (Answers(reply.AsSpan(0, n), id)) return true;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return false; }
        catch (SocketException) { return false; }
    }
}
