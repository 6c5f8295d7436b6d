using System.Net.Sockets;
using System.Text.RegularExpressions;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>`backup verify` and `--restore-test` on real backups, good and damaged, and what `backup list` records.</summary>
public sealed partial class BackupVerifyTests(BackupVerifyFixture fixture) : IClassFixture<BackupVerifyFixture>
{
    private const int OperationFailed = 10;

    [GeneratedRegex(@"started on 127\.0\.0\.1:(\d+)")]
    private static partial Regex Started();

    private void AssertNothingLeft(CliResult result)
    {
        Assert.Empty(Directory.EnumerateFileSystemEntries(fixture.Scratch));
        foreach (Match m in Started().Matches(result.Stdout))
        {
            using var client = new TcpClient();
            Assert.ThrowsAny<SocketException>(() => client.Connect("127.0.0.1", int.Parse(m.Groups[1].Value)));
        }
    }

    [Fact]
    public async Task AGoodPhysicalBackupVerifiesAndIsRecordedOk()
    {
        var result = await fixture.VerifyAsync(fixture.PhysicalId);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("checksums ok", result.Stdout);
        Assert.Contains("pg_verifybackup ok", result.Stdout);
        AssertNothingLeft(result);
        var verified = await fixture.VerifiedAsync(fixture.PhysicalId);
        Assert.True(verified.GetProperty("ok").GetBoolean(), verified.ToString());
        Assert.False(verified.GetProperty("restore_tested").GetBoolean());
    }

    [Fact]
    public async Task APhysicalRestoreTestPromotesAndReadsEveryTable()
    {
        var result = await fixture.VerifyAsync(fixture.PhysicalId, "--restore-test");
        Assert.True(result.ExitCode == 0, result.ToString());
        // The scratch copy is gone; the count it reported is checked against the source, counted here.
        await using var source = fixture.Cluster.Superuser(1);
        await source.OpenAsync();
        Assert.Contains($"public.verify_rows {await BackupClusterFixture.Scalar<long>(source, "SELECT count(*) FROM verify_rows")}", result.Stdout);
        Assert.Contains("promoted", result.Stdout);
        AssertNothingLeft(result);
        var verified = await fixture.VerifiedAsync(fixture.PhysicalId);
        Assert.True(verified.GetProperty("ok").GetBoolean(), verified.ToString());
        Assert.True(verified.GetProperty("restore_tested").GetBoolean());
    }

    [Fact]
    public async Task AFlippedByteInTheStoredBaseBackupFailsNamingTheFile()
    {
        var file = fixture.BackupFile(fixture.PhysicalId, "base.tar.zst");
        await BackupVerifyFixture.WithFlippedByteAsync(file, async () =>
        {
            var result = await fixture.VerifyAsync(fixture.PhysicalId, "--restore-test");
            Assert.True(result.ExitCode == OperationFailed, result.ToString());
            var error = result.Stderr.Trim();
            Assert.Single(error.Split('\n'));
            Assert.Contains("FAILED verification", error);
            Assert.Contains("base.tar.zst", error);
            AssertNothingLeft(result);
            var verified = await fixture.VerifiedAsync(fixture.PhysicalId);
            Assert.False(verified.GetProperty("ok").GetBoolean(), verified.ToString());
            Assert.Contains("base.tar.zst", verified.GetProperty("detail").GetString());
        });
    }

    [Fact]
    public async Task AFlippedByteInANeededArchivedWalSegmentFails()
    {
        var startWal = fixture.Manifest(fixture.PhysicalId).GetProperty("start_wal").GetString()!;
        await BackupVerifyFixture.WithFlippedByteAsync(fixture.ArchivedWal(startWal), async () =>
        {
            var result = await fixture.VerifyAsync(fixture.PhysicalId);
            Assert.True(result.ExitCode == OperationFailed, result.ToString());
            Assert.Contains(startWal, result.Stderr);
            Assert.Contains("corrupted", result.Stderr);
            AssertNothingLeft(result);
            Assert.False((await fixture.VerifiedAsync(fixture.PhysicalId)).GetProperty("ok").GetBoolean());
        });
    }

    [Fact]
    public async Task ALogicalBackupVerifiesAndRestoreTests()
    {
        var plain = await fixture.VerifyAsync(fixture.LogicalId);
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Contains("checksummed", plain.Stdout);

        var result = await fixture.VerifyAsync("latest", "--restore-test");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(fixture.LogicalId, result.Stdout);
        Assert.Contains("matches the backup", result.Stdout);

        // Counted by the test, not read from the tool's report: the same backup restored holds the source's rows.
        var restore = await fixture.Cluster.RunAsync("restore-logical", fixture.LogicalId, "--db", "verify_counted");
        Assert.True(restore.ExitCode == 0, restore.ToString());
        await using var source = fixture.Cluster.Superuser(1);
        await source.OpenAsync();
        await using var copy = fixture.Cluster.Superuser(1, "verify_counted");
        await copy.OpenAsync();
        const string digest = "SELECT count(*) || ':' || md5(string_agg(id || '/' || v, ',' ORDER BY id)) FROM verify_rows";
        Assert.Equal(await BackupClusterFixture.Scalar<string>(source, digest), await BackupClusterFixture.Scalar<string>(copy, digest));
        AssertNothingLeft(result);
        var verified = await fixture.VerifiedAsync(fixture.LogicalId);
        Assert.True(verified.GetProperty("ok").GetBoolean(), verified.ToString());
        Assert.True(verified.GetProperty("restore_tested").GetBoolean());
    }

    [Fact]
    public async Task AnUnknownIdIsRefusedListingTheBackups()
    {
        var result = await fixture.VerifyAsync("20010101T000000Z-physical");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(fixture.PhysicalId, result.Stderr);
        Assert.Contains(fixture.LogicalId, result.Stderr);
    }
}
