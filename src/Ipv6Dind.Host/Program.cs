namespace Ipv6Dind.Host;

internal static class Program
{
    public static int Main(string[] args) =>
        HostProgram.Run(
            args,
            Console.In,
            Console.Out,
            Console.Error,
            stdoutIsTerminal: !Console.IsOutputRedirected,
            stderrIsTerminal: !Console.IsErrorRedirected,
            stdinIsTerminal: !Console.IsInputRedirected);
}
