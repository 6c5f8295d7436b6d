namespace PgWarden.Monitoring.Metrics;

/// <summary>pg_database_size() of every database, and when it was measured (a <see cref="TimeProvider"/> timestamp).</summary>
public sealed record DatabaseSizeSnapshot(IReadOnlyList<KeyValuePair<string, double>> Sizes, long TakenAt);
