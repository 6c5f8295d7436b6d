using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden reinit NODE [--yes]`: re-clone a replica from the leader; its old data directory is kept aside.
/// Asks for confirmation on a terminal, needs --yes otherwise (<see cref="Confirmation"/>).
/// </summary>
public static class ReinitCommand
{
    public static Command Create()
    {
        var node = new Argument<string>("node") { Description = "the replica to re-clone" };
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var yes = CommandAction.YesOption("re-clone");
        var cmd = new Command("reinit", "re-clone a replica from the leader (the old data directory is moved aside, not deleted)") { node, config, dir, yes };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var target = cluster.Node(p.GetValue(node)!);
            var confirmation = Confirmation.For("reinit", p.GetValue(yes));
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            confirmation.Ask($"Re-clone {target.Name} from the leader (its data directory {target.DataDir} is moved aside)?");
            var answer = await api.PostAsync("/reinit", null, target, ct);
            Console.WriteLine(answer.GetProperty("message").GetString());
            return 0;
        });
        return cmd;
    }
}
