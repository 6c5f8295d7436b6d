namespace PgWarden.Core.Dcs;

/// <summary>The cluster's dynamic settings, kept in the DCS so every agent applies the same ones.</summary>
public sealed record DcsConfig
{
    /// <summary>
    /// Leader lease time-to-live in seconds (default 5: with the fence watchdog a deposed primary stops
    /// writing 1 s before its lease can expire, so a short lease is safe; see docs/ha-safety.md).
    /// </summary>
    public int Ttl { get; init; } = 5;

    /// <summary>Seconds between two HA loop cycles.</summary>
    public int LoopWait { get; init; } = 1;

    /// <summary>A replica further behind the leader than this (bytes) never takes over.</summary>
    public long MaximumLagOnFailover { get; init; } = 1024 * 1024;

    public bool SynchronousMode { get; init; }

    /// <summary>No automatic failover while paused.</summary>
    public bool Paused { get; init; }

    /// <summary>
    /// PostgreSQL parameters set cluster-wide with `pgwarden config apply` (Patroni's dynamic
    /// `postgresql.parameters`): every agent renders them into its postgresql.conf after the file's
    /// `postgres.parameters` (so they win), reloads, and a node that was down gets them when it starts.
    /// Names are PostgreSQL's, values its text form (e.g. "16MB").
    /// </summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Value equality, the parameters compared by content.</summary>
    public bool Equals(DcsConfig? other) =>
        other is not null && Ttl == other.Ttl && LoopWait == other.LoopWait && MaximumLagOnFailover == other.MaximumLagOnFailover
        && SynchronousMode == other.SynchronousMode && Paused == other.Paused && PgWarden.Core.Parameters.DynamicParameters.SameAs(Parameters, other.Parameters);

    public override int GetHashCode() => HashCode.Combine(Ttl, LoopWait, MaximumLagOnFailover, SynchronousMode, Paused, Parameters.Count);
}

