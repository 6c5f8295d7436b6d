using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>
/// What the cluster is, read from the outside: SQL straight to every node's PostgreSQL and process
/// ids — never the agents' own report of their role.
/// </summary>
public static class ClusterFacts
{
    /// <summary>The nodes whose PostgreSQL answers and is not in recovery.</summary>
    public static async Task<IReadOnlyList<string>> WritableNodesAsync(IProbeTarget cluster)
    {
        var writable = new List<string>();
        for (var node = 1; node <= cluster.NodeCount; node++)
        {
            if (await InRecoveryAsync(cluster, node) == false)
            {
                writable.Add(cluster.NodeName(node));
            }
        }
        return writable;
    }

    /// <summary>pg_is_in_recovery() of a node; null when it does not answer.</summary>
    public static async Task<bool?> InRecoveryAsync(IProbeTarget cluster, int node)
    {
        try
        {
            await using var conn = Direct(cluster, node);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn);
            return (bool)(await cmd.ExecuteScalarAsync())!;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The timeline a primary writes on: the first 8 hex digits of its current WAL file's name.</summary>
    public static async Task<int> TimelineAsync(IProbeTarget cluster, int node)
    {
        await using var conn = Direct(cluster, node);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)", conn);
        return Convert.ToInt32((string)(await cmd.ExecuteScalarAsync())!, 16);
    }

    /// <summary>Waits until `pgwarden status` says healthy; on timeout the error names the problems it last reported.</summary>
    public static async Task<System.Text.Json.JsonElement> WaitHealthyAsync(TestCluster cluster, TimeSpan timeout)
    {
        var problems = "";
        var boxed = await TestCluster.WaitForAsync<object>(async () =>
        {
            var s = await cluster.StatusJsonAsync();
            problems = string.Join("; ", s.GetProperty("problems").EnumerateArray().Select(p => p.GetString()));
            return s.GetProperty("health").GetString() == "healthy" ? s : null;
        }, timeout, "a healthy cluster").ContinueWith(t => t.IsFaulted
            ? throw new TimeoutException($"{t.Exception!.InnerException!.Message}; last problems: {problems}")
            : t.Result);
        return (System.Text.Json.JsonElement)boxed;
    }

    /// <summary>
    /// Waits until exactly one node is writable and every other one streams from it with everything
    /// it has replayed (its pg_stat_wal_receiver says streaming, and replay reached the primary's
    /// position); returns the primary's node number. This is convergence as the issue defines it.
    /// </summary>
    public static async Task<int> WaitConvergedAsync(IProbeTarget cluster, TimeSpan timeout)
    {
        return (int)await TestCluster.WaitForAsync<object>(async () =>
        {
            var writable = await WritableNodesAsync(cluster);
            if (writable.Count != 1)
            {
                return null;
            }
            var primary = int.Parse(writable[0][2..]);
            string lsn;
            await using (var conn = Direct(cluster, primary))
            {
                await conn.OpenAsync();
                await using var cmd = new NpgsqlCommand("SELECT pg_current_wal_lsn()::text", conn);
                lsn = (string)(await cmd.ExecuteScalarAsync())!;
            }
            for (var node = 1; node <= cluster.NodeCount; node++)
            {
                if (node == primary)
                {
                    continue;
                }
                await using var conn = Direct(cluster, node);
                await conn.OpenAsync();
                await using var cmd = new NpgsqlCommand(
                    "SELECT (SELECT status FROM pg_stat_wal_receiver) = 'streaming' AND pg_last_wal_replay_lsn() >= $1::pg_lsn", conn);
                cmd.Parameters.Add(new NpgsqlParameter { Value = lsn });
                if (await cmd.ExecuteScalarAsync() is not true)
                {
                    return null;
                }
            }
            return primary;
        }, timeout, "one primary with every replica streaming and caught up");
    }

    /// <summary>The integer ids in <paramref name="table"/> on the current primary (read through PgBouncer).</summary>
    public static async Task<HashSet<int>> IdsOnPrimaryAsync(IProbeTarget cluster, string table, string column)
    {
        await using var conn = cluster.ThroughPooler(1);
        await conn.OpenAsync();
        var ids = new HashSet<int>();
        await using var cmd = new NpgsqlCommand($"SELECT {column} FROM {table}", conn);
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            ids.Add(r.GetInt32(0));
        }
        return ids;
    }

    /// <summary>An md5 of the ids in <paramref name="table"/> on every node (they must agree once converged).</summary>
    public static async Task<IReadOnlyDictionary<string, string?>> TableDigestsAsync(IProbeTarget cluster, string table, string key)
    {
        var digests = new Dictionary<string, string?>();
        for (var node = 1; node <= cluster.NodeCount; node++)
        {
            await using var conn = Direct(cluster, node);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"SELECT md5(COALESCE(string_agg({key}::text, ',' ORDER BY {key}), '')) FROM {table}", conn);
            digests[cluster.NodeName(node)] = (string?)await cmd.ExecuteScalarAsync();
        }
        return digests;
    }

    public static NpgsqlConnection Direct(IProbeTarget cluster, int node, string database = "bookreader") => cluster.Direct(node, database);

    /// <summary>Data directories set aside next to a node's data directory (data.reclone-…, data.reinit-…).</summary>
    public static IReadOnlyList<string> AsideCopies(TestCluster cluster, int node) =>
        [.. Directory.EnumerateDirectories(Path.Combine(cluster.Dir, "nodes", cluster.NodeName(node))).Where(d => Path.GetFileName(d).StartsWith("data.", StringComparison.Ordinal))];

    /// <summary>The PID of a node's agent (from its PID file).</summary>
    public static int AgentPid(TestCluster cluster, int node) =>
        TestCluster.ReadPid(Path.Combine(cluster.Dir, "nodes", cluster.NodeName(node), "agent.pid")) ?? throw new InvalidOperationException($"no agent PID for node {node}");
}
