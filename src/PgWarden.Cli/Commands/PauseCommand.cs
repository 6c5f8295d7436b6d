using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden pause` / `pgwarden resume`: switch automatic failover off and on (shown in status).</summary>
public static class PauseCommand
{
    public static Command Create(bool pause)
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var cmd = new Command(pause ? "pause" : "resume", pause ? "pause automatic failover (maintenance)" : "resume automatic failover") { config, dir };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            var answer = await api.PostAsync(pause ? "/pause" : "/resume", null, null, ct);
            Console.WriteLine(answer.GetProperty("message").GetString());
            return 0;
        });
        return cmd;
    }
}
