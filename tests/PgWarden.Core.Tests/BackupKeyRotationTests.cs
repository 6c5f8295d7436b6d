using PgWarden.Backup.Repository;
using PgWarden.Backup.Repository.Encryption;
using Xunit;

namespace PgWarden.Core.Tests;

/// <summary><c>backup rotate-key</c>: re-wrapping data keys under a new master key, interrupted at every stage.</summary>
public sealed class BackupKeyRotationTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pgw-rotate-");
    private readonly string _keyFile;
    private readonly MasterKey _old = MasterKey.Generate();
    private readonly FailingRepository _raw = new();
    private readonly List<string> _output = [];

    public BackupKeyRotationTests()
    {
        _keyFile = Path.Combine(_dir.FullName, "backup.key");
        _old.Save(_keyFile, null);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static string FileKey(int i) => $"demo/7300000000000000001/wal/0000000100000000000000{i:X2}.zst";

    private static byte[] Content(int i) => [.. Enumerable.Range(0, 300 + i).Select(b => (byte)(b * i))];

    /// <summary>The repository as a process started now sees it: the key ring read from the files.</summary>
    private EncryptedRepository FromFiles() => new(_raw, () => KeyRing.Load(_keyFile), 64);

    private static EncryptedRepository With(IBackupRepository raw, MasterKey key) => new(raw, () => new KeyRing(key), 64);

    private KeyRotation Rotation() => new(_raw, _keyFile, null, _output.Add);

    private static async Task PutAsync(IBackupRepository repo, int i) =>
        Assert.True(await repo.PutIfAbsentAsync(FileKey(i), new MemoryStream(Content(i)), new Dictionary<string, string>(), CancellationToken.None));

    private static async Task AssertReadableAsync(IBackupRepository repo, params int[] files)
    {
        foreach (var i in files)
        {
            await using var s = await repo.GetAsync(FileKey(i), CancellationToken.None);
            using var m = new MemoryStream();
            await s.CopyToAsync(m);
            Assert.Equal(Content(i), m.ToArray());
        }
    }

    private Dictionary<string, byte[]> DataObjects() =>
        _raw.Objects.Where(kv => !kv.Key.StartsWith(WrappedDataKey.Root, StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value.Data);

    private async Task<MasterKey> AssertRotatedAsync(params int[] files)
    {
        Assert.False(File.Exists(KeyRing.NewPath(_keyFile)));
        Assert.False(File.Exists(KeyRing.OldPath(_keyFile)));
        var current = MasterKey.Load(_keyFile);
        Assert.NotEqual(_old.Id, current.Id);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_keyFile));
        await AssertReadableAsync(With(_raw, current), files);
        Assert.DoesNotContain(_raw.Objects.Keys, k => k.EndsWith("." + _old.Id, StringComparison.Ordinal));
        foreach (var i in files)
        {
            await Assert.ThrowsAsync<EncryptedObjectException>(() => AssertReadableAsync(With(_raw, _old), i));
        }
        return current;
    }

    [Fact]
    public async Task Rotation_rewraps_every_data_key_and_rewrites_no_data()
    {
        for (var i = 1; i <= 5; i++)
        {
            await PutAsync(FromFiles(), i);
        }
        var before = DataObjects();
        var outcome = await Rotation().RunAsync(CancellationToken.None);
        Assert.Equal(5, outcome.Rewrapped);
        Assert.Equal(5, outcome.Removed);
        Assert.Equal(before.Keys.Order(), DataObjects().Keys.Order());
        Assert.All(before, kv => Assert.Equal(kv.Value, _raw.Objects[kv.Key].Data));
        await AssertRotatedAsync(1, 2, 3, 4, 5);
    }

    [Fact]
    public async Task Interrupted_while_rewrapping_everything_stays_readable_and_a_rerun_completes()
    {
        for (var i = 1; i <= 6; i++)
        {
            await PutAsync(FromFiles(), i);
        }
        _raw.FailPutsUnder(WrappedDataKey.Root, after: 3);
        await Assert.ThrowsAsync<IOException>(() => Rotation().RunAsync(CancellationToken.None));
        _raw.Heal();
        // Half the data keys have a wrapping under the new key: KEY_FILE still holds the old key, KEY_FILE.new the new.
        Assert.True(File.Exists(KeyRing.NewPath(_keyFile)));
        Assert.Equal(_old.Id, MasterKey.Load(_keyFile).Id);
        await AssertReadableAsync(FromFiles(), 1, 2, 3, 4, 5, 6);
        // Both keys are accepted: each file opens with the new key alone where it was re-wrapped, with the old key alone everywhere.
        await AssertReadableAsync(With(_raw, _old), 1, 2, 3, 4, 5, 6);
        // A file written meanwhile is wrapped under both.
        await PutAsync(FromFiles(), 7);
        var next = MasterKey.Load(KeyRing.NewPath(_keyFile));
        await AssertReadableAsync(With(_raw, next), 7);

        await Rotation().RunAsync(CancellationToken.None);
        var current = await AssertRotatedAsync(1, 2, 3, 4, 5, 6, 7);
        Assert.Equal(next.Id, current.Id);
    }

    [Fact]
    public async Task Interrupted_while_removing_old_wrappings_everything_stays_readable_and_a_rerun_completes()
    {
        for (var i = 1; i <= 4; i++)
        {
            await PutAsync(FromFiles(), i);
        }
        _raw.FailDeletesAfter(2);
        await Assert.ThrowsAsync<IOException>(() => Rotation().RunAsync(CancellationToken.None));
        _raw.Heal();
        // The new key took KEY_FILE's place, the old one waits in KEY_FILE.old; both are accepted.
        Assert.True(File.Exists(KeyRing.OldPath(_keyFile)));
        Assert.False(File.Exists(KeyRing.NewPath(_keyFile)));
        await AssertReadableAsync(FromFiles(), 1, 2, 3, 4);
        await PutAsync(FromFiles(), 5);

        await Rotation().RunAsync(CancellationToken.None);
        Assert.Contains(_output, l => l.StartsWith("resuming", StringComparison.Ordinal));
        await AssertRotatedAsync(1, 2, 3, 4, 5);
    }

    [Fact]
    public async Task A_writer_that_read_the_old_key_before_the_rotation_wraps_under_the_new_key_too()
    {
        await PutAsync(FromFiles(), 1);
        var stale = true;
        var writer = new EncryptedRepository(_raw, () =>
        {
            if (stale)
            {
                stale = false;
                return new KeyRing(_old);
            }
            return KeyRing.Load(_keyFile);
        }, 64);
        // The rotation completes while the writer holds the old ring (here: before it stores its object).
        await Rotation().RunAsync(CancellationToken.None);
        await PutAsync(writer, 2);
        await AssertReadableAsync(With(_raw, MasterKey.Load(_keyFile)), 1, 2);
    }

    [Fact]
    public async Task A_rotation_stops_before_deleting_anything_when_a_wrapping_was_altered()
    {
        await PutAsync(FromFiles(), 1);
        await PutAsync(FromFiles(), 2);
        var wrap = _raw.Objects.Keys.First(k => k.StartsWith(WrappedDataKey.ObjectPrefix(FileKey(2)), StringComparison.Ordinal));
        var blob = (byte[])_raw.Objects[wrap].Data.Clone();
        blob[50] ^= 1;
        _raw.Objects[wrap] = (blob, _raw.Objects[wrap].Meta);
        var e = await Assert.ThrowsAsync<EncryptedObjectException>(() => Rotation().RunAsync(CancellationToken.None));
        Assert.Contains(FileKey(2), e.Message);
        Assert.Contains(_raw.Objects.Keys, k => k.EndsWith("." + _old.Id, StringComparison.Ordinal) && k.Contains(FileKey(1), StringComparison.Ordinal));
        await AssertReadableAsync(FromFiles(), 1);
    }

    private KeyRotation Rotation(RotationEnd end) => new(_raw, _keyFile, null, _output.Add, end);

    /// <summary>Another database host: its own copy of the key file, the same repository.</summary>
    private (string KeyFile, EncryptedRepository Repo) OtherHost()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir.FullName, "host-b"));
        var keyFile = Path.Combine(dir.FullName, "backup.key");
        _old.Save(keyFile, null);
        return (keyFile, new EncryptedRepository(_raw, () => KeyRing.Load(keyFile), 64));
    }

    private int WrappingsUnder(MasterKey key) => _raw.Objects.Keys.Count(k => k.StartsWith(WrappedDataKey.Root, StringComparison.Ordinal) && k.EndsWith("." + key.Id, StringComparison.Ordinal));

    [Fact]
    public async Task Several_hosts_prepare_switch_and_retire_with_every_file_readable_on_every_host_at_every_step()
    {
        var (keyB, hostB) = OtherHost();
        await PutAsync(FromFiles(), 1);
        await PutAsync(hostB, 2);

        // 1. --prepare: only KEY_FILE.new; the repository is not touched.
        var objects = _raw.Objects.Keys.Order().ToList();
        var prepared = await Rotation(RotationEnd.NewKeyWritten).RunAsync(CancellationToken.None);
        Assert.False(prepared.Completed);
        Assert.Equal(objects, _raw.Objects.Keys.Order());
        Assert.Equal(_old.Id, MasterKey.Load(_keyFile).Id);
        var next = MasterKey.Load(KeyRing.NewPath(_keyFile));
        Assert.Equal(prepared.NewKeyId, next.Id);
        // Run again, it keeps the same new key.
        Assert.Equal(next.Id, (await Rotation(RotationEnd.NewKeyWritten).RunAsync(CancellationToken.None)).NewKeyId);

        // 2. KEY_FILE.new copied to host B: from now on B wraps under both keys too.
        File.Copy(KeyRing.NewPath(_keyFile), KeyRing.NewPath(keyB));
        await PutAsync(hostB, 3);
        await AssertReadableAsync(With(_raw, next), 3);

        // 3. --keep-old on A: everything re-wrapped, the new key current on A, the old wrappings and KEY_FILE.old kept.
        var switched = await Rotation(RotationEnd.Switched).RunAsync(CancellationToken.None);
        Assert.False(switched.Completed);
        Assert.Equal(next.Id, MasterKey.Load(_keyFile).Id);
        Assert.True(File.Exists(KeyRing.OldPath(_keyFile)));
        Assert.Equal(3, WrappingsUnder(_old));
        await PutAsync(hostB, 4);   // B: old key current, new key next: both wrappings
        await PutAsync(FromFiles(), 5);   // A: new key current, old key readable only
        await AssertReadableAsync(hostB, 1, 2, 3, 4, 5);
        await AssertReadableAsync(FromFiles(), 1, 2, 3, 4, 5);
        // Every file opens with the new key alone: B may now switch.
        await AssertReadableAsync(With(_raw, next), 1, 2, 3, 4, 5);

        // 4. B makes the new key current (mv KEY_FILE.new KEY_FILE): it keeps reading everything.
        File.Move(KeyRing.NewPath(keyB), keyB, overwrite: true);
        await AssertReadableAsync(hostB, 1, 2, 3, 4, 5);
        await PutAsync(hostB, 6);

        // 5. A run without --keep-old retires the old key: no file is left that it opens.
        var done = await Rotation().RunAsync(CancellationToken.None);
        Assert.True(done.Completed);
        await AssertRotatedAsync(1, 2, 3, 4, 5, 6);
        await AssertReadableAsync(hostB, 1, 2, 3, 4, 5, 6);
    }

    [Fact]
    public async Task Prepare_is_refused_while_a_kept_old_key_waits_to_be_retired_and_keep_old_again_changes_nothing()
    {
        await PutAsync(FromFiles(), 1);
        await Rotation(RotationEnd.Switched).RunAsync(CancellationToken.None);
        var current = MasterKey.Load(_keyFile);
        var e = await Assert.ThrowsAsync<PgWarden.Core.Errors.PgWardenException>(() => Rotation(RotationEnd.NewKeyWritten).RunAsync(CancellationToken.None));
        Assert.Equal(PgWarden.Core.Errors.ExitCodes.UnsafeRefused, e.ExitCode);
        Assert.Contains("is not finished", e.Message);

        var again = await Rotation(RotationEnd.Switched).RunAsync(CancellationToken.None);
        Assert.False(again.Completed);
        Assert.Equal(current.Id, MasterKey.Load(_keyFile).Id);
        Assert.True(File.Exists(KeyRing.OldPath(_keyFile)));
        Assert.Equal(1, WrappingsUnder(_old));

        await Rotation().RunAsync(CancellationToken.None);
        await AssertRotatedAsync(1);
    }

    /// <summary>An in-memory repository that can be made to fail its Nth put under a prefix, or its Nth delete.</summary>
    private sealed class FailingRepository : IBackupRepository
    {
        private readonly InMemoryRepository _inner = new();
        private string? _failPrefix;
        private int _putsLeft = int.MaxValue;
        private int _deletesLeft = int.MaxValue;

        public Dictionary<string, (byte[] Data, Dictionary<string, string> Meta)> Objects => _inner.Objects;

        public void FailPutsUnder(string prefix, int after) => (_failPrefix, _putsLeft) = (prefix, after);

        public void FailDeletesAfter(int after) => _deletesLeft = after;

        public void Heal() => (_failPrefix, _putsLeft, _deletesLeft) = (null, int.MaxValue, int.MaxValue);

        public string Description => _inner.Description;

        public Task<bool> PutIfAbsentAsync(string key, Stream content, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
        {
            if (_failPrefix is not null && key.StartsWith(_failPrefix, StringComparison.Ordinal) && _putsLeft-- <= 0)
            {
                throw new IOException("injected: the rotation is killed here");
            }
            return _inner.PutIfAbsentAsync(key, content, metadata, cancellationToken);
        }

        public Task<Stream> GetAsync(string key, CancellationToken cancellationToken) => _inner.GetAsync(key, cancellationToken);
        public Task<RepositoryObject?> StatAsync(string key, CancellationToken cancellationToken) => _inner.StatAsync(key, cancellationToken);
        public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) => _inner.ExistsAsync(key, cancellationToken);
        public Task<IReadOnlyList<RepositoryObject>> ListAsync(string prefix, CancellationToken cancellationToken) => _inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken)
        {
            if (_deletesLeft-- <= 0)
            {
                throw new IOException("injected: the rotation is killed here");
            }
            return _inner.DeleteAsync(key, cancellationToken);
        }

        public Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken) => _inner.DeletePrefixAsync(prefix, cancellationToken);
    }
}
