using System.Management.Automation;
using Ipv6Dind.Core.Docker;
using Ipv6Dind.Core.Images;

namespace Ipv6Dind.Commands;

/// <summary>
/// Builds the lab's images offline from Debian packages (debootstrap, docker import, then a Dockerfile per role):
/// dns64 (bind9), nat64 (tayga), node (iproute2, CNI plugins, DNS tools). Images whose recipe has not changed are
/// kept (-Force rebuilds). Nothing is ever pulled from a registry.
/// </summary>
// "Build" is an approved verb (VerbsLifecycle.Build) since PowerShell 6; PowerShellStandard 5.1 lacks the constant.
[Cmdlet("Build", "DindImage", SupportsShouldProcess = true)]
[OutputType(typeof(BuiltImage))]
public sealed class BuildDindImageCommand : DindCmdlet
{
    [Parameter(Position = 0)]
    [ValidateSet("dns64", "nat64", "node")]
    public string[] Role { get; set; } = { "dns64", "nat64", "node" };

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(string.Join(", ", Role.Select(ImageBuilder.ReferenceFor)), Force ? "Rebuild the images" : "Build the images that are missing or out of date"))
            return;
        RunAsync(async ctx =>
        {
            using var docker = DockerApi.Connect();
            foreach (var image in await new ImageBuilder(docker, ctx).EnsureImagesAsync(Role, Force).ConfigureAwait(false))
                Emit(image);
        });
    }
}
