using System.Net;
using System.Net.Sockets;
using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Tests.Host;

public sealed class VersionBindQueryTests
{
    [Fact]
    public void TheQueryAsksVersionBindClassChaosTypeTxtWithoutRecursion()
    {
        var query = VersionBindQuery.Build(0x1234);
        Assert.Equal(new byte[] { 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, (byte)'v', (byte)'e', (byte)'r', (byte)'s', (byte)'i', (byte)'o', (byte)'n',
            4, (byte)'b', (byte)'i', (byte)'n', (byte)'d', 0, 0, 16, 0, 3 }, query);
    }

    [Fact]
    public void OnlyAnErrorFreeResponseToTheSameIdWithAnAnswerCounts()
    {
        var reply = VersionBindQuery.Build(0x1234);
        reply[2] |= 0x80;                 // a response
        reply[7] = 1;                     // one answer
        Assert.True(VersionBindQuery.Answers(reply, 0x1234));
        Assert.False(VersionBindQuery.Answers(reply, 0x1235));                  // another query's
        var refused = (byte[])reply.Clone();
        refused[3] = 5;                   // REFUSED
        Assert.False(VersionBindQuery.Answers(refused, 0x1234));
        var noAnswer = (byte[])reply.Clone();
        noAnswer[7] = 0;
        Assert.False(VersionBindQuery.Answers(noAnswer, 0x1234));
        Assert.False(VersionBindQuery.Answers(VersionBindQuery.Build(0x1234), 0x1234));   // the query itself
        Assert.False(VersionBindQuery.Answers(reply.AsSpan(0, 11), 0x1234));
    }

    /// <summary>A one-shot server on IPv6 loopback that answers the first query it gets as named would.</summary>
    private static (Socket Server, Task Answered) ServeOnce()
    {
        var server = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        var answered = Task.Run(async () =>
        {
            var buffer = new byte[512];
            var got = await server.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.IPv6Any, 0));
            var reply = buffer[..got.ReceivedBytes];
            reply[2] |= 0x80;
            reply[7] = 1;
            await server.SendToAsync(reply, SocketFlags.None, got.RemoteEndPoint);
        });
        return (server, answered);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnIpv6ServerIsAskedThroughANewSocketOrTheOneGiven(bool given)
    {
        // The socket given is an IPv6 one made elsewhere (in a node's namespace, in the lab): it must be used as it is.
        var (server, answered) = ServeOnce();
        using (server)
        {
            var socket = given ? new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) : null;
            Assert.True(await VersionBindQuery.AskAsync((IPEndPoint)server.LocalEndPoint!, TimeSpan.FromSeconds(5), default, socket));
            await answered;
            if (socket is not null) Assert.Throws<ObjectDisposedException>(() => socket.Send(new byte[1]));   // disposed after use
        }
    }

    [Fact]
    public async Task NoAnswerInTimeIsFalseNotAnError()
    {
        using var silent = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Assert.False(await VersionBindQuery.AskAsync((IPEndPoint)silent.LocalEndPoint!, TimeSpan.FromMilliseconds(300), default));
    }
}
