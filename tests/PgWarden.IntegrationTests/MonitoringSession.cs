using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// A background superuser session for the monitoring tests: runs statements, or one long statement in
/// the background. Disposing cancels what runs and closes the connection (use with `await using`).
/// </summary>
public sealed class MonitoringSession : IAsyncDisposable
{
    private readonly NpgsqlConnection _conn;
    private readonly CancellationTokenSource _cts = new();
    private Task? _running;

    private MonitoringSession(NpgsqlConnection conn)
    {
        _conn = conn;
    }

    public int Pid => _conn.ProcessID;

    public static async Task<MonitoringSession> OpenAsync(TestCluster cluster, string database, string application, int node = 1)
    {
        await using var template = cluster.Superuser(node, database);
        var csb = new NpgsqlConnectionStringBuilder(template.ConnectionString) { ApplicationName = application, CommandTimeout = 0 };
        var conn = new NpgsqlConnection(csb.ConnectionString);
        try
        {
            await conn.OpenAsync();
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
        return new MonitoringSession(conn);
    }

    public async Task ExecAsync(string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, _conn);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>Starts a statement without waiting for it (e.g. pg_sleep(600), or one that waits on a lock).</summary>
    public void Start(string sql)
    {
        _running = Task.Run(async () =>
        {
            await using var cmd = new NpgsqlCommand(sql, _conn);
            await cmd.ExecuteNonQueryAsync(_cts.Token);
        });
    }

    /// <summary>Whether the session still answers (false once its backend was terminated).</summary>
    public async Task<bool> IsAliveAsync()
    {
        try
        {
            await using var cmd = new NpgsqlCommand("SELECT 1", _conn);
            return Equals(await cmd.ExecuteScalarAsync(), 1);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Whether the background statement ended with an error (e.g. its backend was terminated).</summary>
    public async Task<bool> BackgroundFailedAsync(TimeSpan within)
    {
        if (_running is null)
        {
            return false;
        }
        await Task.WhenAny(_running, Task.Delay(within));
        return _running.IsFaulted;
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        if (_running is not null)
        {
            try
            {
                await _running.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception)
            {
                // Cancelled, terminated or timed out: the connection is closed below either way.
            }
        }
        await _conn.DisposeAsync();
        _cts.Dispose();
    }
}
