using System.Text.Json.Nodes;
using Ipv6Dind.Core.Host;
using Ipv6Dind.Core.Rendering;

namespace Ipv6Dind.Core.Tests.Host;

public sealed class DockerDaemonJsonTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ipv6dind-daemonjson-").FullName;
    private string Config => Path.Combine(_dir, "daemon.json");
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 13, 15, 0, TimeSpan.Zero);

    private static DockerIpv6Options Options(string prefix = "fd00:d0c:1::/64", string version = "20.10.24") =>
        DockerIpv6Options.From(Version.Parse(version), prefix);

    [Fact]
    public void MergesIntoAnExistingFileKeepingEveryOtherKey()
    {
        const string original = "{\n  \"log-driver\": \"journald\",\n  \"registry-mirrors\": [\"https://mirror.example.test\"],\n  \"ipv6\": false,\n  \"default-ulimits\": { \"nofile\": { \"Name\": \"nofile\", \"Hard\": 65536, \"Soft\": 65536 } }\n}\n";
        File.WriteAllText(Config, original);
        var change = DockerDaemonJson.Plan(Config, Options());
        Assert.True(change.Changed);
        var backup = DockerDaemonJson.Apply(change, Now);

        var after = JsonNode.Parse(File.ReadAllText(Config))!.AsObject();
        Assert.Equal("journald", (string?)after["log-driver"]);
        Assert.Equal("https://mirror.example.test", (string?)after["registry-mirrors"]![0]);
        Assert.Equal(65536, (int)after["default-ulimits"]!["nofile"]!["Hard"]!);
        Assert.True((bool)after["ipv6"]!);
        Assert.Equal("fd00:d0c:1::/64", (string?)after["fixed-cidr-v6"]);
        Assert.True((bool)after["ip6tables"]!);
        Assert.True((bool)after["experimental"]!);   // Docker 20.10 needs it for ip6tables
        // Keys keep their order: the user's file reads the same, the new keys follow.
        Assert.Equal(new[] { "log-driver", "registry-mirrors", "ipv6", "default-ulimits", "fixed-cidr-v6", "ip6tables", "experimental" }, after.Select(p => p.Key));

        Assert.Equal(Config + ".20261123T131500Z.bak", backup);
        Assert.Equal(original, File.ReadAllText(backup!));
        Assert.Empty(Directory.GetFiles(_dir, ".*.tmp"));
    }

    [Fact]
    public void Docker27DoesNotGetExperimental()
    {
        var change = DockerDaemonJson.Plan(Config, Options(version: "27.3.1"));
        DockerDaemonJson.Apply(change, Now);
        Assert.Null(JsonNode.Parse(File.ReadAllText(Config))!["experimental"]);
    }

    [Fact]
    public void ANewFileGetsNoBackup()
    {
        var change = DockerDaemonJson.Plan(Path.Combine(_dir, "etc/docker/daemon.json"), Options());
        Assert.False(change.Exists);
        Assert.Null(DockerDaemonJson.Apply(change, Now));
        Assert.True(File.Exists(Path.Combine(_dir, "etc/docker/daemon.json")));
    }

    [Fact]
    public void TheSameSettingsAreNoChange()
    {
        DockerDaemonJson.Apply(DockerDaemonJson.Plan(Config, Options()), Now);
        var again = DockerDaemonJson.Plan(Config, Options());
        Assert.False(again.Changed);
        var moved = DockerDaemonJson.Plan(Config, Options("fd00:d0c:2::/64"));
        Assert.True(moved.Changed);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void KeepsTheFilesMode()
    {
        File.WriteAllText(Config, "{}");
        File.SetUnixFileMode(Config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        DockerDaemonJson.Apply(DockerDaemonJson.Plan(Config, Options()), Now);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Config));
    }

    [Fact]
    public void BackupsInTheSameSecondDoNotOverwriteEachOther()
    {
        File.WriteAllText(Config, "{}");
        var first = DockerDaemonJson.Apply(DockerDaemonJson.Plan(Config, Options()), Now);
        var second = DockerDaemonJson.Apply(DockerDaemonJson.Plan(Config, Options("fd00:d0c:2::/64")), Now);
        Assert.NotEqual(first, second);
        Assert.Equal("{}", File.ReadAllText(first!));
        Assert.Contains("fd00:d0c:1::/64", File.ReadAllText(second!));
    }

    [Theory]
    [InlineData("{ \"log-driver\": \"journald\", }")]          // trailing comma
    [InlineData("{ \"log-driver\": \"journald\" // comment\n}")]
    [InlineData("{ \"ipv6\": true")]
    [InlineData("not json")]
    public void ASyntaxErrorLeavesTheFileUntouched(string broken)
    {
        File.WriteAllText(Config, broken);
        var ex = Assert.Throws<DindException>(() => DockerDaemonJson.Plan(Config, Options()));
        Assert.Equal(ErrorIds.InvalidDaemonJson, ex.ErrorId);
        Assert.Equal("ConfigPath", ex.ParameterName);
        Assert.Contains(Config, ex.Message);
        Assert.Contains("left untouched", ex.Message);
        Assert.Equal(broken, File.ReadAllText(Config));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void JsonThatIsNotAnObjectIsRefused()
    {
        File.WriteAllText(Config, "[1, 2]");
        Assert.Equal(ErrorIds.InvalidDaemonJson, Assert.Throws<DindException>(() => DockerDaemonJson.Plan(Config, Options())).ErrorId);
    }

    [Fact]
    public void AnUnwritablePlaceIsAClearErrorAndLeavesNothing()
    {
        // Root may write anywhere, so "unwritable" is a folder that cannot exist: its parent is a file.
        var blocker = Path.Combine(_dir, "not-a-folder");
        File.WriteAllText(blocker, "x");
        var change = DockerDaemonJson.Plan(Path.Combine(blocker, "daemon.json"), Options());
        var ex = Assert.Throws<DindException>(() => DockerDaemonJson.Apply(change, Now));
        Assert.Equal(ErrorIds.DaemonJsonWriteFailed, ex.ErrorId);
        Assert.Equal(DindErrorCategory.WriteError, ex.Category);
        Assert.Contains("left as it was", ex.Message);
        Assert.Equal("x", File.ReadAllText(blocker));
    }

    [Fact]
    public void ADirectoryIsNotAConfigFile()
    {
        var ex = Assert.Throws<DindException>(() => DockerDaemonJson.Plan(_dir, Options()));
        Assert.Equal(ErrorIds.DaemonJsonWriteFailed, ex.ErrorId);
    }

    [Fact]
    public void ReadGivesTheSettings()
    {
        File.WriteAllText(Config, "{\"ipv6\": true, \"fixed-cidr-v6\": \"fd00:d0c:1::/64\", \"ip6tables\": true}");
        var s = DockerDaemonJson.Read(Config);
        Assert.True(s.Ipv6);
        Assert.True(s.Ip6Tables);
        Assert.False(s.Experimental);
        Assert.Equal("fd00:d0c:1::/64", s.FixedCidrV6);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

public sealed class DockerIpv6PrefixTests
{
    [Theory]
    [InlineData("2001:db8:1234:5600::/56", 80, 0, "2001:db8:1234:5600::/80")]   // the seed's hook: first /80
    [InlineData("2001:db8:1234:5600::/56", 80, 1, "2001:db8:1234:5600:1::/80")]
    [InlineData("2001:db8:1234:5600::/56", 64, 0, "2001:db8:1234:5600::/64")]
    [InlineData("2001:db8:1234:5600::/56", 64, 255, "2001:db8:1234:56ff::/64")]
    [InlineData("2001:db8:1234::/48", 80, 65536, "2001:db8:1234:1::/80")]
    [InlineData("2001:db8:1234:5678::/64", 64, 0, "2001:db8:1234:5678::/64")]
    [InlineData("2001:db8:1234:5678::/80", 80, 0, "2001:db8:1234:5678::/80")]
    public void PicksTheNthSubPrefix(string delegated, int length, long index, string expected) =>
        Assert.Equal(expected, DockerIpv6Prefix.FromDelegated(delegated, length, index).ToString());

    [Theory]
    [InlineData("2001:db8:1234:5678::/96", 80, 0, ErrorIds.DelegatedPrefixTooSmall, "DelegatedPrefix")]  // smaller than one /80
    [InlineData("2001:db8:1234:5678::/64", 64, 1, ErrorIds.DelegatedPrefixTooSmall, "Index")]           // only one /64 in a /64
    [InlineData("2001:db8:1234:5600::/56", 80, -1, ErrorIds.DelegatedPrefixTooSmall, "Index")]
    [InlineData("2001:db8:1234:5600::/56", 96, 0, ErrorIds.InvalidSubnetLength, "SubnetLength")]          // Docker needs /80 or shorter
    [InlineData("2001:db8:1234:5600::/56", 0, 0, ErrorIds.InvalidSubnetLength, "SubnetLength")]
    [InlineData("2001:db8:1234:5601::/56", 80, 0, ErrorIds.InvalidDockerIpv6Prefix, "DelegatedPrefix")] // host bits set
    [InlineData("not-a-prefix", 80, 0, ErrorIds.InvalidDockerIpv6Prefix, "DelegatedPrefix")]
    [InlineData("", 80, 0, ErrorIds.InvalidDockerIpv6Prefix, "DelegatedPrefix")]
    [InlineData("198.51.100.0/24", 80, 0, ErrorIds.InvalidDockerIpv6Prefix, "DelegatedPrefix")]
    [InlineData("fe80::/64", 80, 0, ErrorIds.InvalidDockerIpv6Prefix, "DelegatedPrefix")]
    public void BadDelegationsAreNamed(string delegated, int length, long index, string errorId, string parameter)
    {
        var ex = Assert.Throws<DindException>(() => DockerIpv6Prefix.FromDelegated(delegated, length, index));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(parameter, ex.ParameterName);
        Assert.NotNull(ex.RecommendedAction);
    }

    [Theory]
    [InlineData("fd00:d0c:1::/64")]
    [InlineData("fd00:d0c::/48")]
    [InlineData("2001:db8:1::/80")]
    public void ValidPrefixes(string prefix) => Assert.Equal(prefix, DockerIpv6Prefix.Validate(prefix).ToString());

    [Theory]
    [InlineData("fd00:d0c:1::/96")]    // too small for Docker
    [InlineData("fd00:d0c:1::1/64")]   // host bits
    [InlineData("ff02::/16")]          // multicast
    [InlineData("fe80::/64")]          // link-local
    [InlineData("::/0")]
    [InlineData("::1/128")]
    [InlineData("198.18.0.0/15")]   // IPv4
    public void InvalidPrefixes(string prefix) =>
        Assert.Equal(ErrorIds.InvalidDockerIpv6Prefix, Assert.Throws<DindException>(() => DockerIpv6Prefix.Validate(prefix)).ErrorId);

    [Theory]
    [InlineData("fd00:d0c:1::/64", true)]
    [InlineData("fc00:1::/64", true)]
    [InlineData("2001:db8::/64", false)]
    public void UlaOnlyForMasquerade(string prefix, bool ula) => Assert.Equal(ula, DockerIpv6Prefix.IsUla(DockerIpv6Prefix.Validate(prefix)));

    [Fact]
    public void TheMasqueradeRuleIsTagged()
    {
        var rule = DockerIpv6Prefix.MasqueradeRule(DockerIpv6Prefix.Validate("fd00:d0c:1::/64"));
        Assert.Equal(("nat", "POSTROUTING"), (rule.Table, rule.Chain));
        Assert.Equal(DockerIpv6Prefix.MasqueradeComment, rule.Comment);
        Assert.Equal(new[] { "-s", "fd00:d0c:1::/64", "!", "-d", "fd00:d0c:1::/64", "-j", "MASQUERADE", "-m", "comment", "--comment", "ipv6dind/daemon/docker-ipv6" }, rule.Specification);
    }

    [Theory]
    [InlineData("20.10.24+dfsg1", "20.10.24")]
    [InlineData("Docker version 27.3.1, build ce12230", "27.3.1")]
    [InlineData("26.1", "26.1.0")]
    public void DockerVersionsParse(string text, string expected) => Assert.Equal(Version.Parse(expected), DockerIpv6Setup.ParseVersion(text));
}
