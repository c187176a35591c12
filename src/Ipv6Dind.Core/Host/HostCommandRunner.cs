using System.Diagnostics;
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
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(psi) ?? throw new InvalidOperationException(); }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.NotInstalled,
                $"'{file}' cannot be run on this host: {ex.Message}", file, null, $"Install the package that provides {file}.", ex);
        }
        using (process)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout);
            try
            {
                if (stdin is not null)
                {
                    await process.StandardInput.WriteAsync(stdin.AsMemory(), limit.Token).ConfigureAwait(false);
                    process.StandardInput.Close();
                }
                var stdout = process.StandardOutput.ReadToEndAsync(limit.Token);
                var stderr = process.StandardError.ReadToEndAsync(limit.Token);
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
                return new ExecResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
            }
            catch (OperationCanceledException)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                if (ct.IsCancellationRequested) throw;
                throw new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.OperationTimeout,
                    $"'{file} {string.Join(' ', arguments)}' did not finish within {timeout.TotalSeconds:F0} s.", file);
            }
        }
    }
}
