using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Host;

/// <summary>Runs host programs with argument lists (never a shell string), with a time limit.</summary>
public interface IHostCommandRunner
{
    Task<ExecResult> RunAsync(string file, IReadOnlyList<string> arguments, string? stdin, TimeSpan timeout, CancellationToken ct);
}

public sealed class HostCommandRunner : IHostCommandRunner
{
    public static readonly HostCommandRunner Instance = new();

    public async Task<ExecResult> RunAsync(string file, IReadOnlyList<string> arguments, string? stdin, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            return await ProcessRunner.RunAsync(file, arguments, new ProcessRunOptions { Stdin = stdin, Timeout = timeout }, ct).ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.NotInstalled,
                $"'{file}' cannot be run on this host: {ex.Message}", file, null, $"Install the package that provides {file}.", ex);
        }
        catch (ProcessTimeoutException ex)
        {
            throw new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.OperationTimeout, ex.Message, file);
        }
    }
}
