namespace PgWarden.Cli.Runtime;

/// <summary>
/// The embedded default: three nodes on 127.0.0.1/.2/.3, two PgBouncers on 6432/6433, and backups — WAL
/// archiving and the runbook's schedules into a filesystem repository at &lt;cluster dir&gt;/backups.
/// </summary>
public static class DemoCluster
{
    public static string Yaml(string name = "demo") => Core.Config.DemoClusterConfig.Yaml(name);
}
