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
}
