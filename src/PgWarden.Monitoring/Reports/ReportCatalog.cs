using PgWarden.Core.Errors;

namespace PgWarden.Monitoring.Reports;

/// <summary>
/// The runbook's monitoring and maintenance queries as named reports. Every query is bounded by
/// <c>@limit</c> (or returns one row per database/replica), addresses relations by OID and shows
/// them as <c>format('%I.%I', schema, name)</c>, so names needing quotes work.
/// </summary>
public static class ReportCatalog
{
    public static IReadOnlyList<ReportDefinition> All { get; } =
    [
        new("sizes",
            "database size, then the largest tables by total size with the heap/index/TOAST split (bytes)",
            ReportSql.Sizes),
        new("connections",
            "client connections in total, by state and by database/user, as a percentage of max_connections",
            ReportSql.Connections),
        new("waiting",
            "client backends and autovacuum workers waiting on something other than their client (wait_event_type not Activity/Client): locks, I/O, LWLocks, IPC, timeouts",
            ReportSql.Waiting),
        new("cache-hit",
            "heap and index buffer cache hit ratios (%) for the database, then per table, most disk reads first (aim for > 95 %)",
            ReportSql.CacheHit),
        new("index-usage",
            "index scans per index (pg_stat_user_indexes), most used first, with tuples read/fetched and size",
            ReportSql.IndexUsage),
        new("slow-queries",
            "pg_stat_statements by mean execution time, with calls, total time, share of all time and rows (--reset clears the statistics afterwards)",
            ReportSql.SlowQueries, RequiredExtension: "pg_stat_statements"),
        new("vacuum",
            "last manual/auto vacuum and analyze per table with live and dead tuples and the dead ratio, most dead tuples first",
            ReportSql.Vacuum),
        new("replication",
            "on a primary: each replica's state, lag in bytes (sent/write/flush/replay) and replay_lag in seconds, with its slot; on a replica: receive/replay LSN, whether replay is paused, lag in seconds",
            ReportSql.ReplicationPrimary, ReplicaSql: ReportSql.ReplicationReplica),
        new("unused-indexes",
            "valid indexes never scanned (idx_scan = 0) that are not unique, primary or backing a constraint, largest first",
            ReportSql.UnusedIndexes),
        new("duplicate-indexes",
            "indexes with the same table, method, key columns/expressions, operator classes and predicate as another ('duplicate'), and plain btree indexes whose columns are a leading prefix of another index ('redundant prefix')",
            ReportSql.DuplicateIndexes),
        new("invalid-indexes",
            "indexes marked invalid or not ready (a failed or interrupted CREATE INDEX CONCURRENTLY): rebuild with `pgwarden reindex --concurrently` or drop",
            ReportSql.InvalidIndexes),
        new("bloat",
            "tables and plain btree indexes of at least 1 MB with an estimated waste of at least 20 %: actual size vs. the size live rows need (from pg_stats widths and fillfactor); tables without statistics fall back to the dead-tuple ratio",
            ReportSql.Bloat),
        new("long-running",
            "active client queries running longer than --older-than (default 5m), oldest first",
            ReportSql.LongRunning, DefaultOlderThan: TimeSpan.FromMinutes(5)),
        new("blocking",
            "sessions waiting on a lock with each session blocking them (pg_blocking_pids), both queries, durations and the lock mode wanted",
            ReportSql.Blocking),
        new("wraparound",
            "transaction ID and multixact age per database, as a percentage of the 2^31 wraparound limit and of autovacuum_freeze_max_age / autovacuum_multixact_freeze_max_age",
            ReportSql.Wraparound),
        new("sequences",
            "sequences with their last value, limit and percentage of values used, most used first",
            ReportSql.Sequences),
    ];

    public static IEnumerable<string> Names => All.Select(r => r.Name);

    /// <summary>The report called <paramref name="name"/>; an unknown name is a configuration error listing the reports.</summary>
    public static ReportDefinition Get(string name) =>
        All.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.Ordinal))
        ?? throw new PgWardenException(ExitCodes.NotFound, $"unknown report '{name}' (reports: {string.Join(", ", Names)})");
}
