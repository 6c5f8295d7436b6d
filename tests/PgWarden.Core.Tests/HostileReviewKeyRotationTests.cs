using PgWarden.Backup.Repository.Encryption;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Tests;

/// <summary>Hostile review 17: `backup rotate-key` in a repository that more than one cluster writes to. Failed on the code as merged.</summary>
public sealed class HostileReviewKeyRotationTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pgw-hostile17-rotate-");
    private readonly string _keyFile;
    private readonly MasterKey _demoKey = MasterKey.Generate();
    private readonly MasterKey _otherKey = MasterKey.Generate();
    private readonly InMemoryRepository _raw = new();

    public HostileReviewKeyRotationTests()
    {
        _keyFile = Path.Combine(_dir.FullName, "backup.key");
        _demoKey.Save(_keyFile, null);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static string FileKey(string cluster, int i) => $"{cluster}/7300000000000000001/wal/0000000100000000000000{i:X2}.zst";

    private static byte[] Content(int i) => [.. Enumerable.Range(0, 300 + i).Select(b => (byte)(b * i))];

    private static async Task PutAsync(PgWarden.Backup.Repository.IBackupRepository repo, string cluster, int i) =>
        Assert.True(await repo.PutIfAbsentAsync(FileKey(cluster, i), new MemoryStream(Content(i)), new Dictionary<string, string>(), CancellationToken.None));

    private static async Task<byte[]> ReadAsync(PgWarden.Backup.Repository.IBackupRepository repo, string cluster, int i)
    {
        await using var s = await repo.GetAsync(FileKey(cluster, i), CancellationToken.None);
        using var m = new MemoryStream();
        await s.CopyToAsync(m);
        return m.ToArray();
    }

    /// <summary>
    /// The repository layout keeps each cluster under its own prefix (&lt;cluster&gt;/&lt;system-id&gt;/…, an
    /// encryption marker per cluster), so one bucket or directory can hold several clusters, each with its own
    /// master key. rotate-key listed and re-wrapped the wrappings of the whole repository: another cluster's data
    /// keys, wrapped under its own key only, counted as "wrapped only under master keys that are neither …",
    /// so the rotation of this cluster never completed (exit 5 every time, KEY_FILE.old kept for ever).
    /// </summary>
    [Fact]
    public async Task RotatingOneClustersKeyLeavesAnotherClusterInTheSameRepositoryAlone()
    {
        var demo = new EncryptedRepository(_raw, () => KeyRing.Load(_keyFile), 64);
        var other = new EncryptedRepository(_raw, () => new KeyRing(_otherKey), 64);
        await PutAsync(demo, "demo", 1);
        await PutAsync(other, "other", 2);

        var outcome = await new KeyRotation(_raw, _keyFile, null, _ => { }, RotationEnd.Complete, cluster: "demo").RunAsync(CancellationToken.None);

        Assert.True(outcome.Completed);
        Assert.Equal(1, outcome.Rewrapped);
        Assert.False(File.Exists(KeyRing.OldPath(_keyFile)));
        Assert.Equal(Content(1), await ReadAsync(new EncryptedRepository(_raw, () => new KeyRing(MasterKey.Load(_keyFile)), 64), "demo", 1));
        Assert.Equal(Content(2), await ReadAsync(other, "other", 2));
        Assert.DoesNotContain(_raw.Objects.Keys, k => k.StartsWith(WrappedDataKey.Root + "other/", StringComparison.Ordinal) && !k.EndsWith("." + _otherKey.Id, StringComparison.Ordinal));
    }

    /// <summary>
    /// Scoping the rotation to the cluster must not strand files of this key under another prefix (a copy of the
    /// cluster under another name, or one sharing the key): they get a wrapping under the new key too, and keep their
    /// old one (another cluster may still read with it).
    /// </summary>
    [Fact]
    public async Task FilesOfThisKeyUnderAnotherClusterNameStayReadableWithTheNewKey()
    {
        var demo = new EncryptedRepository(_raw, () => KeyRing.Load(_keyFile), 64);
        await PutAsync(demo, "demo", 1);
        await PutAsync(new EncryptedRepository(_raw, () => new KeyRing(_demoKey), 64), "copy", 3);

        var outcome = await new KeyRotation(_raw, _keyFile, null, _ => { }, RotationEnd.Complete, cluster: "demo").RunAsync(CancellationToken.None);

        Assert.True(outcome.Completed);
        var rotated = new EncryptedRepository(_raw, () => new KeyRing(MasterKey.Load(_keyFile)), 64);
        Assert.Equal(Content(1), await ReadAsync(rotated, "demo", 1));
        Assert.Equal(Content(3), await ReadAsync(rotated, "copy", 3));
        Assert.Equal(Content(3), await ReadAsync(new EncryptedRepository(_raw, () => new KeyRing(_demoKey), 64), "copy", 3));
        await Assert.ThrowsAsync<EncryptedObjectException>(() => ReadAsync(new EncryptedRepository(_raw, () => new KeyRing(_demoKey), 64), "demo", 1));
    }
}
