using PgWarden.Core.Processes;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Verify;

/// <summary>Stops a throw-away PostgreSQL: pg_ctl stop -m fast, then, if its postmaster is still alive, SIGKILL by PID.</summary>
public static class ScratchServer
{
    public static int? PostmasterPid(string dataDir) => PgWarden.Postgres.Os.PostmasterPidFile.LivePostmaster(dataDir);

    /// <summary>Never throws: it runs in cleanup paths, also after a failure or an interrupt.</summary>
    public static async Task StopAsync(IToolRunner tools, PgBinaries bin, string dataDir, Action<string> output)
    {
        var pid = PostmasterPid(dataDir);
        if (pid is not { } postmaster || !Libc.IsAlive(postmaster))
        {
            return;
        }
        try
        {
            await tools.RunAsync(new ToolCommand(bin.PgCtl, ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop"]) { Timeout = TimeSpan.FromSeconds(90) }, CancellationToken.None);
        }
        catch (Exception e)
        {
            output($"  warning: pg_ctl stop of the scratch PostgreSQL (PID {postmaster}) failed: {e.Message}");
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (Libc.IsAlive(postmaster) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, CancellationToken.None);
        }
        if (Libc.IsAlive(postmaster))
        {
            output($"  warning: the scratch PostgreSQL (PID {postmaster}) did not stop; killing it");
            Libc.Kill(postmaster, Libc.SIGKILL);
            deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (Libc.IsAlive(postmaster) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, CancellationToken.None);
            }
        }
    }
}
