using System.Globalization;

namespace PgWarden.Core.Ha;

/// <summary>
/// What pg_controldata prints about a data directory that the HA engine needs: how it was shut
/// down, its last checkpoint (position and timeline) and the hot-standby settings of the primary
/// whose WAL it last replayed. Positions are bytes (see <see cref="Lsn"/>).
/// </summary>
public sealed record ControlData(
    string SystemIdentifier,
    DatabaseClusterState State,
    long CheckpointLsn,
    long CheckpointTimeline,
    long MinRecoveryEndLsn,
    long MinRecoveryEndTimeline,
    HotStandbySettings HotStandby)
{
    /// <summary>
    /// Shut down cleanly as a primary: the shutdown checkpoint is the last WAL record, so
    /// <see cref="CheckpointLsn"/> is (the start of) the end of its WAL.
    /// </summary>
    public bool CleanPrimaryShutdown => State == DatabaseClusterState.ShutDown;

    /// <summary>Parses pg_controldata's output (LC_ALL=C); throws <see cref="FormatException"/> naming a missing line.</summary>
    public static ControlData Parse(string output)
    {
        var fields = output.Split('\n')
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim(), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First()[1].Trim(), StringComparer.Ordinal);
        string Field(string name) => fields.TryGetValue(name, out var v) ? v : throw new FormatException($"pg_controldata printed no \"{name}\" line");
        int Int(string name) => int.Parse(Field(name), CultureInfo.InvariantCulture);
        return new ControlData(
            Field("Database system identifier"),
            ParseState(Field("Database cluster state")),
            Lsn.Parse(Field("Latest checkpoint location")),
            long.Parse(Field("Latest checkpoint's TimeLineID"), CultureInfo.InvariantCulture),
            Lsn.Parse(Field("Minimum recovery ending location")),
            long.Parse(Field("Min recovery ending loc's timeline"), CultureInfo.InvariantCulture),
            new HotStandbySettings(Int("max_connections setting"), Int("max_worker_processes setting"), Int("max_wal_senders setting"),
                Int("max_prepared_xacts setting"), Int("max_locks_per_xact setting")));
    }

    private static DatabaseClusterState ParseState(string text) => text switch
    {
        "starting up" => DatabaseClusterState.Starting,
        "shut down" => DatabaseClusterState.ShutDown,
        "shut down in recovery" => DatabaseClusterState.ShutDownInRecovery,
        "shutting down" => DatabaseClusterState.ShuttingDown,
        "in crash recovery" => DatabaseClusterState.InCrashRecovery,
        "in archive recovery" => DatabaseClusterState.InArchiveRecovery,
        "in production" => DatabaseClusterState.InProduction,
        _ => DatabaseClusterState.Unknown,
    };
}
