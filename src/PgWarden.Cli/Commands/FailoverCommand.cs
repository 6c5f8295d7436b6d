using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden failover --to NODE`: promote a replica when there is no healthy leader.</summary>
public static class FailoverCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var to = new Option<string>("--to") { Description = "the replica to promote", Required = true };
        var cmd = new Command("failover", "manual failover to NODE when there is no healthy leader") { config, dir, to };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            var answer = await api.PostAsync("/failover", new { candidate = p.GetValue(to) }, null, ct);
            Console.WriteLine(answer.GetProperty("message").GetString());
            return 0;
        });
        return cmd;
    }
}
