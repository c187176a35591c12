namespace Ipv6Dind.FakeKubeApi;

/// <summary>Files of kubeadm's making that the fake serves, embedded from the project file.</summary>
internal static class FakeResources
{
    public static string Read(string logicalName)
    {
        using var stream = typeof(FakeResources).Assembly.GetManifestResourceStream(logicalName)
            ?? throw new InvalidOperationException($"The fake's embedded resource {logicalName} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Replace("\r\n", "\n");
    }
}
