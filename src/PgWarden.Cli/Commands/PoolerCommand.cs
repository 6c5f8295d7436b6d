using System.CommandLine;
using PgWarden.Agent;
using PgWarden.Core.Config;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden pooler --config FILE --name NAME`: runs one PgBouncer and steers it to the primary.</summary>
public static class PoolerCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c") { Description = "cluster configuration file", Required = true };
        var name = new Option<string>("--name") { Description = "the pooler (PgBouncer) to run", Required = true };
        var cmd = new Command("pooler", "run one PgBouncer and route it to the current primary and streaming replicas") { config, name };
        CommandAction.Set(cmd, (p, ct) => PoolerHost.RunAsync(ConfigLoader.LoadFile(p.GetValue(config)!), p.GetValue(name)!, ct));
        return cmd;
    }
}
