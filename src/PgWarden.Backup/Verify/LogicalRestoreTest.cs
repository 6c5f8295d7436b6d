using System.Diagnostics;
using Npgsql;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Logical;
using PgWarden.Backup.Repository;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Postgres.Sql;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Verify;

/// <summary>
/// Restores a logical backup with the code of `pgwarden restore-logical` (checksums verified,
/// pg_restore -j --exit-on-error --no-tablespaces, or psql for plain-gzip; the database recreated with
/// its owner, settings and ACL) into a database of its original name on a <see cref="ScratchInstance"/>,
/// after creating (NOLOGIN) the cluster's roles and every role the backup references; then compares the
/// content of every table with the backup's (<see cref="ContentComparison"/>) and runs the sanity queries.
/// </summary>
public sealed class LogicalRestoreTest(ClusterConfig cluster, IBackupRepository repository, PgBinaries bin, ProcessLauncher launcher, IToolRunner tools, Action<string> output)
{
    public const string NodeName = "restore-test";

    /// <summary>
    /// The scratch instance keeps data/ and server.log in <paramref name="scratch"/>, its socket in
    /// nodes/restore-test/run of <paramref name="sockets"/> (a short path in the temp directory:
    /// Unix socket paths are limited to 107 bytes, and the restore reaches the node there).
    /// </summary>
    public ScratchInstance Instance(ScratchDirectory scratch, ScratchDirectory sockets)
    {
        var node = ScratchNode(scratch, 0);
        return new ScratchInstance(bin, launcher, tools, node.DataDir, node.SocketDir(ScratchCluster(sockets)), scratch.Sub("server.log"), cluster.Database.Superuser, output);
    }

    private ClusterConfig ScratchCluster(ScratchDirectory sockets) => cluster with { BaseDir = sockets.Path };

    public async Task<string> RunAsync(BackupManifest backup, ScratchDirectory scratch, ScratchDirectory sockets, ScratchInstance instance, int jobs, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var database = backup.Database ?? throw new PgWardenException(ExitCodes.OperationFailed, $"the manifest of logical backup {backup.Id} names no database");
        var restore = new LogicalRestore(ScratchCluster(sockets), repository, bin, launcher, tools, output);
        var roles = await RolesAsync(backup, restore, scratch, ct);
        await CreateRolesAsync(instance, roles, ct);
        var node = ScratchNode(scratch, instance.Port);
        var staging = scratch.Sub("staging");
        await restore.StageAsync(backup, staging, ct);
        // The scratch instance has none of the source's tablespaces: everything goes to the default one.
        await restore.RestoreStagedAsync(backup, staging, node, database, new LogicalRestoreOptions(jobs, NoTablespaces: true), ct);
        var comparison = new ContentComparison(repository, bin, launcher);
        var content = await comparison.CompareAsync(await comparison.ExpectedAsync(backup, staging, ct), instance.SocketDir, instance.Port, cluster.Database.Superuser, database, ct);
        var sanity = await SanityQueries.RunAsync(instance.SocketDir, instance.Port, cluster.Database.Superuser, database, expectPromoted: false, ct);
        return $"restored into a scratch PostgreSQL in {clock.Elapsed.TotalSeconds:0.0} s; {content}; {sanity}";
    }

    private static NodeConfig ScratchNode(ScratchDirectory scratch, int port) => new(NodeName, "127.0.0.1", port, 0, scratch.Sub("data"), 0);

    /// <summary>
    /// The cluster's own roles and every role the backup references (database.json: owners, grantees,
    /// grantors, policy roles, default privileges); for backups without it, the owners in the dump's table of contents.
    /// </summary>
    private async Task<IReadOnlyList<string>> RolesAsync(BackupManifest backup, LogicalRestore restore, ScratchDirectory scratch, CancellationToken ct)
    {
        var roles = new SortedSet<string>(StringComparer.Ordinal) { cluster.Database.AppUser, cluster.Database.ReplicationUser, cluster.Database.PoolerAdminUser };
        if (await restore.PropertiesAsync(backup, ct) is { } properties)
        {
            roles.UnionWith(properties.Roles);
        }
        var toc = backup.Files.FirstOrDefault(f => f.Name == "dump/toc.dat.zst");
        if (backup.Format == "directory" && toc is not null)
        {
            var dir = scratch.Sub("toc");
            Directory.CreateDirectory(dir);
            var layout = new RepositoryLayout(backup.Cluster, backup.SystemId);
            await BackupFileStore.ReadVerifiedAsync(repository, layout.BackupFileKey(backup.Id, toc.Name), toc, async s =>
            {
                await using var f = File.Create(Path.Combine(dir, "toc.dat"));
                await s.CopyToAsync(f, ct);
            }, null, ct);
            var list = await tools.RunAsync(new ToolCommand(Path.Combine(bin.BinDir, "pg_restore"), ["-l", dir]) { AsServerUser = false }, ct);
            if (!list.Succeeded)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"pg_restore -l cannot read the table of contents of backup {backup.Id}: {list.Tail()}");
            }
            roles.UnionWith(DumpToc.Owners(list.StandardOutput));
        }
        roles.Remove(cluster.Database.Superuser);
        return [.. roles];
    }

    private async Task CreateRolesAsync(ScratchInstance instance, IReadOnlyList<string> roles, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder
        {
            Host = instance.SocketDir, Port = instance.Port, Username = cluster.Database.Superuser, Database = "postgres", Pooling = false, Timeout = 10,
        }.ConnectionString);
        await conn.OpenAsync(ct);
        foreach (var role in roles)
        {
            await using var cmd = new NpgsqlCommand($"CREATE ROLE {ClusterBootstrapSql.Quote(role)} NOLOGIN", conn);
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }
}
