using System.CommandLine;
using System.Text.Json;
using Npgsql;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Api;
using PgWarden.Core.Security;
using PgWarden.Monitoring.Diagnosis;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden diagnose replication-lag|disk`: explains, suggests, and never deletes anything.</summary>
public static class DiagnoseCommand
{
    public static Command Create()
    {
        var topic = new Argument<string>("topic") { Description = "replication-lag or disk" };
        topic.AcceptOnlyFromAmong("replication-lag", "disk");
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var json = CommandAction.JsonOption();
        var cmd = new Command("diagnose", "explain replication lag or disk use, with what to do (read-only)") { topic, config, dir, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var secrets = ClusterSecrets.Load(cluster.SecretsFile);
            var primary = await PrimaryLocator.FindAsync(cluster, ct);
            await using var source = PrimaryLocator.Superuser(cluster, primary, secrets, "postgres");
            await using var conn = await source.OpenConnectionAsync(ct);
            IReadOnlyList<Finding> findings;
            if (p.GetValue(topic) == "disk")
            {
                findings = await Diagnoser.DiskAsync(conn, Directory.Exists(primary.DataDir) ? primary.DataDir : null, ct);
            }
            else
            {
                var nodes = await new AgentClient(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(3), cluster)).GetAllAsync(cluster.Nodes, ct);
                var replicaSources = new List<NpgsqlDataSource>();
                try
                {
                    findings = await Diagnoser.ReplicationLagAsync(conn, nodes, async (name, token) =>
                    {
                        var replicaSource = PrimaryLocator.Superuser(cluster, cluster.Node(name), secrets, "postgres");
                        replicaSources.Add(replicaSource);
                        try
                        {
                            return await replicaSource.OpenConnectionAsync(token);
                        }
                        catch (NpgsqlException)
                        {
                            return null;
                        }
                    }, ct);
                }
                finally
                {
                    foreach (var s in replicaSources)
                    {
                        await s.DisposeAsync();
                    }
                }
            }
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { diagnosis = p.GetValue(topic), primary = primary.Name, findings }, Json.Options));
                return 0;
            }
            var table = new Table().AddColumns("subject", "observation", "suggestion");
            foreach (var f in findings)
            {
                table.AddRow(Markup.Escape(f.Subject), Markup.Escape(f.Observation), Markup.Escape(f.Suggestion ?? "-"));
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }
}
