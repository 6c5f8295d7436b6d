using Npgsql;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Processes;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Physical;

/// <summary>
/// The PostgreSQL that recovers a restored copy, as the server OS user on 127.0.0.1. Unless it is to outlive
/// this process (<c>detached</c>: restore --keep-running, started by <c>pg_ctl</c>), it is this process's
/// child with a parent-death signal (SIGQUIT, an immediate shutdown), as the agent runs its PostgreSQL: a
/// restore killed by SIGKILL leaves no server running and promoting behind it. Its log is <c>DIR.log</c>.
/// </summary>
internal sealed class RecoveryServer(PgBinaries bin, ProcessLauncher launcher, IToolRunner tools, string superuser, string dir, int port, string socketDir, bool detached, Action<string> output)
{
    private ServerProcess? _process;

    public string LogFile => dir + ".log";

    /// <summary>What recovery reached: the summary line, the last replayed position, and whether the copy was promoted.</summary>
    public sealed record Reached(string Summary, long? ReplayLsn, bool Promoted);

    public async Task StartAsync(Func<string, string> explain, CancellationToken ct)
    {
        if (!File.Exists(LogFile))
        {
            File.WriteAllText(LogFile, "");
            if (Libc.IsRoot)
            {
                Libc.Chown(LogFile, launcher.ServerUser.Uid, launcher.ServerUser.Gid);
            }
        }
        if (!detached)
        {
            _process = ServerProcess.Start(launcher, new ToolCommand(bin.Postgres, ["-D", dir]) { ParentDeathSignal = "SIGQUIT" }, LogFile);
            return;
        }
        var start = await tools.RunAsync(new ToolCommand(bin.PgCtl, ["-D", dir, "-l", LogFile, "-w", "-t", "60", "start"]) { Timeout = TimeSpan.FromMinutes(2) }, ct);
        if (!start.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"the restored PostgreSQL in {dir} did not start: {explain(LogTail())}");
        }
    }

    private bool IsAlive => _process is { } p ? !p.HasExited : PostmasterPidFile.LivePostmaster(dir) is not null;

    private string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = socketDir, Port = port, Username = superuser, Database = "postgres", Timeout = 5, Pooling = false,
    }.ConnectionString;

    /// <summary>
    /// Waits until recovery has reached <paramref name="target"/>: paused at it (<paramref name="paused"/>) or promoted.
    /// A server that stops meanwhile, or a timeout, is an error whose detail <paramref name="explain"/> words from the log.
    /// </summary>
    public async Task<Reached> WaitAsync(RecoveryTarget target, bool paused, TimeSpan timeout, Func<string, string> explain, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (!IsAlive)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"the restored PostgreSQL stopped during recovery: {explain(LogTail())}");
            }
            try
            {
                await using var conn = new NpgsqlConnection(ConnectionString);
                await conn.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand(
                    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE 'not paused' END, coalesce(pg_last_wal_replay_lsn()::text, pg_current_wal_lsn()::text)," +
                    " pg_last_xact_replay_timestamp()", conn);
                await using var r = await cmd.ExecuteReaderAsync(ct);
                await r.ReadAsync(ct);
                var inRecovery = r.GetBoolean(0);
                var pause = r.GetString(1);
                var lsn = r.IsDBNull(2) ? null : r.GetString(2);
                var lastXact = r.IsDBNull(3) ? null : (DateTime?)r.GetDateTime(3);
                if ((!paused && !inRecovery) || (paused && inRecovery && pause == "paused"))
                {
                    var stopLine = File.Exists(LogFile) ? File.ReadLines(LogFile).LastOrDefault(l => l.Contains("recovery stopping", StringComparison.Ordinal)) : null;
                    var state = inRecovery ? "paused in recovery (read-only; promote with SELECT pg_wal_replay_resume() or pg_ctl promote)" : "promoted (read-write)";
                    return new Reached($"recovered to {target.Describe()}: replayed up to LSN {lsn ?? "?"}" +
                                       (lastXact is { } x ? $", last replayed commit at {x:yyyy-MM-dd HH:mm:ss.ffffff}" : "") +
                                       $"; {state}" + (stopLine is null ? "" : $"; server: {StripPrefix(stopLine)}"),
                        lsn is null ? null : Lsn.Parse(lsn), !inRecovery);
                }
            }
            catch (NpgsqlException)
            {
                // Not accepting connections yet.
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new PgWardenException(ExitCodes.Timeout, $"recovery did not reach {target.Describe()} within {timeout.TotalSeconds:0} s: {explain(LogTail())}");
            }
            await Task.Delay(300, ct);
        }
    }

    /// <summary>Ends a pause at the recovery target: PostgreSQL then promotes the copy.</summary>
    public async Task ResumeAsync(CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand("SELECT pg_wal_replay_resume()", conn);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Stops the server (fast shutdown, then by PID); never throws: it also runs in cleanup paths.</summary>
    public async Task StopAsync()
    {
        await Verify.ScratchServer.StopAsync(tools, bin, dir, output);
        if (_process is { } process)
        {
            await process.StopAsync(Libc.SIGQUIT, TimeSpan.FromSeconds(10));
            await process.DisposeAsync();
            _process = null;
        }
    }

    public string LogTail() => File.Exists(LogFile) ? string.Join("\n", File.ReadLines(LogFile).TakeLast(30)) : "";

    public static string StripPrefix(string line)
    {
        var i = line.IndexOf("]: ", StringComparison.Ordinal);
        return (i >= 0 ? line[(i + 3)..] : line).Trim();
    }
}
