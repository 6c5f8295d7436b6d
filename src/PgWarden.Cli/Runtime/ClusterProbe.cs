using System.Text.Json;
using Npgsql;
using PgWarden.Core.Api;
using PgWarden.Core.Dcs;
using PgWarden.Core.Config;
using PgWarden.Core.Ha;
using PgWarden.Core.Rendering;
using PgWarden.Core.Security;
using PgWarden.Core.Errors;
using PgWarden.Pooler;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;
using PgWarden.Agent;

namespace PgWarden.Cli.Runtime;

/// <summary>Builds a <see cref="ClusterReport"/> from the agents' APIs and a login through each PgBouncer.</summary>
public static class ClusterProbe
{
    public static async Task<ClusterReport> ProbeAsync(ClusterConfig cluster, ClusterSecrets? secrets, bool checkPoolers, CancellationToken ct)
    {
        var client = new AgentClient(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(3), cluster));
        var statuses = await client.GetAllAsync(cluster.Nodes, ct);
        var primaries = statuses.Values.Where(s => s is { Role: NodeRole.Primary, PostgresRunning: true }).ToList();
        var primary = primaries.Count == 1 ? primaries[0] : null;
        var problems = new List<string>();
        var nodes = new List<NodeReport>();
        foreach (var n in cluster.Nodes)
        {
            var s = statuses[n.Name];
            var row = primary?.Replicas.FirstOrDefault(r => r.ApplicationName == n.Name);
            var slot = primary?.Slots.FirstOrDefault(sl => sl.Name == n.SlotName);
            var isReplica = s?.Role == NodeRole.Replica;
            nodes.Add(new NodeReport(n.Name, n.Address, n.Port, s is not null, s?.Role ?? NodeRole.Unknown,
                s is null ? "agent unreachable" : s.State, s?.Timeline, s?.CurrentLsn, s?.ReceiveLsn, s?.ReplayLsn,
                isReplica ? row?.ReplayLagBytes : null, isReplica ? s?.ReplayLagSeconds ?? row?.ReplayLagSeconds : null,
                s?.WalReceiver, s?.Upstream, isReplica ? slot?.Name : null, isReplica ? slot?.Active : null)
            {
                AsideCopies = s?.AsideCopies ?? 0,
                AsideBytes = s?.AsideBytes ?? 0,
                Action = s?.Action,
            });
            if (s is null)
            {
                problems.Add($"{n.Name}: agent at {n.ApiUrl} does not answer");
            }
            else if (!s.PostgresRunning)
            {
                problems.Add($"{n.Name}: PostgreSQL is not running ({s.State})");
            }
            else if (s.ArchiveFailure is { } archiving)
            {
                problems.Add($"{n.Name}: WAL archiving is failing: {archiving} (PostgreSQL keeps the WAL and retries; see the node's PostgreSQL log)");
            }
            else if (isReplica && !s.IsStreamingReplica)
            {
                problems.Add($"{n.Name}: replica is not streaming (wal receiver: {s.WalReceiver ?? "none"})");
            }
            else if (isReplica && slot is { Active: false })
            {
                problems.Add($"{n.Name}: replication slot {slot.Name} is inactive");
            }
            if (s?.RunningSettings is { } running && ConfiguredMaxConnections(cluster) is var configured
                && (s.Role == NodeRole.Primary ? running.MaxConnections != configured : running.MaxConnections < configured))
            {
                problems.Add($"{n.Name}: runs with max_connections {running.MaxConnections} but {Path.GetFileName(cluster.ConfigFile)} says {configured}: it applies when the node restarts (restart replicas first when raising it)");
            }
        }
        if (primaries.Count == 0)
        {
            problems.Insert(0, "no primary is running");
        }
        else if (primaries.Count > 1)
        {
            problems.Insert(0, $"several primaries: {string.Join(", ", primaries.Select(p => p!.Name))}");
        }

        var poolers = new List<PoolerReport>();
        foreach (var p in cluster.Poolers)
        {
            var report = checkPoolers ? await ProbePoolerAsync(cluster, p, secrets, ct) : new PoolerReport(p.Name, p.Address, p.Port, false, null, null, "not checked");
            poolers.Add(report);
            if (report.Paused == true)
            {
                problems.Add($"{p.Name}: {cluster.Database.Name} is PAUSED in this PgBouncer: new transactions wait (RESUME it; its pooler does after {PoolerService.LeftPausedAfter.TotalSeconds:0} s without a switchover)");
            }
            else if (checkPoolers && (!report.Reachable || report.WriteRouteWorks == false || report.ReadRouteWorks == false))
            {
                problems.Add($"{p.Name}: {report.Error ?? "not reachable"}");
            }
        }

        var health = statuses.Values.All(s => s is null) || primary is null && primaries.Count == 0 && statuses.Values.All(s => s is not { PostgresRunning: true })
            ? "unreachable"
            : problems.Count == 0 ? "healthy" : "degraded";
        // Agents that reach the DCS know the leader; one cut off from it only knows an old one.
        var leader = statuses.Values.Where(s => s is { DcsError: null }).Select(s => s!.Leader).FirstOrDefault(l => l is not null)
            ?? statuses.Values.Select(s => s?.Leader).FirstOrDefault(l => l is not null);
        var paused = statuses.Values.Any(s => s?.Paused == true);
        var leaseUntil = leader is null ? null : statuses.GetValueOrDefault(leader)?.LeaseExpiresAt;
        if (leader is null && primaries.Count > 0)
        {
            problems.Add("no node holds the leader lease");
        }
        else if (leader is not null && primary is not null && leader != primary.Name)
        {
            problems.Add($"{leader} holds the leader lease but {primary.Name} is the running primary");
        }
        var dcsErrors = statuses.Values.Select(s => s?.DcsError).Where(e => e is not null).Distinct().ToList();
        foreach (var e in dcsErrors)
        {
            problems.Add($"DCS: {e}");
        }
        if (paused)
        {
            problems.Add("automatic failover is paused (`pgwarden resume`)");
        }
        var settings = statuses.Values.Where(s => s is { DcsError: null }).Select(s => s!.EffectiveDcsConfig).FirstOrDefault(c => c is not null);
        if (settings is not null && DcsConfigRules.Differences(settings, cluster.Dcs.Initial) is { Count: > 0 } drift)
        {
            problems.Add($"{Path.GetFileName(cluster.ConfigFile)} sets dcs values the cluster does not run with ({string.Join(", ", drift)}): `pgwarden up` applies them");
        }
        var scheduled = cluster.Backup is null ? [] : await ScheduledBackupsAsync(client, cluster, statuses, ct);
        foreach (var run in scheduled.Where(r => r.Status == ScheduledBackupRun.Failed))
        {
            problems.Add($"the {run.What} of {run.Slot:u} failed on {run.Node}: {run.Detail}");
        }
        health = health == "healthy" && problems.Count > 0 ? "degraded" : health;
        return new ClusterReport(cluster.Name, health, problems, primary?.Name, leader, paused,
            leaseUntil is { } u ? Math.Max(0, (u - DateTimeOffset.UtcNow).TotalSeconds) : null, nodes, poolers)
        {
            ScheduledBackups = scheduled,
            Settings = settings,
        };
    }

    /// <summary>max_connections as the configuration sets it (a postgres.parameters override wins).</summary>
    private static int ConfiguredMaxConnections(ClusterConfig cluster) =>
        cluster.Postgres.Parameters.LastOrDefault(p => p.Key == "max_connections").Value is { } text && int.TryParse(text, out var value) ? value : cluster.Postgres.MaxConnections;

    /// <summary>The scheduled backups' last runs from the first agent that answers GET /cluster.</summary>
    private static async Task<IReadOnlyList<ScheduledBackupRun>> ScheduledBackupsAsync(AgentClient client, ClusterConfig cluster,
        IReadOnlyDictionary<string, NodeStatus?> statuses, CancellationToken ct)
    {
        foreach (var n in cluster.Nodes.Where(n => statuses[n.Name] is not null))
        {
            if (await client.GetClusterJsonAsync(n, ct) is { } json && json.TryGetProperty("scheduled_backups", out var runs) && runs.ValueKind == JsonValueKind.Array)
            {
                return [.. runs.EnumerateArray().Select(r => r.Deserialize<ScheduledBackupRun>(Json.Options)).OfType<ScheduledBackupRun>()];
            }
        }
        return [];
    }

    /// <summary>Logs in through the PgBouncer as the app (SCRAM) on the write and read-only databases.</summary>
    private static async Task<PoolerReport> ProbePoolerAsync(ClusterConfig cluster, PoolerConfig p, ClusterSecrets? secrets, CancellationToken ct)
    {
        if (!PortOpen(p.Address, p.Port))
        {
            return new PoolerReport(p.Name, p.Address, p.Port, false, null, null, $"nothing listens on {p.Address}:{p.Port}");
        }
        if (secrets is null)
        {
            return new PoolerReport(p.Name, p.Address, p.Port, true, null, null, null);
        }
        async Task<string?> Try(string database)
        {
            try
            {
                var cs = new NpgsqlConnectionStringBuilder
                {
                    Host = p.Address, Port = p.Port, Database = database, Username = cluster.Database.AppUser,
                    Password = secrets.AppPassword, Timeout = 3, CommandTimeout = 3, Pooling = false,
                };
                await using var conn = new NpgsqlConnection(Postgres.Tls.ClientTls.Apply(cs, cluster, toPooler: true).ConnectionString);
                await conn.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand("SELECT 1", conn);
                await cmd.ExecuteScalarAsync(ct);
                return null;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                return $"{database} through {p.Name}: {e.Message}";
            }
        }
        bool? paused = null;
        try
        {
            paused = await new PgBouncerAdmin(cluster, secrets, new ToolRunner(new ProcessLauncher(OsUser.Current()))).IsPausedAsync(p, cluster.Database.Name, ct);
        }
        catch (PgWardenException)
        {
            // The login checks below say what is wrong with this PgBouncer.
        }
        if (paused == true)
        {
            // A login through a paused database waits; do not wait for it.
            return new PoolerReport(p.Name, p.Address, p.Port, true, null, null, "paused") { Paused = true };
        }
        var write = await Try(cluster.Database.Name);
        var read = await Try(PgBouncerIniRenderer.ReadOnlyAlias(cluster));
        return new PoolerReport(p.Name, p.Address, p.Port, true, write is null, read is null, write ?? read) { Paused = paused };
    }

    private static bool PortOpen(string address, int port)
    {
        try
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            return tcp.ConnectAsync(address, port).Wait(TimeSpan.FromSeconds(2)) && tcp.Connected;
        }
        catch (AggregateException)
        {
            return false;
        }
    }
}
