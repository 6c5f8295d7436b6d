using System.Diagnostics;
using Npgsql;

// failover-probe CONNSTRING SECONDS OUTFILE TABLE
// Inserts a numbered row into TABLE (its own: two probes must not share one) every ~20 ms on a new connection and writes one line per attempt:
// "ok <id> <ms>" or "fail <id> <ms> <error>", then "lost <ids…>" after re-reading the table.
// The password comes from PGPASSWORD, never the command line.
if (args.Length != 4 || !System.Text.RegularExpressions.Regex.IsMatch(args[3], "^[a-z_][a-z0-9_]*$"))
{
    Console.Error.WriteLine("usage: failover-probe CONNSTRING SECONDS OUTFILE TABLE (a lower-case SQL identifier)");
    return 2;
}
var table = args[3];
var cs = new NpgsqlConnectionStringBuilder(args[0])
{
    Password = Environment.GetEnvironmentVariable("PGPASSWORD"),
    Pooling = false,
    Timeout = 2,
    CommandTimeout = 3,
};
var seconds = double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
await using var output = new StreamWriter(args[2]) { AutoFlush = true };
await using (var setup = new NpgsqlConnection(cs.ConnectionString))
{
    await setup.OpenAsync();
    await new NpgsqlCommand($"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int PRIMARY KEY)", setup).ExecuteNonQueryAsync();
}
var clock = Stopwatch.StartNew();
var acked = new List<int>();
var id = 0;
while (clock.Elapsed.TotalSeconds < seconds)
{
    id++;
    var started = clock.Elapsed.TotalMilliseconds;
    try
    {
        await using var conn = new NpgsqlConnection(cs.ConnectionString);
        await conn.OpenAsync();
        await new NpgsqlCommand($"INSERT INTO {table} VALUES ({id})", conn).ExecuteNonQueryAsync();
        acked.Add(id);
        await output.WriteLineAsync($"ok {id} {clock.Elapsed.TotalMilliseconds:0}");
    }
    catch (Exception e)
    {
        await output.WriteLineAsync($"fail {id} {started:0} {e.Message.Replace('\n', ' ')}");
    }
    await Task.Delay(20);
}
var present = new HashSet<int>();
for (var attempt = 0; attempt < 30; attempt++)
{
    try
    {
        await using var conn = new NpgsqlConnection(cs.ConnectionString);
        await conn.OpenAsync();
        await using var r = await new NpgsqlCommand($"SELECT id FROM {table}", conn).ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            present.Add(r.GetInt32(0));
        }
        break;
    }
    catch (Exception)
    {
        await Task.Delay(1000);
    }
}
await output.WriteLineAsync("lost " + string.Join(' ', acked.Where(a => !present.Contains(a))));
return 0;
