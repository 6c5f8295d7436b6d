using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden reinit NODE`: re-clone a replica from the leader; its old data directory is kept aside.</summary>
public static class ReinitCommand
{
    public static Command Create()
    {
        var node = new Argument<string>("node") { Description = "the replica to re-clone" };
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var cmd = new Command("reinit", "re-clone a replica from the leader (the old data directory is moved aside, not deleted)") { node, config, dir };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            var answer = await api.PostAsync("/reinit", null, cluster.Node(p.GetValue(node)!), ct);
            Console.WriteLine(answer.GetProperty("message").GetString());
            return 0;
        });
        return cmd;
    }
}
