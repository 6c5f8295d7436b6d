using System.Diagnostics;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Physical;
using PgWarden.Core.Config;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Verify;

/// <summary>
/// Restores an unpacked physical backup the way `pgwarden restore --immediate` does (the
/// <see cref="Restorer"/>: archiving off, restore_command = wal-fetch, PostgreSQL as the server user
/// on a free loopback port), promoted at the end of the backup, then runs the sanity queries and stops it.
/// </summary>
public sealed class PhysicalRestoreTest(ClusterConfig cluster, Restorer restorer, PgBinaries bin, IToolRunner tools, Action<string> output)
{
    /// <summary>Settings for a throw-away copy: small, not durable, no background work.</summary>
    public static readonly IReadOnlyList<(string Name, string Value)> ScratchSettings =
    [
        ("shared_buffers", "128MB"),
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
        ("autovacuum", "off"),
        ("huge_pages", "off"),
    ];

    public async Task<string> RunAsync(BackupManifest backup, string dataDir, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        File.AppendAllText(Path.Combine(dataDir, "postgresql.auto.conf"),
            "\n# Restore test written by pgwarden backup verify: a small, non-durable throw-away copy\n"
            + string.Join("", ScratchSettings.Select(s => $"{s.Name} = {Core.Rendering.ConfValue.Pg(s.Value)}\n")));
        string? socketDir = null;
        try
        {
            // Along the backup's own timeline: the test proves the backup, wherever the archive's history went since.
            var target = new RecoveryTarget(null, null, null, null, Immediate: true, Action: "promote") { Timeline = backup.Timeline };
            var plan = await restorer.PlanAsync(backup, target, ct);
            var result = await restorer.RecoverAsync(backup, plan, target, dataDir, null, detached: false, timeout, ct);
            socketDir = result.SocketDir;
            var sanity = await SanityQueries.RunAsync(result.SocketDir, result.Port, cluster.Database.Superuser, cluster.Database.Name, expectPromoted: true, ct);
            return $"restored to the end of the backup and promoted in {clock.Elapsed.TotalSeconds:0.0} s; {sanity}";
        }
        finally
        {
            await restorer.StopServerAsync();
            await ScratchServer.StopAsync(tools, bin, dataDir, output);
            if (socketDir is not null && Directory.Exists(socketDir))
            {
                Directory.Delete(socketDir, recursive: true);
            }
        }
    }
}
