using Npgsql;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Rendering;
using PgWarden.Core.Security;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;
using PgWarden.Core.Processes;

namespace PgWarden.Postgres;

/// <summary>
/// One node's PostgreSQL on this host: its data directory, configuration files, initdb, cloning
/// and the postmaster process. Never deletes a data directory: anything in the way is refused or
/// moved aside.
/// </summary>
public sealed class PostgresNode(ClusterConfig cluster, NodeConfig node, PgBinaries bin, ProcessLauncher launcher, IToolRunner tools)
{
    public NodeConfig Node => node;

    public string DataDir => node.DataDir;

    public string HomeDir => node.HomeDir(cluster);

    public string SocketDir => node.SocketDir(cluster);

    public OsUser ServerUser => launcher.ServerUser;

    /// <summary>The system identifier this node's data belongs to, recorded when it was created or cloned.</summary>
    private string SystemIdFile => Path.Combine(HomeDir, "system-identifier");

    public string PassFile => Path.Combine(HomeDir, "replication.pgpass");

    public string ServerLog => Path.Combine(HomeDir, "postgres.log");

    public void PrepareDirectories()
    {
        DirectoryAccess.EnsureTraversable(HomeDir, ServerUser);
        DirectoryAccess.CreatePrivate(HomeDir, ServerUser);
        DirectoryAccess.CreatePrivate(SocketDir, ServerUser);
        File.SetUnixFileMode(SocketDir, (UnixFileMode)0b111_101_101);
        DirectoryAccess.EnsureTraversable(DataDir, ServerUser);
        if (cluster.Backup is { Repository: RepositoryKind.Fs, Path: { } repository } && !Directory.Exists(repository))
        {
            // archive_command runs as the server user: the repository must be its own.
            DirectoryAccess.EnsureTraversable(repository, ServerUser);
            DirectoryAccess.CreatePrivate(repository, ServerUser);
        }
    }

    /// <summary>Classifies the data directory; refuses one that is not this node's.</summary>
    public async Task<LocalDataState> InspectDataAsync(CancellationToken ct)
    {
        if (!Directory.Exists(DataDir) || !Directory.EnumerateFileSystemEntries(DataDir).Any())
        {
            return LocalDataState.Empty;
        }
        if (!File.Exists(Path.Combine(DataDir, "PG_VERSION")))
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"data directory {DataDir} of node {node.Name} is not empty and is not a PostgreSQL data directory; refusing to touch it (move it away or set data_dir)");
        }
        var actual = await ReadSystemIdentifierAsync(ct);
        var recorded = File.Exists(SystemIdFile) ? (await File.ReadAllTextAsync(SystemIdFile, ct)).Trim() : null;
        if (recorded is null || recorded != actual)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"data directory {DataDir} holds a PostgreSQL cluster (system identifier {actual}) that is not node {node.Name} of cluster {cluster.Name}; refusing to touch it (move it away or set data_dir)");
        }
        return File.Exists(Path.Combine(DataDir, "standby.signal")) ? LocalDataState.Standby : LocalDataState.Primary;
    }

    public async Task<string> ReadSystemIdentifierAsync(CancellationToken ct) => (await ReadControlDataAsync(ct)).SystemIdentifier;

    /// <summary>pg_controldata of the data directory: shutdown state, last checkpoint, hot-standby settings.</summary>
    public async Task<ControlData> ReadControlDataAsync(CancellationToken ct)
    {
        var result = await tools.RunAsync(new ToolCommand(bin.PgControlData, ["-D", DataDir]), ct);
        if (!result.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"pg_controldata failed on {DataDir}: {result.Tail()}");
        }
        try
        {
            return ControlData.Parse(result.StandardOutput);
        }
        catch (FormatException e)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"reading the control data of {DataDir}: {e.Message}");
        }
    }

    private async Task RecordSystemIdentifierAsync(CancellationToken ct) =>
        await File.WriteAllTextAsync(SystemIdFile, await ReadSystemIdentifierAsync(ct) + "\n", ct);

    /// <summary>initdb with data checksums, UTF-8 and SCRAM; the superuser password is set later as a SCRAM secret.</summary>
    public async Task InitDbAsync(CancellationToken ct)
    {
        DirectoryAccess.CreatePrivate(DataDir, ServerUser);
        var result = await tools.RunAsync(new ToolCommand(bin.InitDb,
        [
            "-D", DataDir, "--data-checksums", "--encoding=UTF8", "--locale=C.UTF-8",
            "--username=" + cluster.Database.Superuser, "--auth-local=peer", "--auth-host=scram-sha-256",
        ]) { Timeout = TimeSpan.FromMinutes(5) }, ct);
        if (!result.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"initdb of node {node.Name} failed: {result.Tail()}");
        }
        await RecordSystemIdentifierAsync(ct);
    }

    /// <summary>
    /// pg_basebackup -Xs -R -S into a staging directory that becomes the data directory only when
    /// complete. The replication password comes from the 0600 passfile, never the command line.
    /// </summary>
    public async Task CloneAsync(NodeConfig source, CancellationToken ct)
    {
        var staging = DataDir + ".cloning";
        if (Directory.Exists(staging))
        {
            var aside = $"{staging}.interrupted-{DateTime.UtcNow:yyyyMMddHHmmssfff}";
            Directory.Move(staging, aside);
        }
        DirectoryAccess.CreatePrivate(staging, ServerUser);
        var result = await tools.RunAsync(new ToolCommand(bin.PgBaseBackup,
        [
            "-h", source.Address, "-p", source.Port.ToString(), "-U", cluster.Database.ReplicationUser,
            "-D", staging, "-Fp", "-Xs", "-R", "-S", node.SlotName, "--checkpoint=fast", "--no-password",
        ])
        {
            Environment = new Dictionary<string, string>(Tls.ClientTls.LibpqEnvironment(cluster)) { ["PGPASSFILE"] = PassFile, ["PGAPPNAME"] = node.Name, ["PGCONNECT_TIMEOUT"] = "10" },
            Timeout = TimeSpan.FromHours(12),
        }, ct);
        if (!result.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"cloning node {node.Name} from {source.Name} failed: {result.Tail()}");
        }
        // -R wrote primary_conninfo into postgresql.auto.conf; PgWarden renders it itself (with a
        // passfile, never a password), so drop those lines and keep standby.signal.
        var autoConf = Path.Combine(staging, "postgresql.auto.conf");
        if (File.Exists(autoConf))
        {
            var kept = File.ReadAllLines(autoConf).Where(l => !l.StartsWith("primary_conninfo", StringComparison.Ordinal) && !l.StartsWith("primary_slot_name", StringComparison.Ordinal));
            DirectoryAccess.WriteOwnedFile(autoConf, string.Join('\n', kept) + "\n", ServerUser);
        }
        if (Directory.Exists(DataDir))
        {
            // Only an empty directory can be here (InspectDataAsync refuses anything else).
            Directory.Delete(DataDir, recursive: false);
        }
        Directory.Move(staging, DataDir);
        await RecordSystemIdentifierAsync(ct);
    }

    /// <summary>Writes the passfile the replica (and pg_basebackup) read the replication password from.</summary>
    public void WritePassFile(ClusterSecrets secrets)
    {
        // Replication (streaming, pg_basebackup) and the superuser (pg_rewind reads from the new primary).
        var lines = cluster.Nodes.SelectMany(n => new[]
        {
            $"{Escape(n.Address)}:{n.Port}:replication:{cluster.Database.ReplicationUser}:{Escape(secrets.ReplicationPassword)}",
            $"{Escape(n.Address)}:{n.Port}:*:{cluster.Database.Superuser}:{Escape(secrets.SuperuserPassword)}",
        });
        DirectoryAccess.WriteOwnedFile(PassFile, string.Join('\n', lines) + "\n", ServerUser);
        static string Escape(string s) => s.Replace("\\", "\\\\").Replace(":", "\\:");
    }

    /// <summary>Writes postgresql.conf, pg_hba.conf, pg_ident.conf (and standby.signal for a replica, with or without upstream).</summary>
    public void WriteConfiguration(NodeRenderContext ctx, bool standby)
    {
        foreach (var file in NodeConfigFiles.Render(ctx))
        {
            DirectoryAccess.WriteOwnedFile(Path.Combine(DataDir, file.Name), file.Content, ServerUser);
        }
        if (standby || ctx.Upstream is not null)
        {
            MarkStandby();
            // A promote.signal left by a promotion that was abandoned would promote the replica at start.
            File.Delete(Path.Combine(DataDir, "promote.signal"));
        }
    }

    /// <summary>Removes standby.signal, so the next start is as a primary (only after taking the lease).</summary>
    public void ClearStandbySignal() => File.Delete(Path.Combine(DataDir, "standby.signal"));

    /// <summary>Starts the postmaster in the foreground as a child of this process.</summary>
    public ServerProcess StartServer()
    {
        if (PostmasterPidFile.LivePostmaster(DataDir) is { } pid)
        {
            throw new PgWardenException(ExitCodes.AlreadyRunning,
                $"PostgreSQL of node {node.Name} is already running (postmaster PID {pid}) without its agent; stop it first (pg_ctl stop -D {DataDir})");
        }
        // SIGQUIT on agent death: immediate shutdown, the postmaster takes every backend down with it.
        return ServerProcess.Start(launcher, new ToolCommand(bin.Postgres, ["-D", DataDir]) { ParentDeathSignal = "SIGQUIT" }, ServerLog);
    }

    /// <summary>
    /// Promotes this replica: it leaves recovery on a new timeline. pg_promote(wait => false) and then
    /// pg_is_in_recovery() every 10 ms (pg_ctl promote -w and pg_promote(wait => true) both look only
    /// every 100 ms — PostgreSQL's WAITS_PER_SEC — and a switchover's clients wait for this). Falls
    /// back to pg_ctl promote -w when the server takes no connection. Throws
    /// <see cref="PgWardenException"/> (OperationFailed) when promotion fails or takes over 30 s.
    /// </summary>
    public async Task PromoteAsync(CancellationToken ct)
    {
        var signalled = false;
        try
        {
            // A connection of its own, never a pooled one: promotions are minutes or days apart, and an
            // idle pooled connection from before PostgreSQL last restarted fails its first write
            // ("Exception while writing to stream"), which failed every second promotion of an agent.
            await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(LocalConnectionString()) { Pooling = false }.ConnectionString);
            await conn.OpenAsync(ct);
            signalled = true;
            await using (var promote = new NpgsqlCommand("SELECT pg_promote(wait => false)", conn))
            {
                // false: the postmaster could not be signalled (PostgreSQL's pg_promote()); fail now, not after 30 s.
                if (await promote.ExecuteScalarAsync(ct) is false)
                {
                    throw new PgWardenException(ExitCodes.OperationFailed, $"promoting node {node.Name} failed: pg_promote() could not signal the postmaster");
                }
            }
            await using var inRecovery = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while ((bool)(await inRecovery.ExecuteScalarAsync(ct))!)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new PgWardenException(ExitCodes.OperationFailed, $"promoting node {node.Name} failed: still in recovery 30 s after pg_promote()");
                }
                await Task.Delay(10, ct);
            }
            return;
        }
        catch (NpgsqlException e) when (!signalled && (e is not PostgresException || e is PostgresException { SqlState: PostgresErrorCodes.CannotConnectNow }))
        {
            // No connection (refused, or 57P03 "the database system is not yet accepting connections":
            // hot_standby off or not yet consistent): pg_ctl signals the postmaster instead.
        }
        catch (NpgsqlException e) when (e is not PostgresException)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"promoting node {node.Name}: lost the connection while it left recovery: {e.Message}");
        }
        catch (PostgresException e)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"promoting node {node.Name} failed: {e.MessageText}");
        }
        var result = await tools.RunAsync(new ToolCommand(bin.PgCtl, ["promote", "-D", DataDir, "-w", "-t", "30"]) { Timeout = TimeSpan.FromSeconds(40) }, ct);
        if (!result.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"promoting node {node.Name} failed: {result.Tail()}");
        }
    }

    /// <summary>
    /// pg_rewind from <paramref name="source"/> (the new primary) after this node was stopped.
    /// PostgreSQL 13+ runs crash recovery itself first if it was not shut down cleanly; with a backup
    /// repository, WAL missing from pg_wal is fetched from the archive (--restore-target-wal).
    /// With TLS on it connects with sslmode=verify-full against the cluster CA.
    /// </summary>
    public async Task<ToolResult> RewindAsync(NodeConfig source, CancellationToken ct)
    {
        var conninfo = $"host={ConfValue.Conninfo(source.Address)} port={source.Port} user={cluster.Database.Superuser} dbname=postgres " +
                       $"passfile={ConfValue.Conninfo(PassFile)} {cluster.Tls.LibpqOptions(ConfValue.Conninfo)} connect_timeout=5";
        List<string> args = ["--target-pgdata", DataDir, "--source-server", conninfo, "--progress"];
        if (cluster.Backup is not null)
        {
            args.Add("--restore-target-wal");
        }
        return await tools.RunAsync(new ToolCommand(bin.PgRewind, args) { Timeout = TimeSpan.FromHours(2) }, ct);
    }

    /// <summary>Moves the data directory aside (never deletes it) so the node can be re-cloned; returns where it went.</summary>
    public string MoveDataAside(string why)
    {
        var aside = $"{DataDir}.{why}-{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        Directory.Move(DataDir, aside);
        return aside;
    }

    /// <summary>Data directories set aside by <see cref="MoveDataAside"/> (and interrupted clones), newest first, with their size in bytes.</summary>
    public IReadOnlyList<(string Path, long Bytes)> AsideCopies()
    {
        var parent = Path.GetDirectoryName(DataDir)!;
        var prefix = Path.GetFileName(DataDir) + ".";
        if (!Directory.Exists(parent))
        {
            return [];
        }
        // Filter by name, not by the pattern "data.*": .NET matches that pattern Windows-style, and
        // it would match "data" itself.
        return Directory.EnumerateDirectories(parent)
            .Where(d => Path.GetFileName(d).StartsWith(prefix, StringComparison.Ordinal) && Path.GetFileName(d).Length > prefix.Length)
            .Where(d => !d.EndsWith(".cloning", StringComparison.Ordinal))
            .Select(d => new DirectoryInfo(d))
            .OrderByDescending(d => d.CreationTimeUtc).ThenByDescending(d => d.Name, StringComparer.Ordinal)
            .Select(d => (d.FullName, DirectoryAccess.SizeOf(d)))
            .ToList();
    }

    /// <summary>Deletes the set-aside copies beyond the newest <paramref name="keep"/>; returns their paths. Never the data directory.</summary>
    public IReadOnlyList<string> PruneAsideCopies(int keep)
    {
        var removed = new List<string>();
        var data = Path.TrimEndingDirectorySeparator(Path.GetFullPath(DataDir));
        foreach (var (path, _) in AsideCopies().Skip(keep))
        {
            if (Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)) == data)
            {
                throw new InvalidOperationException($"refusing to delete the data directory {path} as a set-aside copy");
            }
            Directory.Delete(path, recursive: true);
            removed.Add(path);
        }
        return removed;
    }

    /// <summary>Marks the data directory as a standby (standby.signal), e.g. before restarting a demoted primary read-only.</summary>
    public void MarkStandby()
    {
        var signal = Path.Combine(DataDir, "standby.signal");
        if (!File.Exists(signal))
        {
            DirectoryAccess.WriteOwnedFile(signal, "", ServerUser);
        }
    }

    public bool IsMarkedStandby => File.Exists(Path.Combine(DataDir, "standby.signal"));

    public string LocalConnectionString(string database = "postgres") =>
        $"Host={SocketDir};Port={node.Port};Username={cluster.Database.Superuser};Database={database};" +
        "Timeout=5;Command Timeout=10;Pooling=true;Maximum Pool Size=4;Application Name=pgwarden-agent";
}
