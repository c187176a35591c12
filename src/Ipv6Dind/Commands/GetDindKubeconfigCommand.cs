using System.Management.Automation;
using Ipv6Dind.Core.Kubernetes;
using Ipv6Dind.Core.Lab;
using Ipv6Dind.Completion;

namespace Ipv6Dind.Commands;

/// <summary>
/// The kubeconfig of a Kubernetes lab, for kubectl on the host: kubeadm's admin.conf with the API server at its
/// published loopback address (https://[::1]:port) and the context named ipv6dind-&lt;cluster&gt;. Printed (like kind get
/// kubeconfig), written to -Path with mode 0600, or merged into ~/.kube/config (or the first file of $KUBECONFIG).
/// </summary>
[Cmdlet(VerbsCommon.Get, "DindKubeconfig", SupportsShouldProcess = true, DefaultParameterSetName = PrintSet)]
[OutputType(typeof(string), ParameterSetName = new[] { PrintSet })]
[OutputType(typeof(FileInfo), ParameterSetName = new[] { PathSet, MergeSet })]
public sealed class GetDindKubeconfigCommand : LabCmdlet
{
    private const string PrintSet = "Print";
    private const string PathSet = "Path";
    private const string MergeSet = "Merge";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string ClusterName { get; set; } = "";

    /// <summary>Write the kubeconfig to this file (mode 0600, replaced atomically).</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet)]
    public string Path { get; set; } = "";

    /// <summary>Merge the context into ~/.kube/config (or the first file of $KUBECONFIG), keeping every other entry.</summary>
    [Parameter(Mandatory = true, ParameterSetName = MergeSet)]
    public SwitchParameter Merge { get; set; }

    /// <summary>With -Merge: make ipv6dind-&lt;cluster&gt; the current context.</summary>
    [Parameter(ParameterSetName = MergeSet)]
    public SwitchParameter SetCurrentContext { get; set; }

    protected override void ProcessRecord()
    {
        Invoke(() => LabInput.ClusterName(ClusterName));
        if (ParameterSetName == PathSet) Invoke(() => LabInput.Path(Path));
        string? target = ParameterSetName switch
        {
            PathSet => GetUnresolvedProviderPathFromPSPath(Path),
            MergeSet => DefaultKubeconfigPath(),
            _ => null,
        };
        if (target is not null && !ShouldProcess(target, ParameterSetName == MergeSet ? $"Merge context {Core.Lab.DindLab.ContextName(ClusterName)}" : "Write the kubeconfig (mode 0600)"))
            return;
        RunLab(async lab =>
        {
            var (kubeconfig, server, context) = await lab.GetKubeconfigAsync(ClusterName).ConfigureAwait(false);
            lab.Log.Verbose($"Cluster '{ClusterName}': API server {server}, context {context}.");
            if (target is null)
            {
                Emit(kubeconfig);
                return;
            }
            var content = ParameterSetName == MergeSet
                ? Kubeconfig.Merge(File.Exists(target) ? await File.ReadAllTextAsync(target).ConfigureAwait(false) : null, kubeconfig, context, SetCurrentContext.IsPresent)
                : kubeconfig;
            Kubeconfig.WriteFile(target, content);
            Emit(new FileInfo(target));
        });
    }

    private static string DefaultKubeconfigPath()
    {
        var fromEnv = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnv))
            return fromEnv.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)[0];
        return System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
    }
}
