using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Agent;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden agent [--config FILE] --node NAME`: the long-running per-node daemon (configuration found like every command's, see <see cref="ConfigDiscovery"/>).</summary>
public static class AgentCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var node = new Option<string>("--node") { Description = "the node this agent owns", Required = true };
        var cmd = new Command("agent", "run the agent of one node (bootstraps, supervises and reports its PostgreSQL)") { config, node };
        CommandAction.Set(cmd, (p, ct) => AgentHost.RunAsync(ClusterLocator.Load(p.GetValue(config), dir: null), p.GetValue(node)!, ct));
        return cmd;
    }
}
