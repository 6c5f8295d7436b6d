using Npgsql;
using PgWarden.Core.Ha;
using PgWarden.Core.Units;

namespace PgWarden.Monitoring.Checks;

/// <summary>The runbook's maintenance checklist, each item OK/WARN/FAIL with a one-line reason.</summary>
public static class Checklist
{
    public static readonly string[] Periods = ["daily", "weekly", "monthly"];

    public static async Task<IReadOnlyList<CheckResult>> RunAsync(string period, NpgsqlConnection primary, ChecklistContext ctx, CancellationToken ct) => period switch
    {
        "daily" => await DailyAsync(primary, ctx, ct),
        "weekly" => await WeeklyAsync(primary, ctx, ct),
        "monthly" => await MonthlyAsync(primary, ctx, ct),
        _ => throw new ArgumentOutOfRangeException(nameof(period), period, "daily, weekly or monthly"),
    };

    private static async Task<IReadOnlyList<CheckResult>> DailyAsync(NpgsqlConnection conn, ChecklistContext ctx, CancellationToken ct)
    {
        var t = ctx.Thresholds;
        var results = new List<CheckResult>
        {
            BackupChecks.Backups(ctx.Backups, ctx.Now),
            BackupChecks.ArchivedWal(ctx.Backups),
        };
        foreach (var (name, node) in ctx.Nodes.OrderBy(n => n.Key, StringComparer.Ordinal))
        {
            if (node is null || node.Role == NodeRole.Primary)
            {
                if (node is null)
                {
                    results.Add(CheckResult.Fail($"replication {name}", "agent does not answer"));
                }
                continue;
            }
            var lag = node.ReplayLagSeconds ?? 0;
            results.Add(!node.IsStreamingReplica
                ? CheckResult.Fail($"replication {name}", $"not streaming (wal receiver: {node.WalReceiver ?? "none"}, state: {node.State})")
                : lag > t.ReplicationLagFailSeconds ? CheckResult.Fail($"replication {name}", $"replay lag {lag:0.0} s > {t.ReplicationLagFailSeconds} s")
                : lag > t.ReplicationLagWarnSeconds ? CheckResult.Warn($"replication {name}", $"replay lag {lag:0.0} s > {t.ReplicationLagWarnSeconds} s")
                : CheckResult.Ok($"replication {name}", $"streaming, replay lag {lag:0.0} s"));
        }

        var (used, max) = await Row<long, long>(conn,
            "SELECT count(*), current_setting('max_connections')::bigint FROM pg_stat_activity WHERE backend_type = 'client backend'", ct);
        var percent = 100.0 * used / max;
        var warnAt = (long)Math.Floor(max * t.ConnectionsWarnPercent / 100);
        results.Add(percent >= t.ConnectionsFailPercent ? CheckResult.Fail("connections", $"{used} of {max} connections ({percent:0}%)")
            : percent >= t.ConnectionsWarnPercent ? CheckResult.Warn("connections", $"{used} of {max} connections (warn at {warnAt})")
            : CheckResult.Ok("connections", $"{used} of {max} connections (warn at {warnAt})"));

        await using (var r = await Reader(conn, """
            SELECT current_setting('archive_mode'), failed_count, last_failed_time, last_archived_time,
                   last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time)
            FROM pg_stat_archiver
            """, ct))
        {
            await r.ReadAsync(ct);
            var mode = r.GetString(0);
            results.Add(ArchivingChecks.WalArchiving(mode, r.GetBoolean(4), r.GetInt64(1), ctx.Nodes));
        }

        var slots = new List<string>();
        var lost = new List<string>();
        await using (var r = await Reader(conn, "SELECT slot_name, active, coalesce(wal_status, '') FROM pg_replication_slots", ct))
        {
            while (await r.ReadAsync(ct))
            {
                if (r.GetString(2) == "lost")
                {
                    lost.Add(r.GetString(0));
                }
                else if (!r.GetBoolean(1))
                {
                    slots.Add(r.GetString(0));
                }
            }
        }
        results.Add(lost.Count > 0 ? CheckResult.Fail("replication slots", $"lost (WAL already removed): {string.Join(", ", lost)}")
            : slots.Count > 0 ? CheckResult.Warn("replication slots", $"inactive, retaining WAL: {string.Join(", ", slots)}")
            : CheckResult.Ok("replication slots", "every replication slot is in use"));
        return results;
    }

    private static async Task<IReadOnlyList<CheckResult>> WeeklyAsync(NpgsqlConnection conn, ChecklistContext ctx, CancellationToken ct)
    {
        var t = ctx.Thresholds;
        var results = new List<CheckResult>();
        var hasStatements = await Scalar<bool>(conn, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')", ct);
        if (!hasStatements)
        {
            results.Add(CheckResult.Fail("pg_stat_statements", "the extension is not installed in this database (run `pgwarden migrate`)"));
            results.Add(CheckResult.Warn("slow queries", "cannot be reviewed without pg_stat_statements"));
        }
        else
        {
            var (statements, slow) = await Row<long, long>(conn,
                $"SELECT count(*), count(*) FILTER (WHERE mean_exec_time > {t.SlowQueryMeanMs.ToString(System.Globalization.CultureInfo.InvariantCulture)}) FROM pg_stat_statements", ct);
            results.Add(CheckResult.Ok("pg_stat_statements", $"{statements} statements tracked (`pgwarden report slow-queries` lists them)"));
            results.Add(slow > 0
                ? CheckResult.Warn("slow queries", $"{slow} statements average over {t.SlowQueryMeanMs:0} ms (`pgwarden report slow-queries`)")
                : CheckResult.Ok("slow queries", $"no statement averages over {t.SlowQueryMeanMs:0} ms"));
        }
        var bloated = new List<string>();
        await using (var r = await Reader(conn, $"""
            SELECT format('%I.%I', schemaname, relname), n_dead_tup, round(100.0 * n_dead_tup / nullif(n_live_tup + n_dead_tup, 0))::int
            FROM pg_stat_user_tables
            WHERE n_dead_tup >= {t.DeadTupleMinimum} AND 100.0 * n_dead_tup / nullif(n_live_tup + n_dead_tup, 0) >= {t.DeadTupleWarnPercent}
            ORDER BY n_dead_tup DESC LIMIT 10
            """, ct))
        {
            while (await r.ReadAsync(ct))
            {
                bloated.Add($"{r.GetString(0)} ({r.GetInt32(2)}% dead)");
            }
        }
        results.Add(bloated.Count > 0
            ? CheckResult.Warn("bloat", $"tables with many dead rows: {string.Join(", ", bloated)} (`pgwarden vacuum --table …`)")
            : CheckResult.Ok("bloat", $"no table over {t.DeadTupleWarnPercent:0}% dead rows"));
        results.Add(BackupChecks.RestoreTest(ctx.Backups, ctx.Now));
        return results;
    }

    private static async Task<IReadOnlyList<CheckResult>> MonthlyAsync(NpgsqlConnection conn, ChecklistContext ctx, CancellationToken ct)
    {
        var t = ctx.Thresholds;
        var results = new List<CheckResult>();
        var stale = new List<string>();
        await using (var r = await Reader(conn, $"""
            SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables
            WHERE (last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup >= 1000)
               OR n_mod_since_analyze > greatest(50, {t.StaleAnalyzePercent.ToString(System.Globalization.CultureInfo.InvariantCulture)} / 100.0 * n_live_tup)
            ORDER BY n_mod_since_analyze DESC LIMIT 10
            """, ct))
        {
            while (await r.ReadAsync(ct))
            {
                stale.Add(r.GetString(0));
            }
        }
        results.Add(stale.Count > 0
            ? CheckResult.Warn("statistics", $"stale statistics, run ANALYZE: {string.Join(", ", stale)} (`pgwarden vacuum --analyze`)")
            : CheckResult.Ok("statistics", "every table's statistics are recent"));

        var invalid = await Scalar<long>(conn, "SELECT count(*) FROM pg_index WHERE NOT indisvalid OR NOT indisready", ct);
        results.Add(invalid > 0
            ? CheckResult.Fail("reindex", $"{invalid} invalid index(es) to rebuild (`pgwarden report invalid-indexes`, `pgwarden reindex --concurrently`)")
            : CheckResult.Ok("reindex", "no invalid index"));

        var (unused, unusedBytes) = await Row<long, long>(conn, """
            SELECT count(*), coalesce(sum(pg_relation_size(s.indexrelid)), 0)::bigint
            FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
            WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
            """, ct);
        results.Add(unused > 0
            ? CheckResult.Warn("index review", $"{unused} index(es) never scanned since statistics were reset ({ByteSize.Human(unusedBytes)}; `pgwarden report unused-indexes`)")
            : CheckResult.Ok("index review", "every index has been used"));

        var (xidAge, dbBytes) = await Row<long, long>(conn,
            "SELECT (SELECT max(age(datfrozenxid)) FROM pg_database)::bigint, pg_database_size(current_database())", ct);
        results.Add(xidAge >= t.XidAgeFail ? CheckResult.Fail("wraparound", $"oldest transaction ID age {xidAge:N0}")
            : xidAge >= t.XidAgeWarn ? CheckResult.Warn("wraparound", $"oldest transaction ID age {xidAge:N0}")
            : CheckResult.Ok("wraparound", $"oldest transaction ID age {xidAge:N0} of 2,147,483,647"));

        SizeHistory.Append(ctx.SizeHistoryFile, ctx.Now, dbBytes);
        results.Add(Capacity(SizeHistory.Read(ctx.SizeHistoryFile), dbBytes, ctx));
        return results;
    }

    /// <summary>Days until the data directory's disk is full at the recorded growth rate.</summary>
    public static CheckResult Capacity(IReadOnlyList<(DateTimeOffset At, long Bytes)> history, long currentBytes, ChecklistContext ctx)
    {
        var growth = SizeHistory.GrowthPerDay(history, ctx.Now, TimeSpan.FromDays(90));
        long? free = null;
        if (ctx.LocalDataDir is { } dir && Directory.Exists(dir))
        {
            free = new DriveInfo(dir).AvailableFreeSpace;
        }
        var size = $"database {ByteSize.Human(currentBytes)}";
        if (growth is null)
        {
            return CheckResult.Ok("capacity", $"{size}; growth rate not known yet ({history.Count} size sample(s); every `check monthly` run records one)");
        }
        var rate = $"growing {ByteSize.Human((long)growth.Value)}/day";
        if (free is null)
        {
            return CheckResult.Ok("capacity", $"{size}, {rate}; free disk space of the primary is not visible from this host");
        }
        if (growth <= 0)
        {
            return CheckResult.Ok("capacity", $"{size}, not growing; {ByteSize.Human(free.Value)} free");
        }
        var days = free.Value / growth.Value;
        var t = ctx.Thresholds;
        var reason = $"{size}, {rate}; {ByteSize.Human(free.Value)} free: full in about {days:0} days";
        return days < t.DiskFullFailDays ? CheckResult.Fail("capacity", reason)
            : days < t.DiskFullWarnDays ? CheckResult.Warn("capacity", reason)
            : CheckResult.Ok("capacity", reason);
    }

    private static async Task<NpgsqlDataReader> Reader(NpgsqlConnection conn, string sql, CancellationToken ct) =>
        await new NpgsqlCommand(sql, conn).ExecuteReaderAsync(ct);

    private static async Task<T> Scalar<T>(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task<(TA, TB)> Row<TA, TB>(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var r = await Reader(conn, sql, ct);
        await r.ReadAsync(ct);
        return (r.GetFieldValue<TA>(0), r.GetFieldValue<TB>(1));
    }
}
