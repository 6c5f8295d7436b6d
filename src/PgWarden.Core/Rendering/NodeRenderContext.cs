using PgWarden.Core.Config;
using PgWarden.Core.Tuning;

namespace PgWarden.Core.Rendering;

/// <summary>
/// Everything that decides a node's configuration files: the cluster, the node, the hardware it is
/// tuned for, the node it replicates from (null for a primary) and the OS users allowed to log in
/// as the database superuser through the local socket.
/// </summary>
public sealed record NodeRenderContext(
    ClusterConfig Cluster,
    NodeConfig Node,
    HardwareProfile Hardware,
    NodeConfig? Upstream,
    IReadOnlyList<string> AdminOsUsers)
{
    public string PassFile => Path.Combine(Node.HomeDir(Cluster), "replication.pgpass");

    /// <summary>
    /// A replica's hot-standby settings must be at least these (what its pg_control records and what
    /// the leader runs with); rendered values below them are raised. Null: no floor.
    /// </summary>
    public Ha.HotStandbySettings? HotStandbyFloor { get; init; }

    /// <summary>
    /// PostgreSQL parameters set cluster-wide in the DCS (`pgwarden config apply`); rendered after the
    /// file's `postgres.parameters`, so they win. Empty when none (or the DCS was not read).
    /// </summary>
    public IReadOnlyDictionary<string, string> DynamicParameters { get; init; } = new Dictionary<string, string>();

    /// <summary>The absolute path of the pgwarden executable PostgreSQL runs for archive_command/restore_command.</summary>
    public string PgWardenBinary { get; init; } = "/usr/local/bin/pgwarden";
}
