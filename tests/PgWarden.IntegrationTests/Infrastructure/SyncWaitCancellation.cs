using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>
/// PostgreSQL's answer to a commit whose wait for a synchronous standby was cancelled (a driver's
/// command timeout, statement_timeout, pg_cancel_backend): the COMMIT succeeds with the WARNING
/// "canceling wait for synchronous replication due to user request" and the DETAIL "The transaction
/// has already committed locally, but might not have been replicated to the standby" (syncrep.c,
/// SyncRepWaitForLSN). Such a write is not acknowledged as durable, and a failover may lose it —
/// PostgreSQL's behaviour, the same under any HA tool; the probes count it apart.
/// </summary>
public static class SyncWaitCancellation
{
    public static bool Is(PostgresNotice notice) =>
        notice.MessageText.StartsWith("canceling wait for synchronous replication", StringComparison.Ordinal);
}
