namespace Ipv6Dind.Tests.Commands;

/// <summary>
/// Test classes that point $env:DOCKER_HOST (a process-wide variable) at a socket that does not exist. They must not
/// run in parallel: one class's `finally { $env:DOCKER_HOST = $null }` would otherwise let another's cmdlet reach
/// the real daemon.
/// </summary>
[CollectionDefinition(Name)]
public sealed class DockerHostEnvironment
{
    public const string Name = "DOCKER_HOST environment";
}
