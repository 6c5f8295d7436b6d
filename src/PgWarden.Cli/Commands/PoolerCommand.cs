using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Agent;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden pooler --config FILE --name NAME`: runs one PgBouncer and steers it to the primary.</summary>
public static class PoolerCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var name = new Option<string>("--name") { Description = "the pooler (PgBouncer) to run", Required = true };
        var cmd = new Command("pooler", "run one PgBouncer and route it to the current primary and streaming replicas") { config, name };
        CommandAction.Set(cmd, (p, ct) => PoolerHost.RunAsync(ClusterLocator.Load(p.GetValue(config), dir: null), p.GetValue(name)!, ct));
        return cmd;
    }
}
