using System.Diagnostics;
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

    public async Task<string> RunAsync(string dataDir, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        File.AppendAllText(Path.Combine(dataDir, "postgresql.auto.conf"),
            "\n# Restore test written by pgwarden backup verify: a small, non-durable throw-away copy\n"
            + string.Join("", ScratchSettings.Select(s => $"{s.Name} = {Core.Rendering.ConfValue.Pg(s.Value)}\n")));
        var port = Restorer.FreePort();
        var socketDir = Restorer.SocketDirFor(port);
        var socketDirWasThere = Directory.Exists(socketDir);
        try
        {
            var target = new RecoveryTarget(null, null, null, null, Immediate: true, Action: "promote");
            var result = await restorer.RecoverAsync(target, dataDir, port, timeout, ct);
            var sanity = await SanityQueries.RunAsync(result.SocketDir, result.Port, cluster.Database.Superuser, cluster.Database.Name, expectPromoted: true, ct);
            return $"restored to the end of the backup and promoted in {clock.Elapsed.TotalSeconds:0.0} s; {sanity}";
        }
        finally
        {
            await ScratchServer.StopAsync(tools, bin, dataDir, output);
            if (!socketDirWasThere && Directory.Exists(socketDir))
            {
                Directory.Delete(socketDir, recursive: true);
            }
        }
    }
}
