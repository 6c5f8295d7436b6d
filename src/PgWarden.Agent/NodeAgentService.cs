using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgWarden.Agent.Ha;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Processes;
using PgWarden.Postgres.Tools;

namespace PgWarden.Agent;

/// <summary>
/// Runs a node's <see cref="NodeAgent"/>: prepares the node (directories, passfile, a postmaster
/// orphaned by an earlier agent, the marker of a cluster restore), then one cycle every loop_wait
/// (every 200 ms while the leadership changes, and at once when PostgreSQL exits or an API request
/// wakes it). On a fatal error (a data directory that is not this node's, say) the agent exits
/// with its code; on SIGTERM it stops PostgreSQL cleanly and gives the lease up.
/// </summary>
public sealed class NodeAgentService(AgentContext ctx, NodeAgent agent, NodeState state, AgentMetrics metrics, SystemdNotifier systemd, Watchdog.SystemdBackstop backstop, ILogger<NodeAgentService> log, IHostApplicationLifetime lifetime) : BackgroundService
{
    private string Name => ctx.Node.Name;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            ctx.Postgres.PrepareDirectories();
            ctx.Postgres.WritePassFile(ctx.Secrets);
            await StopOrphanedServerAsync(stoppingToken);
            await ForgetOldLeadershipAfterRestoreAsync(stoppingToken);
            systemd.Ready();
            _ = ctx.Dcs.WatchAsync(WakeOnLeadershipChange, stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                var woken = state.WakeSignal;
                try
                {
                    await agent.RunCycleAsync(stoppingToken);
                    backstop.CycleCompleted();
                }
                catch (Exception e) when (!IsFatal(e) && !stoppingToken.IsCancellationRequested)
                {
                    // A cycle that failed unexpectedly is reported and the next one decides again;
                    // the fence watchdog covers a primary meanwhile.
                    AgentLog.Failed(log, Name, $"an HA cycle failed: {e.GetType().Name}: {e.Message}");
                }
                metrics.LoopTook(clock.Elapsed);
                var period = agent.LeadershipChanging ? TimeSpan.FromMilliseconds(200) : agent.LoopWait;
                var wait = period - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.WhenAny(Task.Delay(wait, stoppingToken), agent.Postmaster.Exited, woken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            var error = e as PgWardenException ?? PgWardenException.While($"running node {Name}", e);
            AgentLog.Failed(log, Name, error.Message);
            state.Update(s => s with { State = "failed: " + error.Message });
            Environment.ExitCode = error.ExitCode;
            lifetime.StopApplication();
        }
        finally
        {
            // STOPPING=1 also when the agent ends itself (a fatal error): systemd then treats the clean
            // stop below as one, not as a hung service whose watchdog ran out.
            systemd.Stopping();
            await agent.WhenIdleAsync();
            await agent.ShutdownAsync();
        }
    }

    /// <summary>
    /// A change of the leader key (a lease expired or was released, a new leader), a switchover or
    /// failover request, the settings or the initialisation runs the next cycle at once instead of
    /// after loop_wait. Members' keys change every cycle and do not wake it.
    /// </summary>
    private void WakeOnLeadershipChange(string key)
    {
        if (key is "leader" or "failover" or "config" or "initialize" or "history")
        {
            state.Wake();
        }
    }

    /// <summary>What ends the agent: a data directory that is not this node's, a configuration or installation problem (a node the configuration does not name is one).</summary>
    private static bool IsFatal(Exception e) =>
        e is PgWardenException { ExitCode: ExitCodes.UnsafeRefused or ExitCodes.ConfigError or ExitCodes.NotFound or ExitCodes.MissingDependency or ExitCodes.AlreadyRunning };

    /// <summary>
    /// `restore --cluster` leaves a marker next to the data it restored: the DCS still holds the old
    /// cluster's leader key and position, which must not stop the restored primary from leading. The
    /// restored timeline is recorded in the history, so older history does not mark it stale.
    /// </summary>
    private async Task ForgetOldLeadershipAfterRestoreAsync(CancellationToken ct)
    {
        var marker = Path.Combine(ctx.Postgres.HomeDir, RestoredMarker.FileName);
        if (!File.Exists(marker))
        {
            return;
        }
        var control = await ctx.Postgres.ReadControlDataAsync(ct);
        while (true)
        {
            try
            {
                await ctx.Dcs.ForgetLeadershipAsync(ct);
                await ctx.Dcs.AppendHistoryAsync(new TimelineHistoryEntry(control.CheckpointTimeline, control.CheckpointLsn, Name,
                    "restored from a backup (pgwarden restore --cluster)", DateTimeOffset.UtcNow), ct);
                break;
            }
            catch (DcsUnavailableException e)
            {
                AgentLog.Decided(log, Name, $"restored from a backup: waiting for the DCS to forget the old leader ({e.Message})");
                await Task.Delay(agent.LoopWait, ct);
            }
        }
        AgentLog.Decided(log, Name, $"restored from a backup ({File.ReadAllText(marker).Trim()}): forgot the old cluster's leader key and WAL position, recorded timeline {control.CheckpointTimeline}");
        File.Delete(marker);
    }

    /// <summary>
    /// A postmaster left running by a previous agent (killed without a clean stop) is stopped, so
    /// this agent starts it as its own child. Only one agent runs per node (its lock), so this
    /// postmaster has no supervisor.
    /// </summary>
    private async Task StopOrphanedServerAsync(CancellationToken ct)
    {
        if (PgWarden.Postgres.Os.PostmasterPidFile.LivePostmaster(ctx.Postgres.DataDir) is { } pid)
        {
            AgentLog.Decided(log, Name, $"PostgreSQL (PID {pid}) is still running from a previous agent: stopping it to take it over");
            var result = await ctx.Tools.RunAsync(new ToolCommand(ctx.Binaries.PgCtl, ["stop", "-D", ctx.Postgres.DataDir, "-m", "fast", "-w", "-t", "60"]), ct);
            if (!result.Succeeded)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"could not stop the orphaned PostgreSQL of node {Name} (PID {pid}): {result.Tail()}");
            }
        }
    }
}
