using System.Diagnostics;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// The S3 repository end to end against s3rver on 127.0.0.1:19001 (started here, stopped by PID):
/// archiving, physical backup, restore, prune for real, restore from the kept backup.
/// </summary>
public sealed class BackupS3Tests : IAsyncLifetime
{
    private const int S3Port = 19001;
    private readonly TestCluster _cluster = new(subnet: 71, nodes: 1, extraYaml:
        $"backup:\n  repository: {{ type: s3, endpoint: 'http://127.0.0.1:{S3Port}', bucket: pgwarden, region: us-east-1, prefix: it, credentials_file: s3.credentials }}\n  archive_timeout: 60\n");
    private Process? _s3;

    public async Task InitializeAsync()
    {
        var dir = Path.Combine(PgWardenCli.RepoRoot, "tests", "s3rver");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", "s3rver")))
        {
            var install = Process.Start(new ProcessStartInfo("npm", "install --no-audit --no-fund") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true })!;
            await install.WaitForExitAsync();
            Assert.Equal(0, install.ExitCode);
        }
        var storage = Path.Combine(_cluster.Dir, "s3-storage");
        Directory.CreateDirectory(storage);
        _s3 = Process.Start(new ProcessStartInfo("node", $"run.js {S3Port} {storage} pgwarden") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true })!;
        var ready = await _s3.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (ready != "ready")
        {
            TestCluster.Signal(_s3.Id, 9);
            Assert.Fail($"s3rver did not start: {ready} {await _s3.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10))}");
        }
        // Keep draining its output so a full pipe never blocks it.
        _ = _s3.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _ = _s3.StandardError.BaseStream.CopyToAsync(Stream.Null);
        // s3rver's fixed development keys; 0644 here so the postgres OS user (archive_command) can read them.
        File.WriteAllText(Path.Combine(_cluster.Dir, "s3.credentials"), "access_key_id = S3RVER\nsecret_access_key = S3RVER\n");
        await _cluster.UpAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        if (_s3 is { HasExited: false })
        {
            TestCluster.Signal(_s3.Id, 15);
            await _s3.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private async Task<List<string>> RestoreAsync(string name, params string[] args) =>
        (await ScratchRestore.RunAsync(_cluster, name, args.Length > 0 ? ["--target-action", "pause", .. args] : args)).Markers;

    /// <summary>The keys in the bucket under the cluster's prefix, listed with the S3 API (not through pgwarden).</summary>
    private static async Task<List<string>> BucketAsync()
    {
        using var s3 = new Amazon.S3.AmazonS3Client(new Amazon.Runtime.BasicAWSCredentials("S3RVER", "S3RVER"),
            new Amazon.S3.AmazonS3Config { ServiceURL = $"http://127.0.0.1:{S3Port}", ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
        var keys = new List<string>();
        var request = new Amazon.S3.Model.ListObjectsV2Request { BucketName = "pgwarden", Prefix = "it/" };
        while (true)
        {
            var page = await s3.ListObjectsV2Async(request);
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            if (page.IsTruncated != true)
            {
                return keys;
            }
            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    [Fact]
    public async Task ArchiveBackupRestoreAndPruneOnS3()
    {
        await using var conn = _cluster.Superuser(1);
        await conn.OpenAsync();
        await BackupClusterFixture.Exec(conn, "CREATE TABLE markers (name text PRIMARY KEY)");
        var first = await _cluster.RunAsync("backup", "physical");
        Assert.True(first.ExitCode == 0, first.ToString());
        await BackupClusterFixture.Exec(conn, "INSERT INTO markers VALUES ('a')");
        await WalArchive.SwitchAndWaitAsync(conn);
        var point = await _cluster.RunAsync("restore-point", "after_a");
        Assert.True(point.ExitCode == 0, point.ToString());
        await BackupClusterFixture.Exec(conn, "INSERT INTO markers VALUES ('b')");
        await WalArchive.SwitchAndWaitAsync(conn);

        Assert.Equal(["a"], await RestoreAsync("r1", "--target-name", "after_a"));

        var second = await _cluster.RunAsync("backup", "physical");
        Assert.True(second.ExitCode == 0, second.ToString());
        await BackupClusterFixture.Exec(conn, "INSERT INTO markers VALUES ('c')");
        await WalArchive.SwitchAndWaitAsync(conn);

        // What is in the bucket, listed with the S3 API: both backups' manifests and the archived WAL.
        var firstId = first.Stdout.Split(' ', '\n').First(w => w.EndsWith("-physical", StringComparison.Ordinal));
        var secondId = second.Stdout.Split(' ', '\n').First(w => w.EndsWith("-physical", StringComparison.Ordinal));
        var before = await BucketAsync();
        Assert.Contains(before, k => k.EndsWith($"/backups/{firstId}/manifest.json", StringComparison.Ordinal));
        Assert.Contains(before, k => k.EndsWith($"/backups/{secondId}/manifest.json", StringComparison.Ordinal));
        var secondStart = CliJson.Backups((await _cluster.RunAsync("backup", "list", "--json")).Stdout)
            .Single(b => b.GetProperty("id").GetString() == secondId).GetProperty("start_lsn").GetString()!;
        var walBefore = before.Where(k => k.Contains("/wal/", StringComparison.Ordinal) && !k.EndsWith(".history.zst", StringComparison.Ordinal)).ToList();
        var prune = await _cluster.RunAsync("backup", "prune", "--keep-count", "1");
        Assert.True(prune.ExitCode == 0, prune.ToString());
        var after = await BucketAsync();
        Assert.DoesNotContain(after, k => k.Contains($"/backups/{firstId}/", StringComparison.Ordinal));
        Assert.Contains(after, k => k.EndsWith($"/backups/{secondId}/manifest.json", StringComparison.Ordinal));
        var walAfter = after.Where(k => k.Contains("/wal/", StringComparison.Ordinal) && !k.EndsWith(".history.zst", StringComparison.Ordinal)).ToList();
        Assert.True(walAfter.Count < walBefore.Count, $"prune removed no archived WAL (second backup starts at {secondStart})");

        // The kept backup still restores to the end of the archive: prune left every WAL it needs.
        Assert.Equal(["a", "b", "c"], await RestoreAsync("r2"));
    }
}
