using Ipv6Dind.HelpBuilder;

return HelpBuilderCli.Run(args, Console.Out, Console.Error);
