namespace PgWarden.Core.Rendering;

/// <summary>
/// The configuration files of a node, in the order they are written — what the agent writes into the data
/// directory and what <c>pgwarden config render</c> prints, from the same <see cref="NodeRenderContext"/>
/// (made by <c>NodeRenderContextFactory</c>): postgresql.conf (with archive_command / restore_command),
/// pg_hba.conf and pg_ident.conf.
/// </summary>
public static class NodeConfigFiles
{
    public static IReadOnlyList<RenderedFile> Render(NodeRenderContext ctx) =>
    [
        new("postgresql.conf", PostgresConfRenderer.Render(ctx)),
        new("pg_hba.conf", PgHbaRenderer.Render(ctx)),
        new("pg_ident.conf", PgHbaRenderer.RenderIdent(ctx)),
    ];
}
