using System.CommandLine;
using PgWarden.Agent;
using PgWarden.Core.Config;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden dcs-server --config FILE`: the embedded etcd of a one-machine cluster (started by `up`).</summary>
public static class DcsServerCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c") { Description = "cluster configuration file", Required = true };
        var cmd = new Command("dcs-server", "run the cluster's embedded single-member etcd (the demo's DCS)") { config };
        CommandAction.Set(cmd, (p, ct) => DcsServerHost.RunAsync(ConfigLoader.LoadFile(p.GetValue(config)!), ct));
        return cmd;
    }
}
