namespace PgWarden.Core.Ha;

/// <summary>
/// The settings a hot standby must have at least as high as its primary had when it wrote the WAL
/// being replayed (PostgreSQL docs, "Hot Standby" → Administrator's Overview: max_connections,
/// max_prepared_transactions, max_locks_per_transaction, max_wal_senders, max_worker_processes).
/// PostgreSQL records the primary's values in pg_control and refuses to start (or pauses replay)
/// with lower ones.
/// </summary>
public sealed record HotStandbySettings(int MaxConnections, int MaxWorkerProcesses, int MaxWalSenders, int MaxPreparedTransactions, int MaxLocksPerTransaction)
{
    /// <summary>The parameter names, in PostgreSQL's spelling, with their values.</summary>
    public IEnumerable<(string Name, int Value)> Parameters =>
    [
        ("max_connections", MaxConnections),
        ("max_worker_processes", MaxWorkerProcesses),
        ("max_wal_senders", MaxWalSenders),
        ("max_prepared_transactions", MaxPreparedTransactions),
        ("max_locks_per_transaction", MaxLocksPerTransaction),
    ];

    /// <summary>Each setting at the higher of the two.</summary>
    public HotStandbySettings Max(HotStandbySettings other) => new(
        Math.Max(MaxConnections, other.MaxConnections),
        Math.Max(MaxWorkerProcesses, other.MaxWorkerProcesses),
        Math.Max(MaxWalSenders, other.MaxWalSenders),
        Math.Max(MaxPreparedTransactions, other.MaxPreparedTransactions),
        Math.Max(MaxLocksPerTransaction, other.MaxLocksPerTransaction));

    /// <summary>True when every setting is at least the one in <paramref name="required"/>.</summary>
    public bool Covers(HotStandbySettings required) => Max(required) == this;

    /// <summary>The settings of <paramref name="required"/> this one is below, e.g. "max_connections 50 &lt; 100".</summary>
    public string ShortfallAgainst(HotStandbySettings required) =>
        string.Join(", ", Parameters.Zip(required.Parameters).Where(p => p.First.Value < p.Second.Value)
            .Select(p => $"{p.First.Name} {p.First.Value} < {p.Second.Value}"));
}
