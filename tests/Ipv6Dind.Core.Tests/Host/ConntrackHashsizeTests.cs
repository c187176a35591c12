using Ipv6Dind.Core.Host;

namespace Ipv6Dind.Core.Tests.Host;

public sealed class ConntrackHashsizeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ipv6dind-conntrack-").FullName;

    private void Fixture(long hashsize, long max)
    {
        Directory.CreateDirectory(Path.Combine(_root, "sys/module/nf_conntrack/parameters"));
        Directory.CreateDirectory(Path.Combine(_root, "proc/sys/net/netfilter"));
        File.WriteAllText(Path.Combine(_root, "sys/module/nf_conntrack/parameters/hashsize"), $"{hashsize}\n");
        File.WriteAllText(Path.Combine(_root, "proc/sys/net/netfilter/nf_conntrack_max"), $"{max}\n");
    }

    // kube-proxy defaults: maxPerCore 32768, min 131072; max = max(32768 × CPUs, 131072); hashsize target max / 4.
    [Theory]
    [InlineData(1, 131072, 32768)]      // 32768 < min: min wins
    [InlineData(2, 131072, 32768)]
    [InlineData(3, 131072, 32768)]
    [InlineData(4, 131072, 32768)]      // 4 × 32768 = 131072 is not greater than min: min (same value)
    [InlineData(5, 163840, 40960)]
    [InlineData(8, 262144, 65536)]
    [InlineData(16, 524288, 131072)]
    [InlineData(32, 1048576, 262144)]   // the seed: 32 × 32768 = 1048576
    [InlineData(64, 2097152, 524288)]
    [InlineData(96, 3145728, 786432)]
    [InlineData(128, 4194304, 1048576)]
    [InlineData(256, 8388608, 2097152)]
    public void DefaultsFollowKubeProxy(int cpus, long max, long hashsize)
    {
        var required = ConntrackHashsize.RequiredMax(cpus, ConntrackHashsize.DefaultMaxPerCore, ConntrackHashsize.DefaultMin);
        Assert.Equal(max, required);
        Assert.Equal(hashsize, ConntrackHashsize.RequiredHashsize(required));
    }

    [Fact]
    public void TheSeedsExampleNeedsAWrite()
    {
        // 32 × 32768 = 1048576 > 4 × 65536: a host with hashsize 65536 makes kube-proxy write 262144.
        var max = ConntrackHashsize.RequiredMax(32, 32768, 131072);
        Assert.Equal(1048576, max);
        Assert.True(max > 4 * 65536);
        Assert.True(ConntrackHashsize.WouldWrite(65536, max));
        Assert.False(ConntrackHashsize.WouldWrite(262144, max));   // hashsize >= max/4: left alone
        Assert.False(ConntrackHashsize.WouldWrite(300000, max));
    }

    [Theory]
    [InlineData(8, 0, 131072, 0)]          // maxPerCore 0: kube-proxy leaves conntrack alone (getConntrackMax returns 0)
    [InlineData(8, 1000, 0, 8000)]         // no floor
    [InlineData(8, 1000, 9000, 9000)]      // floor wins
    [InlineData(9, 1000, 9000, 9000)]      // equal: scaled is not greater, floor returned (same value)
    [InlineData(10, 1000, 9000, 10000)]
    public void CustomValues(int cpus, int perCore, int min, long max) =>
        Assert.Equal(max, ConntrackHashsize.RequiredMax(cpus, perCore, min));

    [Fact]
    public void MaxIsDividedLikeGoIntegers() => Assert.Equal(2499, ConntrackHashsize.RequiredHashsize(9999));

    [Fact]
    public void MaxPerCoreZeroNeverWrites() => Assert.False(ConntrackHashsize.WouldWrite(1, 0));

    [Theory]
    [InlineData(0, 32768, 0, "CpuCount")]
    [InlineData(4, -1, 0, "MaxPerCore")]
    [InlineData(4, 32768, -5, "Min")]
    public void BadParametersAreNamed(int cpus, int perCore, int min, string parameter)
    {
        var ex = Assert.Throws<DindException>(() => ConntrackHashsize.RequiredMax(cpus, perCore, min));
        Assert.Equal(ErrorIds.InvalidConntrackParameter, ex.ErrorId);
        Assert.Equal(parameter, ex.ParameterName);
        Assert.Contains(parameter, ex.Message);
    }

    [Fact]
    public void StatusReadsTheHostValues()
    {
        Fixture(65536, 262144);
        var status = ConntrackHashsize.Status(32, 32768, 131072, _root);
        Assert.Equal(65536, status.CurrentHashsize);
        Assert.Equal(262144, status.CurrentMax);
        Assert.Equal(1048576, status.RequiredMax);
        Assert.Equal(262144, status.RequiredHashsize);
        Assert.True(status.NeedsRepair);
        Assert.Contains("65536 < 1048576 / 4", status.Detail);

        var small = ConntrackHashsize.Status(2, 32768, 131072, _root);
        Assert.False(small.NeedsRepair);
        Assert.Equal(32768, small.RequiredHashsize);
    }

    [Fact]
    public void StatusWithoutConntrackSaysSo()
    {
        var status = ConntrackHashsize.Status(4, 32768, 131072, _root);
        Assert.Null(status.CurrentHashsize);
        Assert.False(status.NeedsRepair);
        Assert.Contains("not loaded", status.Detail);
    }

    [Fact]
    public void WriterWritesTheValue()
    {
        Fixture(65536, 262144);
        var path = Path.Combine(_root, "sys/module/nf_conntrack/parameters/hashsize");
        new ConntrackHashsizeWriter(path).WriteOnHost(262144);
        Assert.Equal("262144", File.ReadAllText(path).Trim().Split('\n')[0][..6]);
    }

    [Fact]
    public void MissingParameterFileIsConntrackUnavailable()
    {
        var ex = Assert.Throws<DindException>(() => new ConntrackHashsizeWriter(Path.Combine(_root, "nope")).WriteOnHost(1));
        Assert.Equal(ErrorIds.ConntrackUnavailable, ex.ErrorId);
    }

    [Theory]
    [InlineData(95, ParameterWriteError.NotSupported)]   // EOPNOTSUPP: the in-container case
    [InlineData(30, ParameterWriteError.ReadOnly)]       // EROFS: Docker's read-only /sys
    [InlineData(13, ParameterWriteError.PermissionDenied)]
    [InlineData(1, ParameterWriteError.PermissionDenied)]
    [InlineData(2, ParameterWriteError.Missing)]
    [InlineData(5, ParameterWriteError.Other)]
    public void ErrnoDecidesTheCause(int errno, ParameterWriteError expected) => Assert.Equal(expected, ConntrackHashsizeWriter.Classify(errno));

    [Theory]
    [InlineData("tee: /sys/module/nf_conntrack/parameters/hashsize: Operation not supported", ParameterWriteError.NotSupported)]
    [InlineData("tee: /sys/module/nf_conntrack/parameters/hashsize: Read-only file system", ParameterWriteError.ReadOnly)]
    [InlineData("tee: /sys/module/nf_conntrack/parameters/hashsize: Permission denied", ParameterWriteError.PermissionDenied)]
    [InlineData("tee: x: No such file or directory", ParameterWriteError.Missing)]
    [InlineData("tee: x: Input/output error", ParameterWriteError.Other)]
    public void ExecMessagesInTheCLocaleDecideTheCause(string message, ParameterWriteError expected) =>
        Assert.Equal(expected, ConntrackHashsizeWriter.ClassifyMessage(message));

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
