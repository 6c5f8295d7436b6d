using PgWarden.Core.Config;
using PgWarden.Core.Rendering;
using PgWarden.Postgres;
using PgWarden.Postgres.Os;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// What `pgwarden config render` prints: the files the agent and the pooler write, made by the same code —
/// <see cref="NodeRenderContextFactory"/> + <see cref="NodeConfigFiles"/> for a node (as the agent's
/// <c>AgentContext.RenderContext</c> and <c>PostgresNode.WriteConfiguration</c> do), <see cref="PgBouncerIniRenderer"/>
/// for a pooler (as <c>PgBouncerInstance.Apply</c> does). What only a running cluster knows is assumed: the
/// node follows <paramref name="upstream"/> (a replica's hot-standby floor from its pg_control is not applied),
/// the agent runs as the user running this command, and a pooler routes to the first node and the others.
/// </summary>
public static class ConfigPreview
{
    /// <summary>The node's postgresql.conf, pg_hba.conf and pg_ident.conf, following <paramref name="upstream"/> (null: as primary).</summary>
    /// <param name="dcsParameters">The parameters `config apply` stored in the DCS, rendered after the file's own as the agent does (null: none known).</param>
    public static IReadOnlyList<RenderedFile> NodeFiles(ClusterConfig cluster, NodeConfig node, NodeConfig? upstream, IReadOnlyDictionary<string, string>? dcsParameters = null)
    {
        var serverUser = OsUser.ServerUser(cluster.Postgres.OsUser);
        var ctx = NodeRenderContextFactory.Create(cluster, node, upstream, serverUser, NodeRenderContextFactory.PreviewBinary(serverUser, cluster.BaseDir));
        if (dcsParameters is not null)
        {
            ctx = ctx with { DynamicParameters = dcsParameters };
        }
        return NodeConfigFiles.Render(ctx);
    }

    /// <summary>The pooler's pgbouncer.ini with the first node as primary and the others as streaming replicas.</summary>
    public static RenderedFile PoolerIni(ClusterConfig cluster, PoolerConfig pooler)
    {
        var replicas = cluster.Nodes.Where(x => x.Name != cluster.BootstrapNode.Name).ToList();
        return new RenderedFile("pgbouncer.ini", PgBouncerIniRenderer.Render(cluster, pooler, cluster.BootstrapNode, replicas));
    }
}
