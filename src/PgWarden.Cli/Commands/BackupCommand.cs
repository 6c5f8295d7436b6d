using System.CommandLine;
using System.Text.Json;
using PgWarden.Backup.Physical;
using PgWarden.Cli.Runtime;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden backup physical|list …`: base backups into the repository and the catalog.</summary>
public static class BackupCommand
{
    public static Command Create()
    {
        var cmd = new Command("backup", "take, list, verify and prune backups in the cluster's backup repository");
        cmd.Subcommands.Add(Physical());
        cmd.Subcommands.Add(List());
        return cmd;
    }

    private static Command Physical()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var fromReplica = new Option<bool>("--from-replica") { Description = "copy from a streaming replica instead of the primary" };
        var wait = new Option<int>("--archive-wait") { Description = "seconds to wait for the WAL the backup needs to be archived", DefaultValueFactory = _ => 300 };
        var cmd = new Command("physical", "stream a base backup (pg_basebackup) zstd-compressed and checksummed into the repository; completes when its WAL is archived") { config, dir, fromReplica, wait };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            using var env = new BackupEnvironment(ClusterLocator.Load(p.GetValue(config), p.GetValue(dir)));
            var source = await env.SourceAsync(p.GetValue(fromReplica), ct);
            await using (source.NodeSql)
            await using (source.PrimarySql)
            {
                await new PhysicalBackup(env.Repository, env.Binaries, env.Launcher, Console.WriteLine).RunAsync(source, TimeSpan.FromSeconds(p.GetValue(wait)), ct);
            }
            return 0;
        });
        return cmd;
    }

    private static Command List()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var json = CommandAction.JsonOption();
        var cmd = new Command("list", "list the complete backups in the repository, oldest first") { config, dir, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            using var env = new BackupEnvironment(ClusterLocator.Load(p.GetValue(config), p.GetValue(dir)));
            var all = await env.Catalog.ListAsync(ct);
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(all.Select(m => new
                {
                    m.Id, m.Type, m.SystemId, m.SourceNode, m.StartTime, m.StopTime, m.DurationSeconds, m.Timeline, m.StartLsn, m.StopLsn,
                    m.Database, m.Format, m.Size, m.StoredSize, m.Verified,
                }), Backup.Catalog.BackupManifest.Json));
                return 0;
            }
            if (all.Count == 0)
            {
                Console.WriteLine($"no backups of cluster {env.Cluster.Name} in {env.Repository.Description}");
                return 0;
            }
            var table = new Table().AddColumns("id", "type", "started (UTC)", "duration", "WAL / database", "size", "stored", "verified");
            foreach (var m in all)
            {
                table.AddRow(m.Id, m.Type, $"{m.StartTime:yyyy-MM-dd HH:mm:ss}", $"{m.DurationSeconds:0.0} s",
                    Markup.Escape(m.Type == "physical" ? $"{m.StartLsn} … {m.StopLsn} (tl {m.Timeline})" : $"{m.Database} ({m.Format})"),
                    PgWarden.Backup.Progress.Mb(m.Size), PgWarden.Backup.Progress.Mb(m.StoredSize),
                    m.Verified is { } v ? $"{(v.Ok ? "ok" : "FAILED")} {v.Time:yyyy-MM-dd}{(v.RestoreTested ? " +restore" : "")}" : "-");
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }
}
