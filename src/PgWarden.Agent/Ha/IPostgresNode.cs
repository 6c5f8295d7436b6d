using PgWarden.Core.Config;
using PgWarden.Core.Ha;
using PgWarden.Postgres.Sql;

namespace PgWarden.Agent.Ha;

/// <summary>
/// The node's own PostgreSQL as the HA engine drives it: its data directory, its configuration, the
/// postmaster process and the SQL the agent runs on it. Errors are <see cref="Core.Errors.PgWardenException"/>
/// with the node and the step named, unless a member says otherwise.
/// </summary>
public interface IPostgresNode
{
    /// <summary>What the data directory holds; refuses (UnsafeRefused) one that is not this node's.</summary>
    Task<LocalDataState> InspectAsync(CancellationToken ct);

    /// <summary>pg_controldata of the data directory (which must exist).</summary>
    Task<ControlData> ReadControlDataAsync(CancellationToken ct);

    Task InitDbAsync(CancellationToken ct);

    /// <summary>pg_basebackup of <paramref name="source"/> into a staging directory that becomes the data directory when complete.</summary>
    Task CloneAsync(NodeConfig source, CancellationToken ct);

    /// <summary>
    /// pg_rewind from <paramref name="source"/> (the node must be stopped); the tool's outcome, never thrown.
    /// A success records the <see cref="RewindBound"/> of the rewound data directory (<see cref="ReadRewindBound"/>).
    /// </summary>
    Task<RewindOutcome> RewindAsync(NodeConfig source, CancellationToken ct);

    /// <summary>
    /// The <see cref="RewindBound"/> recorded by the last successful pg_rewind, kept across agent restarts until
    /// <see cref="ForgetRewindBound"/> or until the data directory is replaced (clone, initdb, set aside); null when none is.
    /// </summary>
    RewindBound? ReadRewindBound();

    /// <summary>Forgets the recorded <see cref="RewindBound"/> (the node reached a consistent state and reports its own position).</summary>
    void ForgetRewindBound();

    /// <summary>Moves the data directory aside (never deletes it); returns where it went.</summary>
    string MoveDataAside(string why);

    /// <summary>Copies set aside earlier (newest first) and their size in bytes.</summary>
    IReadOnlyList<(string Path, long Bytes)> AsideCopies();

    /// <summary>Deletes set-aside copies beyond the newest <paramref name="keep"/>; returns what it removed.</summary>
    IReadOnlyList<string> PruneAsideCopies(int keep);

    /// <summary>
    /// Writes postgresql.conf, pg_hba.conf and pg_ident.conf for the role: following
    /// <paramref name="upstream"/>, read-only without one when <paramref name="standby"/>, else primary;
    /// hot-standby settings at least <paramref name="hotStandbyFloor"/>; the cluster-wide
    /// <paramref name="parameters"/> from the DCS (`config apply`) after the file's.
    /// </summary>
    void WriteConfiguration(NodeConfig? upstream, bool standby, HotStandbySettings? hotStandbyFloor, IReadOnlyDictionary<string, string> parameters);

    /// <summary>Removes standby.signal (before a start as primary).</summary>
    void ClearStandbySignal();

    /// <summary>Starts the postmaster as a child of the agent (it dies with the agent).</summary>
    IPostmaster StartPostmaster();

    /// <summary>Role, positions, timeline and replication state, over a fresh connection (a hung postmaster does not accept one).</summary>
    Task<NodeStatusReader.Snapshot> QueryStatusAsync(CancellationToken ct);

    /// <summary>pg_ctl promote -w: leaves recovery on a new timeline.</summary>
    Task PromoteAsync(CancellationToken ct);

    Task CheckpointAsync(CancellationToken ct);

    /// <summary>Sets synchronous_standby_names (ALTER SYSTEM + reload); false when it already had that value.</summary>
    Task<bool> SetSynchronousStandbyNamesAsync(string value, CancellationToken ct);

    /// <summary>Creates the physical slots that are missing (also on a replica, so they exist the moment it is promoted).</summary>
    Task EnsureSlotsAsync(IReadOnlyList<string> slots, CancellationToken ct);

    /// <summary>Roles, passwords (as SCRAM secrets), the app database and the slots of a new primary; idempotent.</summary>
    Task BootstrapAsync(CancellationToken ct);

    /// <summary>Records the newest timeline restore_command may hand this node (<see cref="Core.Ha.TimelineLimit"/>); 0 removes the limit.</summary>
    void SetTimelineLimit(long timeline);

    /// <summary>Pooled connections to a previous postmaster are dead: drop them.</summary>
    void ClearConnectionPool();
}
