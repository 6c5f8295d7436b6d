using Npgsql;
using PgWarden.Monitoring.Maintenance;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// While a statement runs, says what it waits for: every <see cref="PollInterval"/> it asks
/// <see cref="LockWaitProbe"/> who blocks the statement's backend, shows it on the status line, and prints a
/// plain line when the blockers change and every <see cref="RepeatInterval"/> while it stays blocked.
/// </summary>
public static class LockWaitReporter
{
    /// <summary>How often the blockers are read (1 s).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often an unchanged wait is repeated as a line (10 s).</summary>
    public static readonly TimeSpan RepeatInterval = TimeSpan.FromSeconds(10);

    /// <summary>Awaits <paramref name="statement"/>, reporting its blockers meanwhile; returns every blocker seen (first sighting of each PID).</summary>
    /// <param name="pid">The backend PID running the statement (<see cref="NpgsqlConnection.ProcessID"/>).</param>
    /// <param name="observer">Another connection to the same server.</param>
    public static async Task<IReadOnlyList<LockBlocker>> WhileAsync(Task statement, string what, int pid, NpgsqlConnection observer, PhaseProgress phases, CancellationToken ct)
    {
        var seen = new List<LockBlocker>();
        var started = phases.Elapsed;
        var lastKey = "";
        var lastLine = TimeSpan.Zero;
        while (await Task.WhenAny(statement, Task.Delay(PollInterval, ct)) != statement)
        {
            IReadOnlyList<LockBlocker> blockers;
            try
            {
                blockers = await LockWaitProbe.BlockersAsync(observer, pid, ct);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException && !ct.IsCancellationRequested)
            {
                continue; // the report is a courtesy; the statement's own outcome decides
            }
            seen.AddRange(blockers.Where(b => seen.All(s => s.Pid != b.Pid)));
            var key = string.Join(',', blockers.Select(b => b.Pid));
            var now = phases.Elapsed;
            var text = blockers.Count == 0 && lastKey.Length > 0
                ? $"{what}: no longer blocked after {(now - started).TotalSeconds:0} s, working"
                : LockWaitText.Describe(what, now - started, blockers);
            var print = key != lastKey || blockers.Count > 0 && now - lastLine >= RepeatInterval;
            phases.Update(text, print);
            if (print)
            {
                lastLine = now;
            }
            lastKey = key;
        }
        await statement;
        return seen;
    }
}
