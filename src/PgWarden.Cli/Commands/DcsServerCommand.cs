using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Agent;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden dcs-server --config FILE`: the embedded etcd of a one-machine cluster (started by `up`).</summary>
public static class DcsServerCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var cmd = new Command("dcs-server", "run the cluster's embedded single-member etcd (the demo's DCS)") { config };
        CommandAction.Set(cmd, (p, ct) => DcsServerHost.RunAsync(ClusterLocator.Load(p.GetValue(config), dir: null), ct));
        return cmd;
    }
}
