using Ipv6Dind.Core.Addressing;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Core.Tests.Security;

/// <summary>The input rules of the lab operations, and least privilege as the container specs state it.</summary>
public sealed class LabInputTests
{
    /// <summary>Hostile strings every name rule must refuse.</summary>
    public static readonly TheoryData<string> HostileNames = new()
    {
        "lab'", "lab\"", "a;b", "lab; rm -rf /", "$(id)", "lab$(id)", "`id`", "lab\n", "lab\nx", "lab\r", "lab\0", "../lab", "..", "/etc/passwd",
        "lab/x", "-lab", "--help", "lab ", " lab", "LAB", "lаb" /* Cyrillic а */, "ｌａｂ" /* full width */, "lab\u200b", "lab-",
        new string('a', 33), new string('a', 100_000), "", "*", "la*b",
    };

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void HostileClusterNamesAreRefusedWithTheParameterNamed(string name)
    {
        var e = Assert.Throws<DindException>(() => LabInput.ClusterName(name));
        Assert.Equal(ErrorIds.InvalidClusterName, e.ErrorId);
        Assert.Equal("ClusterName", e.ParameterName);
        Assert.StartsWith("ClusterName: ", e.Message);
        Assert.True(e.Message.Length < 600, "the message repeats a very long value");
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\0', e.Message);
    }

    [Fact]
    public void ATrailingNewlineIsNotAValidNameAnywhere()
    {
        // .NET's '$' matches before a final newline; the rules anchor with \z.
        Assert.NotNull(SpecValidator.ClusterNameProblem("lab\n"));
        Assert.Null(SpecValidator.ParseKubernetesVersion("1.31\n\n1"));
        Assert.Null(SpecValidator.ParseKubernetesVersion("v1.٣١")); // Arabic-Indic digits are \d in .NET, not a version
        Assert.False(ImageReference.IsValid("nginx\n"));
    }

    [Theory]
    [InlineData("lab-node-1")]
    [InlineData("lab-node-1021")]
    public void NodeNamesOfTheClusterPass(string name) => Assert.Equal(name, LabInput.NodeName("lab", name));

    [Theory]
    [MemberData(nameof(HostileNames))]
    [InlineData("lab-node-0")]
    [InlineData("lab-node-01")]
    [InlineData("lab-node-1 ")]
    [InlineData("lab-node-1\n")]
    [InlineData("lab-node-1;id")]
    [InlineData("other-node-1")]
    [InlineData("lab-node-")]
    [InlineData("lab-dns64")]
    [InlineData("lab-node-../../x")]
    public void HostileNodeNamesAreRefused(string name)
    {
        var e = Assert.Throws<DindException>(() => LabInput.NodeName("lab", name));
        Assert.Equal(ErrorIds.InvalidNodeName, e.ErrorId);
        Assert.Equal("NodeName", e.ParameterName);
        Assert.Contains("lab-node-<n>", e.RecommendedAction);
    }

    [Theory]
    [InlineData("lab*")]
    [InlineData("l?b")]
    [InlineData("[lt]ab")]
    public void NamePatternsPass(string pattern)
    {
        Assert.Equal(pattern, LabInput.ClusterNamePattern(pattern));
        Assert.Equal("lab-node-*", LabInput.NodeNamePattern("lab", "lab-node-*"));
    }

    [Theory]
    [InlineData("lab*;id")]
    [InlineData("*$(id)")]
    [InlineData("../*")]
    [InlineData("*\n")]
    public void HostilePatternsAreRefused(string pattern)
    {
        Assert.Equal(ErrorIds.InvalidClusterName, Assert.Throws<DindException>(() => LabInput.ClusterNamePattern(pattern)).ErrorId);
        Assert.Equal(ErrorIds.InvalidNodeName, Assert.Throws<DindException>(() => LabInput.NodeNamePattern("lab", pattern)).ErrorId);
    }

    [Theory]
    [InlineData("nginx")]
    [InlineData("nginx:1.27")]
    [InlineData("library/nginx:latest")]
    [InlineData("docker.io/library/nginx:1.27-alpine")]
    [InlineData("registry.example:5000/team/app:v2")]
    [InlineData("localhost:5000/a__b/c-d.e:T_1")]
    [InlineData("[fd00:77::1]:5000/app:1")]
    [InlineData("kindest/node:v1.33.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("ipv6dind/node:local")]
    [InlineData("UPPER.Example.com/app")]
    public void ImageReferencesOfTheDockerGrammarPass(string reference) => Assert.Equal(reference, LabInput.Image(reference));

    [Theory]
    [InlineData("")]
    [InlineData("Nginx")]
    [InlineData("nginx;id")]
    [InlineData("nginx:1.27; rm -rf /")]
    [InlineData("$(id)")]
    [InlineData("`id`")]
    [InlineData("nginx\n")]
    [InlineData("nginx:latest\nx")]
    [InlineData("-nginx")]
    [InlineData("--output=/etc/passwd")]
    [InlineData("../nginx")]
    [InlineData("/nginx")]
    [InlineData("nginx/")]
    [InlineData("nginx:")]
    [InlineData("nginx:-tag")]
    [InlineData("nginx@sha256:abc")]
    [InlineData("ngіnx")] // Cyrillic і
    [InlineData("nginx 1")]
    [InlineData("'nginx'")]
    public void HostileImageReferencesAreRefused(string reference)
    {
        var e = Assert.Throws<DindException>(() => LabInput.Image(reference));
        Assert.Equal(ErrorIds.InvalidImageReference, e.ErrorId);
        Assert.Equal("Image", e.ParameterName);
    }

    [Fact]
    public void TooLongImageNamesAndTagsAreRefused()
    {
        Assert.False(ImageReference.IsValid(new string('a', 256)));
        Assert.True(ImageReference.IsValid(new string('a', 255)));
        Assert.False(ImageReference.IsValid("a:" + new string('t', 129)));
        Assert.False(ImageReference.IsValid(new string('a', 100_000)));
    }

    [Theory]
    [InlineData("./lab-logs")]
    [InlineData("../elsewhere/kubeconfig")] // the caller's own file system: relative, '..' and absolute paths are theirs to give
    [InlineData("/tmp/x")]
    [InlineData("-rf")]
    [InlineData("with space/and'quote;$(id)")]
    public void PathsAreTheCallersToChoose(string path) => Assert.Equal(path, LabInput.Path(path));

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("logs\n")]
    [InlineData("logs\0x")]
    [InlineData("lo\u001bgs")]
    public void PathsWithControlCharactersAreRefused(string path)
    {
        var e = Assert.Throws<DindException>(() => LabInput.Path(path, "OutputDirectory"));
        Assert.Equal((ErrorIds.InvalidPath, "OutputDirectory"), (e.ErrorId, e.ParameterName));
    }

    [Fact]
    public void PathsLongerThanPathMaxAreRefused() =>
        Assert.Equal(ErrorIds.InvalidPath, Assert.Throws<DindException>(() => LabInput.Path("/" + new string('a', 5000))).ErrorId);

    [Theory]
    [InlineData("-f/etc/shadow")]
    [InlineData("+short")]
    [InlineData("@198.51.100.1")]
    [InlineData("a;b")]
    [InlineData("ipv4only.arpa\n")]
    [InlineData("$(id)")]
    [InlineData("")]
    public void ProbeNamesAreDnsNamesNotOptions(string name) =>
        Assert.Equal(ErrorIds.InvalidProbeName, Assert.Throws<DindException>(() => new LabTestOptions { ProbeName = name }.Validate()).ErrorId);

    [Theory]
    [InlineData("-o/etc/passwd")]
    [InlineData("--config=/x")]
    [InlineData("file:///etc/passwd")]
    [InlineData("http://x/ -o /etc/passwd")]
    [InlineData("http://x/\n")]
    [InlineData("www.example.test")]
    public void ProbeUrlsAreHttpUrlsNotOptions(string url) =>
        Assert.Equal(ErrorIds.InvalidProbeUrl, Assert.Throws<DindException>(() => new LabTestOptions { ProbeUrl = url }.Validate()).ErrorId);

    [Fact]
    public void GoodProbesPass() =>
        new LabTestOptions { ProbeName = "www.example.test", ProbeUrl = "http://www.example.test/", AaaaProbeName = "_dual.example.test." }.Validate();

    [Theory]
    [InlineData("198.51.100.53; rm -rf /")]
    [InlineData("$(id)")]
    [InlineData("127.0.0.1")]
    [InlineData("2001:db8::53%eth0")]
    public void HostileUpstreamsAreRefusedOnTheirOwn(string upstream)
    {
        var e = Assert.Throws<DindException>(() => LabInput.Upstreams(new[] { "198.51.100.53", upstream }));
        Assert.Equal((ErrorIds.InvalidDns64Upstream, "Dns64Upstream"), (e.ErrorId, e.ParameterName));
    }
}
