using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Config;
using PgWarden.Core.Security;
using PgWarden.Postgres.Schema;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden migrate`: the BookReader schema and the runbook's indexes, idempotently, on the primary.</summary>
public static class MigrateCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var json = CommandAction.JsonOption();
        var cmd = new Command("migrate", "create the BookReader schema and build the runbook's indexes CONCURRENTLY (safe to rerun)") { config, dir, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var (node, result) = await RunAsync(cluster, Console.WriteLine, ct);
            return JsonOutput.Result(0, new
            {
                node, tables_created = result.TablesCreated, indexes_built = result.IndexesBuilt, indexes_repaired = result.IndexesRepaired, indexes_kept = result.IndexesKept,
            });
        });
        return cmd;
    }

    /// <summary>Migrates the schema on the primary; returns the primary's name and what was done.</summary>
    public static async Task<(string Node, SchemaMigrator.Result Result)> RunAsync(ClusterConfig cluster, Action<string> output, CancellationToken ct)
    {
        var secrets = ClusterSecrets.Load(cluster.SecretsFile);
        var primary = await PrimaryLocator.FindAsync(cluster, ct);
        await using var source = PrimaryLocator.Superuser(cluster, primary, secrets, cluster.Database.Name);
        var result = await new SchemaMigrator(source, cluster.Database.AppUser).MigrateAsync(m => output("  " + m), ct);
        output($"schema on {primary.Name}: {result.TablesCreated} tables created, {result.IndexesBuilt.Count} indexes built, " +
               $"{result.IndexesRepaired.Count} invalid indexes rebuilt, {result.IndexesKept.Count} indexes already valid");
        return (primary.Name, result);
    }
}
