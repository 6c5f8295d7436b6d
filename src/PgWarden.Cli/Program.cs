using System.CommandLine;
using PgWarden.Cli.Commands;
using PgWarden.Core.Errors;
using Spectre.Console;

namespace PgWarden.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (WalFastPath.TryParse(args) is { } walCommand)
        {
            return await CommandAction.RunAsync(walCommand, CancellationToken.None);
        }
        if (WatchdogCommand.TryParse(args) is { } watchdog)
        {
            return await watchdog();
        }
        if (Console.IsOutputRedirected)
        {
            // Piped or logged output: no colours, and tables as wide as their content needs.
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
            AnsiConsole.Profile.Width = 240;
        }
        var root = new RootCommand("pgwarden — runs a highly available PostgreSQL cluster the way the production runbook says");
        root.Subcommands.Add(UpCommand.Create());
        root.Subcommands.Add(DownCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(TuneCommand.Create());
        root.Subcommands.Add(ConfigCommand.Create());
        root.Subcommands.Add(MigrateCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(KillCommand.Create());
        root.Subcommands.Add(VacuumCommand.Create());
        root.Subcommands.Add(ReindexCommand.Create());
        root.Subcommands.Add(AgentCommand.Create());
        root.Subcommands.Add(PoolerCommand.Create());
        root.Subcommands.Add(DcsServerCommand.Create());
        root.Subcommands.Add(InstallCommand.Create());
        root.Subcommands.Add(CheckCommand.Create());
        root.Subcommands.Add(DiagnoseCommand.Create());
        root.Subcommands.Add(SwitchoverCommand.Create());
        root.Subcommands.Add(FailoverCommand.Create());
        root.Subcommands.Add(PauseCommand.Create(pause: true));
        root.Subcommands.Add(PauseCommand.Create(pause: false));
        root.Subcommands.Add(ReinitCommand.Create());
        root.Subcommands.Add(WalPushCommand.Create());
        root.Subcommands.Add(WalFetchCommand.Create());
        root.Subcommands.Add(BackupCommand.Create());
        root.Subcommands.Add(RestoreCommand.Create());
        root.Subcommands.Add(RestorePointCommand.Create());
        root.Subcommands.Add(RestoreLogicalCommand.Create());

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            return CommandAction.ReportParseErrors(parse);
        }
        // SIGTERM/SIGINT cancel the command's token; daemons (agent, pooler, dcs-server) need time to
        // stop their servers cleanly before the process may exit.
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(150) });
    }
}
