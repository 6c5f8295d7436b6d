using PgWarden.Core.Config;
using PgWarden.Core.Rendering;
using PgWarden.Core.Tuning;
using PgWarden.Postgres.Os;

namespace PgWarden.Postgres;

/// <summary>
/// The one place a node's rendering inputs are put together, for the agent (which writes the files) and for
/// <c>pgwarden config render</c> (which prints them): the cluster's hardware and max_connections (or this
/// host's, for what the file leaves out), the OS users allowed to log in as the superuser through the socket,
/// and the pgwarden executable the server user runs for archive_command / restore_command.
/// </summary>
public static class NodeRenderContextFactory
{
    /// <param name="serverUser">The OS user PostgreSQL runs as (<see cref="OsUser.ServerUser"/>).</param>
    /// <param name="pgWardenBinary">The executable archive_command runs: <see cref="AgentBinary"/> (agent) or <see cref="PreviewBinary"/> (preview).</param>
    public static NodeRenderContext Create(ClusterConfig cluster, NodeConfig node, NodeConfig? upstream, OsUser serverUser, string pgWardenBinary) =>
        new(cluster, node, HostDetector.Profile(cluster.Hardware, cluster.Postgres.MaxConnections), upstream, AdminOsUsers(serverUser.Name))
        {
            PgWardenBinary = pgWardenBinary,
        };

    /// <summary>OS users that may log in as the superuser through the socket: the server user and whoever runs the agent (this process).</summary>
    public static IReadOnlyList<string> AdminOsUsers(string serverUser) =>
        new[] { serverUser, OsUser.Current().Name }.Distinct().ToList();

    /// <summary>This program as the server user can run it; copies it under the cluster directory when the user cannot reach it (agent side).</summary>
    public static string AgentBinary(OsUser serverUser, string clusterDir) => Environment.ProcessPath is { } self
        ? ServerReachableTool.Resolve(self, serverUser, clusterDir)
        : "pgwarden";

    /// <summary>The same path as <see cref="AgentBinary"/>, without copying anything (preview side).</summary>
    public static string PreviewBinary(OsUser serverUser, string clusterDir) => Environment.ProcessPath is { } self
        ? ServerReachableTool.Where(self, serverUser, clusterDir)
        : "pgwarden";
}
