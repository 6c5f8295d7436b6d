using System.CommandLine;
using PgWarden.Agent;
using PgWarden.Core.Config;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden agent --config FILE --node NAME`: the long-running per-node daemon.</summary>
public static class AgentCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c") { Description = "cluster configuration file", Required = true };
        var node = new Option<string>("--node") { Description = "the node this agent owns", Required = true };
        var cmd = new Command("agent", "run the agent of one node (bootstraps, supervises and reports its PostgreSQL)") { config, node };
        CommandAction.Set(cmd, (p, ct) => AgentHost.RunAsync(ConfigLoader.LoadFile(p.GetValue(config)!), p.GetValue(node)!, ct));
        return cmd;
    }
}
