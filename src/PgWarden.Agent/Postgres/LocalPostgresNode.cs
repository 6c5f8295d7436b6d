using Npgsql;
using PgWarden.Agent.Ha;
using PgWarden.Core.Config;
using PgWarden.Core.Ha;
using PgWarden.Postgres;
using PgWarden.Postgres.Sql;

namespace PgWarden.Agent.Postgres;

/// <summary><see cref="IPostgresNode"/> on the node's real PostgreSQL (<see cref="PostgresNode"/>, the local superuser socket).</summary>
public sealed class LocalPostgresNode(AgentContext ctx) : IPostgresNode
{
    private PostgresNode Node => ctx.Postgres;

    public Task<LocalDataState> InspectAsync(CancellationToken ct) => Node.InspectDataAsync(ct);

    public Task<ControlData> ReadControlDataAsync(CancellationToken ct) => Node.ReadControlDataAsync(ct);

    public Task InitDbAsync(CancellationToken ct)
    {
        ForgetRewindBound();
        return Node.InitDbAsync(ct);
    }

    public Task CloneAsync(NodeConfig source, CancellationToken ct)
    {
        ForgetRewindBound();
        return Node.CloneAsync(source, ct);
    }

    public async Task<RewindOutcome> RewindAsync(NodeConfig source, CancellationToken ct)
    {
        ForgetRewindBound();
        var result = await Node.RewindAsync(source, ct);
        var output = result.StandardError + result.StandardOutput;
        if (result.Succeeded)
        {
            // pg_rewind leaves the source's WAL end as the minimum recovery point.
            if (RewindBound.AfterRewind(output, await Node.ReadControlDataAsync(ct)) is { } bound)
            {
                PgWarden.Postgres.Os.DirectoryAccess.WriteOwnedFile(RewindBoundFile, bound.Format(), Node.ServerUser);
            }
        }
        return new RewindOutcome(result.Succeeded, !result.Succeeded && RewindOutcome.LooksTransient(output), result.Tail());
    }

    public RewindBound? ReadRewindBound()
    {
        try
        {
            return RewindBound.Parse(File.ReadAllText(RewindBoundFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void ForgetRewindBound() => File.Delete(RewindBoundFile);

    private string RewindBoundFile => RewindBound.PathFor(ctx.Cluster, ctx.Node);

    public string MoveDataAside(string why)
    {
        ForgetRewindBound();
        return Node.MoveDataAside(why);
    }

    public IReadOnlyList<(string Path, long Bytes)> AsideCopies() => Node.AsideCopies();

    public IReadOnlyList<string> PruneAsideCopies(int keep) => Node.PruneAsideCopies(keep);

    public void WriteConfiguration(NodeConfig? upstream, bool standby, HotStandbySettings? hotStandbyFloor, IReadOnlyDictionary<string, string> parameters) =>
        Node.WriteConfiguration(ctx.RenderContext(upstream) with { HotStandbyFloor = hotStandbyFloor, DynamicParameters = parameters }, standby);

    public void ClearStandbySignal() => Node.ClearStandbySignal();

    public IPostmaster StartPostmaster() => new ServerPostmaster(Node.StartServer());

    public Task<NodeStatusReader.Snapshot> QueryStatusAsync(CancellationToken ct) => NodeStatusReader.ReadAsync(ctx.StatusSource, ct);

    public Task PromoteAsync(CancellationToken ct) => Node.PromoteAsync(ct);

    public async Task CheckpointAsync(CancellationToken ct)
    {
        await using var conn = await ctx.LocalSuperuser.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand("CHECKPOINT", conn) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<bool> SetSynchronousStandbyNamesAsync(string value, CancellationToken ct)
    {
        await using var conn = await ctx.LocalSuperuser.OpenConnectionAsync(ct);
        await using (var show = new NpgsqlCommand("SELECT current_setting('synchronous_standby_names')", conn))
        {
            if ((string)(await show.ExecuteScalarAsync(ct))! == value)
            {
                return false;
            }
        }
        await using (var set = new NpgsqlCommand($"ALTER SYSTEM SET synchronous_standby_names = '{value.Replace("'", "''")}'", conn))
        {
            await set.ExecuteNonQueryAsync(ct);
        }
        await using (var reload = new NpgsqlCommand("SELECT pg_reload_conf()", conn))
        {
            await reload.ExecuteNonQueryAsync(ct);
        }
        return true;
    }

    public async Task EnsureSlotsAsync(IReadOnlyList<string> slots, CancellationToken ct)
    {
        await using var conn = await ctx.LocalSuperuser.OpenConnectionAsync(ct);
        foreach (var slot in slots)
        {
            await ClusterBootstrapSql.EnsureSlotAsync(conn, slot, ct);
        }
    }

    public Task BootstrapAsync(CancellationToken ct) => ClusterBootstrapSql.ApplyAsync(ctx.LocalSuperuser, ctx.Cluster, ctx.Node.Name, ctx.Secrets, ct);

    public void ClearConnectionPool() => ctx.LocalSuperuser.Clear();

    public void SetTimelineLimit(long timeline)
    {
        var file = TimelineLimit.PathFor(ctx.Cluster, ctx.Node);
        if (timeline <= 0)
        {
            File.Delete(file);
            return;
        }
        PgWarden.Postgres.Os.DirectoryAccess.WriteOwnedFile(file, timeline + "\n", Node.ServerUser);
    }
}
