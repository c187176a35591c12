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
}
