using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgWarden.Core.Backups;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;
using PgWarden.Postgres.Tools;
using Prometheus;

namespace PgWarden.Agent;

/// <summary>
/// The runbook's backup schedule (logical daily 02:00, physical weekly Sunday 03:00, a restore test
/// of the newest physical backup Sunday 05:00 by default): on the leader only, each due slot runs
/// `pgwarden backup KIND` (then `backup prune`) or `backup verify latest --restore-test` once across the cluster. The
/// slot's state lives in the DCS (running → succeeded/failed), so a new leader neither repeats a
/// slot the old one finished nor waits for one whose runner died. Every node exports the recorded
/// outcome as metrics; the child's output goes to logs/backup-KIND-NODE.log.
/// </summary>
public sealed class ScheduledBackups(AgentContext ctx, NodeState state, CollectorRegistry registry, ILogger<ScheduledBackups> log) : BackgroundService
{
    public static readonly string[] Kinds = ["logical", "physical", "verify"];

    private readonly Gauge _lastSuccess = Prometheus.Metrics.WithCustomRegistry(registry)
        .CreateGauge("pgwarden_backup_last_success_timestamp_seconds", "When a scheduled backup of this type last succeeded (Unix seconds; 0 never).", "type");
    private readonly Gauge _lastStatus = Prometheus.Metrics.WithCustomRegistry(registry)
        .CreateGauge("pgwarden_backup_last_status", "Outcome of the last scheduled backup of this type: 0 succeeded, 1 running, 2 failed.", "type");

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var settings = ctx.Cluster.Backup;
        if (settings is null)
        {
            return;
        }
        var schedules = new Dictionary<string, Cronos.CronExpression>();
        foreach (var (kind, text) in new[] { ("logical", settings.LogicalSchedule), ("physical", settings.PhysicalSchedule), ("verify", settings.VerifySchedule) })
        {
            if (text != CronSchedule.Off)
            {
                schedules[kind] = CronSchedule.Parse(text);
            }
        }
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
            ExportRecorded(state.View);
            var s = state.Current;
            if (s.Role != NodeRole.Primary || s.Leader != s.Name || !s.PostgresRunning)
            {
                continue;
            }
            foreach (var (kind, schedule) in schedules)
            {
                try
                {
                    // The HA loop's latest view says whether a slot is due; only then is the DCS
                    // read again, since an earlier run may have taken long and leadership may have moved.
                    if (state.View is not { } cached || !Decide(kind, schedule, cached).Run)
                    {
                        continue;
                    }
                    var view = await ctx.Dcs.ReadAsync(ct);
                    var decision = Decide(kind, schedule, view);
                    if (!decision.Run || view.Leader?.Name != ctx.Node.Name)
                    {
                        continue;
                    }
                    AgentLog.Decided(log, ctx.Node.Name, decision.Reason);
                    await RunAsync(kind, decision.Slot!.Value, view.ScheduledBackups.GetValueOrDefault(kind)?.LastSuccess, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    AgentLog.Failed(log, ctx.Node.Name, $"scheduled {kind} backup: {e.Message}");
                }
            }
        }
    }

    private ScheduleDecision Decide(string kind, Cronos.CronExpression schedule, ClusterView view) =>
        BackupSchedulePlanner.Decide(kind, schedule, TimeZoneInfo.Local, view.ScheduledBackups.GetValueOrDefault(kind),
            view.Members.Keys.ToHashSet(StringComparer.Ordinal), ctx.Node.Name, DateTimeOffset.UtcNow,
            SystemIdentifierTime.CreatedAt(state.Current.SystemIdentifier, DateTimeOffset.UtcNow));

    private async Task RunAsync(string kind, DateTimeOffset slot, DateTimeOffset? lastSuccess, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        var running = new ScheduledBackupRun(kind, slot, ctx.Node.Name, ScheduledBackupRun.Running, started) { LastSuccess = lastSuccess };
        await ctx.Dcs.RecordScheduledBackupAsync(running, ct);

        string[] args = kind == "verify"
            ? ["backup", "verify", "latest", "--type", "physical", "--restore-test"]
            : ["backup", kind];
        var result = await RunCliAsync(args, ct);
        await AppendLogAsync(kind, started, result);
        if (result.Succeeded && kind != "verify")
        {
            // Retention after every successful backup (backup.retention_days / retention_count);
            // prune keeps every WAL file a kept backup needs. Its failure does not fail the backup.
            var prune = await RunCliAsync(["backup", "prune"], ct);
            await AppendLogAsync("prune", DateTimeOffset.UtcNow, prune);
            if (!prune.Succeeded)
            {
                AgentLog.Failed(log, ctx.Node.Name, $"backup prune after the scheduled {kind} backup failed: {prune.Tail()}");
            }
        }

        var finished = DateTimeOffset.UtcNow;
        var ok = result.Succeeded;
        var detail = ok ? LastLine(result.StandardOutput) : $"exit {result.ExitCode}: {result.Tail()}";
        var outcome = running with
        {
            Status = ok ? ScheduledBackupRun.Succeeded : ScheduledBackupRun.Failed,
            Finished = finished,
            Detail = detail,
            LastSuccess = ok ? finished : lastSuccess,
        };
        // Recorded even if leadership moved meanwhile: the slot ran either way.
        await ctx.Dcs.RecordScheduledBackupAsync(outcome, CancellationToken.None);
        if (ok)
        {
            AgentLog.Decided(log, ctx.Node.Name, $"scheduled {kind} backup of {slot:u} succeeded in {(finished - started).TotalSeconds:0.0} s: {detail}");
        }
        else
        {
            AgentLog.Failed(log, ctx.Node.Name, $"scheduled {kind} backup of {slot:u} failed: {detail}");
        }
    }

    private async Task<ToolResult> RunCliAsync(string[] args, CancellationToken ct)
    {
        var command = new ToolCommand(Environment.ProcessPath ?? "pgwarden", [.. args, "--config", ctx.Cluster.ConfigFile])
        {
            AsServerUser = false,
            Timeout = TimeSpan.FromHours(24),
            // A backup must not outlive the agent that runs the schedule: the next leader's agent
            // may take the slot over. SIGTERM lets it stop its own children and remove its staging.
            ParentDeathSignal = "SIGTERM",
        };
        try
        {
            return await ctx.Tools.RunAsync(command, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ToolResult(-1, "", e.Message);
        }
    }

    private async Task AppendLogAsync(string kind, DateTimeOffset started, ToolResult result)
    {
        var dir = Path.Combine(ctx.Cluster.BaseDir, "logs");
        Directory.CreateDirectory(dir);
        var text = $"=== {started:u} scheduled {kind} backup on {ctx.Node.Name}: exit {result.ExitCode}\n{result.StandardOutput}{result.StandardError}\n";
        await File.AppendAllTextAsync(Path.Combine(dir, $"backup-{kind}-{ctx.Node.Name}.log"), text, CancellationToken.None);
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";

    private void ExportRecorded(ClusterView? view)
    {
        if (view is null)
        {
            return;
        }
        foreach (var kind in Kinds)
        {
            if (view.ScheduledBackups.GetValueOrDefault(kind) is not { } run)
            {
                continue;
            }
            _lastSuccess.WithLabels(kind).Set(run.LastSuccess?.ToUnixTimeSeconds() ?? 0);
            _lastStatus.WithLabels(kind).Set(run.Status switch
            {
                ScheduledBackupRun.Succeeded => 0,
                ScheduledBackupRun.Running => 1,
                _ => 2,
            });
        }
    }
}
