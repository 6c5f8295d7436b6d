using System.Diagnostics;
using System.Text;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// Encrypted backups end to end on a 1-node cluster on 127.0.131.0/24 (docs/backup-encryption.md): `up` makes the
/// master key, physical and logical backups and archived WAL hold no plaintext, they restore, `backup rotate-key`
/// moves the repository to a new key without rewriting data, they restore again with only the new key, and a
/// file swapped inside the repository is refused with one line naming it.
/// </summary>
public sealed class BackupEncryptionTests
{
    private const string KnownRow = "pgw-known-row-c0ffee-7f3a9c";

    [Fact]
    public async Task EncryptedBackupsRestoreRotateAndRefuseSwappedFiles()
    {
        var clock = Stopwatch.StartNew();
        await using var cluster = new TestCluster(subnet: 131, nodes: 1,
            extraYaml: "backup:\n  repository: { type: fs, path: repo }\n  archive_timeout: 60\n  schedule: { logical: 'off', physical: 'off', verify: 'off' }\n");
        await cluster.UpAsync();
        var repo = Path.Combine(cluster.Dir, "repo");
        var keyFile = Path.Combine(cluster.Dir, "backup.key");

        // A new cluster without an encryption section gets a key file, private, outside the repository.
        Assert.True(File.Exists(keyFile), "pgwarden up did not create backup.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        var keyLine = File.ReadAllLines(keyFile).Single(l => l.StartsWith("pgwarden-backup-key-v1:", StringComparison.Ordinal));
        var keySecret = keyLine.Split(':', 2)[1];

        await using (var conn = cluster.Superuser(1))
        {
            await conn.OpenAsync();
            await BackupClusterFixture.Exec(conn, "CREATE TABLE markers (name text PRIMARY KEY, filler text)");
            await BackupClusterFixture.Exec(conn, $"INSERT INTO markers VALUES ('{KnownRow}', repeat('{KnownRow} ', 20))");
            await WalArchive.SwitchAndWaitAsync(conn);
        }
        var physical = await cluster.RunAsync("backup", "physical");
        Assert.True(physical.ExitCode == 0, physical + cluster.Logs());
        var logical = await cluster.RunAsync("backup", "logical");
        Assert.True(logical.ExitCode == 0, logical.ToString());
        await using (var conn = cluster.Superuser(1))
        {
            await conn.OpenAsync();
            await WalArchive.SwitchAndWaitAsync(conn);
        }

        // Nothing in the repository reads as the row, as the key, or as a plain zstd/JSON file.
        var files = Directory.GetFiles(repo, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.Contains("/wal/", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("base.tar.zst", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            var text = Encoding.Latin1.GetString(bytes);
            Assert.DoesNotContain(KnownRow, text);
            Assert.DoesNotContain(keySecret, text);
            var name = Path.GetFileName(file);
            if (!name.EndsWith(".meta", StringComparison.Ordinal) && name != "encryption" && !file.Contains("/_keys/", StringComparison.Ordinal))
            {
                Assert.True(text.StartsWith("PGWENC", StringComparison.Ordinal), $"{file} is not encrypted");
            }
        }

        var list = await cluster.RunAsync("backup", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        var verify = await cluster.RunAsync("backup", "verify", "latest", "--type", "logical");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var prune = await cluster.RunAsync("backup", "prune", "--dry-run");
        Assert.True(prune.ExitCode == 0, prune.ToString());

        // Restores: physical (base backup + encrypted WAL through wal-fetch) and logical.
        var first = await ScratchRestore.RunAsync(cluster, "enc1");
        Assert.Equal([KnownRow], first.Markers);
        var restoreLogical = await cluster.RunAsync("restore-logical", "latest", "--db", "enc_restored");
        Assert.True(restoreLogical.ExitCode == 0, restoreLogical.ToString());
        await using (var conn = cluster.Superuser(1, "enc_restored"))
        {
            await conn.OpenAsync();
            Assert.Equal(KnownRow, await BackupClusterFixture.Scalar<string>(conn, "SELECT name FROM markers"));
        }

        // Rotation: only key objects change; the data files are the same bytes.
        var dataBefore = Directory.GetFiles(repo, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/_keys/", StringComparison.Ordinal) && !f.EndsWith(".meta", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllBytes);
        var rotate = await cluster.RunAsync("backup", "rotate-key");
        Assert.True(rotate.ExitCode == 0, rotate.ToString());
        Assert.Contains("rotation complete", rotate.Stdout);
        Assert.DoesNotContain(keySecret, rotate.Stdout + rotate.Stderr);
        Assert.NotEqual(keyLine, File.ReadAllLines(keyFile).Single(l => l.StartsWith("pgwarden-backup-key-v1:", StringComparison.Ordinal)));
        Assert.False(File.Exists(keyFile + ".old") || File.Exists(keyFile + ".new"), "rotation left a key file behind");
        foreach (var (file, bytes) in dataBefore)
        {
            Assert.True(File.Exists(file) && File.ReadAllBytes(file).AsSpan().SequenceEqual(bytes), $"rotation changed {file}");
        }

        await using (var conn = cluster.Superuser(1))
        {
            await conn.OpenAsync();
            await BackupClusterFixture.Exec(conn, "INSERT INTO markers VALUES ('after-rotation', '')");
            await WalArchive.SwitchAndWaitAsync(conn);
        }
        var second = await ScratchRestore.RunAsync(cluster, "enc2");
        Assert.Equal(["after-rotation", KnownRow], second.Markers);

        // Someone who can write the repository puts one archived WAL segment under another's name (with its
        // checksums, and its key objects): refused, one line naming the file, non-zero exit.
        var wal = Directory.GetFiles(Path.Combine(repo, $"it131"), "*.zst", SearchOption.AllDirectories)
            .Where(f => f.Contains("/wal/", StringComparison.Ordinal) && Path.GetFileName(f).Length == 28).Order(StringComparer.Ordinal).ToList();
        Assert.True(wal.Count >= 2, string.Join("\n", wal));
        File.Copy(wal[1], wal[0], overwrite: true);
        File.Copy(wal[1] + ".meta", wal[0] + ".meta", overwrite: true);
        string KeysOf(string file) => Path.Combine(repo, "_keys", Path.GetRelativePath(repo, file));
        foreach (var wrapping in Directory.GetFiles(KeysOf(wal[1])))
        {
            File.Copy(wrapping, Path.Combine(KeysOf(wal[0]), Path.GetFileName(wrapping)), overwrite: true);
        }
        var fetchTo = Path.Combine(cluster.Dir, "fetched-segment");
        var fetch = await cluster.RunAsync("wal-fetch", "--data-dir", cluster.DataDir(1), Path.GetFileName(wal[0])[..^4], fetchTo);
        Assert.NotEqual(0, fetch.ExitCode);
        Assert.False(File.Exists(fetchTo));
        var line = fetch.Stderr.Trim();
        Assert.DoesNotContain('\n', line);
        Assert.Contains(Path.GetFileName(wal[0])[..^4], line);
        Assert.Contains("authentication", line);

        // And an old manifest (the logical backup's) over the physical backup's: listing refuses it by name.
        var manifests = Directory.GetFiles(repo, "manifest.json", SearchOption.AllDirectories);
        var physicalManifest = manifests.Single(m => m.Contains("-physical/", StringComparison.Ordinal));
        File.Copy(manifests.First(m => m != physicalManifest), physicalManifest, overwrite: true);
        var swappedList = await cluster.RunAsync("backup", "list");
        Assert.NotEqual(0, swappedList.ExitCode);
        Assert.Contains("manifest.json", swappedList.Stderr);
        Assert.DoesNotContain('\n', swappedList.Stderr.Trim());
        Console.WriteLine($"BackupEncryptionTests took {clock.Elapsed.TotalSeconds:0} s");
    }
}
