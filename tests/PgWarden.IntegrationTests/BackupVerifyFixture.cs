using System.Text.Json;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// One 1-node cluster on 127.0.72.0/24 with a filesystem repository, a table of 1000 rows in the
/// app database, one physical and one logical backup; verify tests run against these.
/// </summary>
public sealed class BackupVerifyFixture : IAsyncLifetime
{
    public const int Rows = 30000;

    public TestCluster Cluster { get; } = new(subnet: 72, nodes: 1, extraYaml: "backup:\n  repository: { type: fs, path: repo }\n  encryption: none   # these tests read and damage the plain repository format directly\n");

    public string Repo => Path.Combine(Cluster.Dir, "repo");

    /// <summary>Where verify unpacks and restores (the tests check it is left empty).</summary>
    public string Scratch => Path.Combine(Cluster.Dir, "scratch");

    public string PhysicalId { get; private set; } = "";
    public string LogicalId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Scratch);
        await Cluster.UpAsync();
        await using (var conn = Cluster.Superuser(1))
        {
            await conn.OpenAsync();
            await BackupClusterFixture.Exec(conn, $"CREATE TABLE verify_rows AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, {Rows}) g");
        }
        PhysicalId = await BackupAsync("physical");
        // 1 MB slices: verify_rows (about 2 MB) is read in slices, so the restore test loads slices too.
        LogicalId = await BackupAsync("logical", "--slice-mb", "1");
    }

    private async Task<string> BackupAsync(string type, params string[] args)
    {
        var result = await Cluster.RunAsync(["backup", type, .. args]);
        Assert.True(result.ExitCode == 0, result + Cluster.Logs());
        return result.Stdout.Split(' ', '\n').First(w => w.EndsWith("-" + type, StringComparison.Ordinal));
    }

    public Task DisposeAsync() => Cluster.DisposeAsync().AsTask();

    public string SystemDir => Directory.GetDirectories(Path.Combine(Repo, "it72")).Single();

    public string BackupFile(string id, string name) => Path.Combine(SystemDir, "backups", id, name);

    public string ArchivedWal(string name) => Path.Combine(SystemDir, "wal", name + ".zst");

    public JsonElement Manifest(string id) => JsonDocument.Parse(File.ReadAllText(BackupFile(id, "manifest.json"))).RootElement;

    public Task<CliResult> VerifyAsync(string id, params string[] args) =>
        Cluster.RunAsync(["backup", "verify", id, "--scratch-dir", Scratch, .. args]);

    /// <summary>The newest recorded verification of a backup, from `backup list --json`.</summary>
    public async Task<JsonElement> VerifiedAsync(string id)
    {
        var list = await Cluster.RunAsync("backup", "list", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        var backup = CliJson.Backups(list.Stdout).Single(b => b.GetProperty("id").GetString() == id);
        Assert.True(backup.TryGetProperty("verified", out var verified) && verified.ValueKind == JsonValueKind.Object, $"backup {id} has no recorded verification: {backup}");
        return verified;
    }

    /// <summary>Flips one byte of a file for the duration of <paramref name="body"/>, then puts it back.</summary>
    public static async Task WithFlippedByteAsync(string file, Func<Task> body)
    {
        var bytes = await File.ReadAllBytesAsync(file);
        var at = bytes.Length / 2;
        await using (var f = new FileStream(file, FileMode.Open, FileAccess.Write))
        {
            f.Position = at;
            f.WriteByte((byte)(bytes[at] ^ 0x5A));
        }
        try
        {
            await body();
        }
        finally
        {
            await using var f = new FileStream(file, FileMode.Open, FileAccess.Write);
            f.Position = at;
            f.WriteByte(bytes[at]);
        }
    }
}
