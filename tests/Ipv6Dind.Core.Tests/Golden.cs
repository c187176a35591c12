using System.Runtime.CompilerServices;

namespace Ipv6Dind.Core.Tests;

/// <summary>
/// Golden files: rendered configs compared byte for byte with files under Golden/ beside this source file.
/// A person reads a golden file when it changes. To (re)write them after an intended change:
///   UPDATE_GOLDEN=1 dotnet test tests/Ipv6Dind.Core.Tests   then review `git diff tests/Ipv6Dind.Core.Tests/Golden`.
/// </summary>
public static class Golden
{
    public static void Match(string name, string actual)
    {
        var dir = Path.Combine(SourceDirectory(), "Golden");
        var path = Path.Combine(dir, name);
        actual = actual.Replace("\r\n", "\n");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"golden file {path} is missing; run with UPDATE_GOLDEN=1 once and review it");
        var expected = File.ReadAllText(path).Replace("\r\n", "\n");
        if (expected != actual)
        {
            var expectedLines = expected.Split('\n');
            var actualLines = actual.Split('\n');
            var first = Enumerable.Range(0, Math.Min(expectedLines.Length, actualLines.Length)).FirstOrDefault(i => expectedLines[i] != actualLines[i], Math.Min(expectedLines.Length, actualLines.Length));
            Assert.Fail($"{name} differs from its golden file at line {first + 1}:\n expected: {(first < expectedLines.Length ? expectedLines[first] : "<end>")}\n actual:   {(first < actualLines.Length ? actualLines[first] : "<end>")}\n(UPDATE_GOLDEN=1 rewrites it; review the diff.)");
        }
    }

    // The folder of this source file: tests/Ipv6Dind.Core.Tests, wherever the calling test lives.
    private static string SourceDirectory([CallerFilePath] string self = "") => Path.GetDirectoryName(self)!;
}
