using System.Diagnostics;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// One 1-node cluster on 127.0.121.0/24 with a filesystem repository and a tablespace, and a database
/// <see cref="Database"/> built by <see cref="DatabaseGenerator"/> (seed from PGWARDEN_ROUNDTRIP_SEED
/// or random, printed in every failure; size from PGWARDEN_ROUNDTRIP_ROWS, default 4000 — bench/ runs a
/// large one). Its fingerprint is taken once; every round trip must give it back.
/// </summary>
public sealed class BackupRoundTripFixture : IAsyncLifetime
{
    public const string Database = "rtdb";

    public TestCluster Cluster { get; } = new(subnet: 121, nodes: 1, extraYaml: "backup:\n  repository: { type: fs, path: repo }\n  archive_timeout: 60\n  schedule: { logical: 'off', physical: 'off', verify: 'off' }\n");

    public int Seed { get; } = int.TryParse(Environment.GetEnvironmentVariable("PGWARDEN_ROUNDTRIP_SEED"), out var s) ? s : Random.Shared.Next(1, 1_000_000);

    public int Rows { get; } = int.TryParse(Environment.GetEnvironmentVariable("PGWARDEN_ROUNDTRIP_ROWS"), out var r) ? r : 4000;

    public string Replay => $"(replay with PGWARDEN_ROUNDTRIP_SEED={Seed} PGWARDEN_ROUNDTRIP_ROWS={Rows})";

    public SortedDictionary<string, string> Tables { get; private set; } = new();

    public List<string> Inventory { get; private set; } = [];

    /// <summary>Unlogged tables: a physical backup holds none of their rows (PostgreSQL does not log them), so they come back empty.</summary>
    public List<string> Unlogged { get; private set; } = [];

    public async Task InitializeAsync()
    {
        await Cluster.UpAsync();
        var tablespace = Path.Combine(Cluster.Dir, "ts-rt");
        Directory.CreateDirectory(tablespace);
        using (var chown = Process.Start("chown", ["postgres:postgres", tablespace])!)
        {
            await chown.WaitForExitAsync();
        }
        var generator = new DatabaseGenerator(Seed, Rows, "rt_space");
        await using (var postgres = Cluster.Superuser(1, "postgres"))
        {
            await postgres.OpenAsync();
            await Exec(postgres, generator.RolesSql);
            await Exec(postgres, $"CREATE TABLESPACE rt_space LOCATION '{tablespace}'");
            foreach (var statement in generator.CreateDatabaseSql(Database).Split(";\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                await Exec(postgres, statement);
            }
        }
        await using var db = Cluster.Superuser(1, Database);
        await db.OpenAsync();
        await Exec(db, generator.ContentSql());
        Tables = await TableFingerprint.TablesAsync(db);
        await using (var cmd = new NpgsqlCommand("SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relpersistence = 'u' AND c.relkind = 'r'", db))
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                Unlogged.Add(r.GetString(0));
            }
        }
        Inventory = await TableFingerprint.InventoryAsync(db);
    }

    public Task DisposeAsync() => Cluster.DisposeAsync().AsTask();

    public static async Task Exec(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 300 };
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>Asserts <paramref name="conn"/>'s database has exactly the generated content (and, unless <paramref name="tablesOnly"/>, its catalog inventory).</summary>
    public async Task AssertSameAsync(NpgsqlConnection conn, bool tablesOnly = false, bool physical = false)
    {
        var tables = await TableFingerprint.TablesAsync(conn);
        var expected = new SortedDictionary<string, string>(Tables, StringComparer.Ordinal);
        foreach (var u in physical ? Unlogged : [])
        {
            expected[u] = "0:";
        }
        Assert.True(expected.SequenceEqual(tables), $"table content differs {Replay}:\n" + string.Join("\n", expected.Keys.Union(tables.Keys).Where(k => expected.GetValueOrDefault(k) != tables.GetValueOrDefault(k))
            .Select(k => $"  {k}: source {expected.GetValueOrDefault(k) ?? "-"}, restored {tables.GetValueOrDefault(k) ?? "-"}")));
        if (tablesOnly)
        {
            return;
        }
        var inventory = await TableFingerprint.InventoryAsync(conn);
        var missing = Inventory.Except(inventory).ToList();
        var extra = inventory.Except(Inventory).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"catalog inventory differs {Replay}:\n missing: {string.Join("\n  ", missing.Take(12))}\n extra: {string.Join("\n  ", extra.Take(12))}");
    }
}
