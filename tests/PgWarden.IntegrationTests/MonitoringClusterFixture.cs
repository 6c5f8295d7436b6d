using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>
/// One running cluster (subnet 61) for the monitoring tests, with a database state that has known
/// problems in schema <c>mon</c> of the app database: an unused index, a duplicate and a redundant
/// prefix index, an INVALID unique index, a bloated table, a sequence near its limit, a table whose
/// name needs quotes; and an empty database <c>montest</c> for the sessions the kill tests terminate.
/// </summary>
public sealed class MonitoringClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; } = new(subnet: 61);

    public async Task InitializeAsync()
    {
        await Cluster.UpAsync();
        await using (var conn = await OpenAsync())
        {
            await Exec(conn, """
                CREATE SCHEMA mon;
                CREATE TABLE mon.orders (id int PRIMARY KEY, customer int, note text, ref int UNIQUE);
                INSERT INTO mon.orders SELECT g, g % 100, 'note ' || g, g FROM generate_series(1, 2000) g;
                CREATE INDEX orders_customer ON mon.orders (customer);
                CREATE INDEX orders_note_unused ON mon.orders (note);
                CREATE TABLE mon.items (id int PRIMARY KEY, a int, b int, code int);
                INSERT INTO mon.items SELECT g, g % 100, g % 7, g % 50 FROM generate_series(1, 1000) g;
                CREATE INDEX items_a ON mon.items (a);
                CREATE INDEX items_a_dup ON mon.items (a);
                CREATE INDEX items_a_b ON mon.items (a, b);
                CREATE TABLE mon.bloated (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = false);
                INSERT INTO mon.bloated SELECT g, md5(g::text) FROM generate_series(1, 100000) g;
                CREATE TABLE mon."Big Table" (id int, t text);
                INSERT INTO mon."Big Table" SELECT g, md5(g::text) FROM generate_series(1, 30000) g;
                CREATE TABLE mon.locked (id int PRIMARY KEY, v int);
                INSERT INTO mon.locked VALUES (1, 0);
                CREATE SEQUENCE mon.near_exhausted MAXVALUE 100;
                SELECT setval('mon.near_exhausted', 95);
                """);
            // A failed CREATE UNIQUE INDEX CONCURRENTLY (duplicate codes) leaves an INVALID index behind.
            var e = await Assert.ThrowsAsync<PostgresException>(() => Exec(conn, "CREATE UNIQUE INDEX CONCURRENTLY items_code_uniq ON mon.items (code)"));
            Assert.Equal("23505", e.SqlState);
            await Exec(conn, "CREATE DATABASE montest");
        }
        await using (var conn = await OpenAsync())
        {
            // Mass UPDATE then DELETE of 90 % with autovacuum off on the table: dead rows stay.
            await Exec(conn, "UPDATE mon.bloated SET payload = md5(payload); DELETE FROM mon.bloated WHERE id % 10 <> 0");
            // Use orders_customer so that only orders_note_unused stays unused.
            await Exec(conn, "SET enable_seqscan = off; SELECT count(*) FROM mon.orders WHERE customer = 5");
        }
        // Let the closed sessions' statistics reach shared memory, then analyze (it never reclaims space).
        await Task.Delay(1500);
        await using (var conn = await OpenAsync())
        {
            await Exec(conn, "ANALYZE mon.bloated; ANALYZE mon.orders; ANALYZE mon.items");
        }
    }

    public async Task<NpgsqlConnection> OpenAsync(int node = 1, string database = "bookreader")
    {
        var conn = Cluster.Superuser(node, database);
        await conn.OpenAsync();
        return conn;
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
