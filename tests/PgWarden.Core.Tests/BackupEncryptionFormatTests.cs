using System.Security.Cryptography;
using System.Text;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Repository.Encryption;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using Xunit;

namespace PgWarden.Core.Tests;

/// <summary>The encrypted object format, its key wrapping and the encrypting repository (docs/backup-encryption.md).</summary>
public sealed class BackupEncryptionFormatTests
{
    private const int Chunk = 64;
    private const string Key = "demo/7300000000000000001/backups/20250101T000000Z-physical/base.tar.zst";
    private readonly MasterKey _master = MasterKey.Generate();

    private (InMemoryRepository Raw, EncryptedRepository Repo) NewRepo(MasterKey? key = null, int chunk = Chunk)
    {
        var raw = new InMemoryRepository();
        var k = key ?? _master;
        return (raw, new EncryptedRepository(raw, () => new KeyRing(k), chunk));
    }

    private static async Task PutAsync(IBackupRepository repo, string key, byte[] data) =>
        Assert.True(await repo.PutIfAbsentAsync(key, new MemoryStream(data), new Dictionary<string, string> { ["sha256"] = "x" }, CancellationToken.None));

    private static async Task<byte[]> GetAsync(IBackupRepository repo, string key)
    {
        await using var s = await repo.GetAsync(key, CancellationToken.None);
        using var buffer = new MemoryStream();
        await s.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static byte[] Data(int n, int seed = 1)
    {
        var data = new byte[n];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk - 1)]
    [InlineData(Chunk)]
    [InlineData(Chunk + 1)]
    [InlineData(3 * Chunk)]
    [InlineData(5 * Chunk + 17)]
    public async Task Round_trip_of_every_size_around_chunk_boundaries(int size)
    {
        var (raw, repo) = NewRepo();
        var data = Data(size);
        await PutAsync(repo, Key, data);
        Assert.Equal(data, await GetAsync(repo, Key));
        var stored = raw.Objects[Key].Data;
        var chunks = Math.Max(1, (size + Chunk - 1) / Chunk) + (size > 0 && size % Chunk == 0 ? 0 : 0);
        Assert.Equal(EncryptedFormat.HeaderSize + size + EncryptedFormat.TagSize * chunks, stored.Length);
        Assert.True(EncryptedFormat.IsEncrypted(stored));
        Assert.Equal("x", raw.Objects[Key].Meta["sha256"]); // callers' metadata passes through
    }

    [Fact]
    public async Task Stored_bytes_hold_no_plaintext_and_two_stores_of_the_same_content_differ()
    {
        var (raw, repo) = NewRepo();
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("secret-row-value ", 50)));
        await PutAsync(repo, Key, data);
        await PutAsync(repo, Key + "2", data);
        foreach (var (_, (bytes, _)) in raw.Objects)
        {
            Assert.DoesNotContain("secret-row", Encoding.Latin1.GetString(bytes));
        }
        Assert.NotEqual(raw.Objects[Key].Data.AsSpan(EncryptedFormat.HeaderSize).ToArray(), raw.Objects[Key + "2"].Data.AsSpan(EncryptedFormat.HeaderSize).ToArray());
    }

    [Fact]
    public async Task A_flipped_bit_in_any_chunk_or_the_header_or_a_tag_is_refused_naming_the_file()
    {
        var (raw, repo) = NewRepo();
        var data = Data(4 * Chunk + 10);
        await PutAsync(repo, Key, data);
        var original = raw.Objects[Key].Data;
        var sealedSize = Chunk + EncryptedFormat.TagSize;
        var positions = new List<int> { 0, 8, 12, 30, 39 };
        for (var c = 0; c < 5; c++)
        {
            positions.Add(EncryptedFormat.HeaderSize + c * sealedSize);          // first ciphertext byte of chunk c
            positions.Add(Math.Min(original.Length - 1, EncryptedFormat.HeaderSize + c * sealedSize + sealedSize - 1)); // its tag
        }
        foreach (var pos in positions)
        {
            var tampered = (byte[])original.Clone();
            tampered[pos] ^= 0x01;
            raw.Objects[Key] = (tampered, raw.Objects[Key].Meta);
            var e = await Assert.ThrowsAnyAsync<PgWardenException>(() => GetAsync(repo, Key));
            Assert.Contains(Key, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public async Task Plaintext_of_a_chunk_is_released_only_after_it_authenticates()
    {
        var (raw, repo) = NewRepo();
        await PutAsync(repo, Key, Data(3 * Chunk));
        var tampered = raw.Objects[Key].Data;
        tampered[EncryptedFormat.HeaderSize + 1] ^= 0x80; // chunk 0
        await using var s = await repo.GetAsync(Key, CancellationToken.None);
        var buffer = new byte[10];
        await Assert.ThrowsAsync<EncryptedObjectException>(async () => await s.ReadExactlyAsync(buffer));
        Assert.All(buffer, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(1)]      // one chunk dropped at a chunk boundary
    [InlineData(2)]
    [InlineData(-5)]     // cut inside the last chunk
    [InlineData(-1000)]  // down to the header
    public async Task Truncation_is_refused(int chunksOrBytes)
    {
        var (raw, repo) = NewRepo();
        await PutAsync(repo, Key, Data(4 * Chunk + 10));
        var stored = raw.Objects[Key].Data;
        var sealedSize = Chunk + EncryptedFormat.TagSize;
        var lastChunk = 10 + EncryptedFormat.TagSize;
        var keep = chunksOrBytes > 0 ? stored.Length - lastChunk - (chunksOrBytes - 1) * sealedSize : Math.Max(EncryptedFormat.HeaderSize, stored.Length + chunksOrBytes);
        raw.Objects[Key] = (stored[..keep], raw.Objects[Key].Meta);
        var e = await Assert.ThrowsAsync<EncryptedObjectException>(() => GetAsync(repo, Key));
        Assert.Contains(Key, e.Message);
    }

    [Fact]
    public async Task Bytes_appended_after_the_final_chunk_are_refused()
    {
        var (raw, repo) = NewRepo();
        await PutAsync(repo, Key, Data(2 * Chunk));
        var stored = raw.Objects[Key].Data;
        raw.Objects[Key] = ([.. stored, .. stored[^(Chunk + EncryptedFormat.TagSize)..]], raw.Objects[Key].Meta);
        await Assert.ThrowsAsync<EncryptedObjectException>(() => GetAsync(repo, Key));
    }

    [Fact]
    public async Task Reordered_chunks_are_refused()
    {
        var (raw, repo) = NewRepo();
        await PutAsync(repo, Key, Data(3 * Chunk + 5));
        var stored = raw.Objects[Key].Data;
        var s = Chunk + EncryptedFormat.TagSize;
        var h = EncryptedFormat.HeaderSize;
        byte[] swapped = [.. stored[..h], .. stored[(h + s)..(h + 2 * s)], .. stored[h..(h + s)], .. stored[(h + 2 * s)..]];
        raw.Objects[Key] = (swapped, raw.Objects[Key].Meta);
        var e = await Assert.ThrowsAsync<EncryptedObjectException>(() => GetAsync(repo, Key));
        Assert.Contains("chunk 0", e.Message);
    }

    [Fact]
    public async Task A_file_copied_under_another_name_with_its_key_objects_is_refused()
    {
        // Someone who can write the repository copies another WAL segment (or another backup's file, or an
        // older manifest) over a name, together with every key object of the original: the ciphertext and
        // the wrapping are bound to the original name.
        var (raw, repo) = NewRepo();
        const string walA = "demo/7300000000000000001/wal/000000010000000000000001.zst";
        const string walB = "demo/7300000000000000001/wal/000000010000000000000002.zst";
        await PutAsync(repo, walA, Data(200, 1));
        await PutAsync(repo, walB, Data(200, 2));
        raw.Objects[walB] = raw.Objects[walA];
        foreach (var k in raw.Objects.Keys.Where(k => k.StartsWith(WrappedDataKey.ObjectPrefix(walA), StringComparison.Ordinal)).ToList())
        {
            raw.Objects[WrappedDataKey.Root + walB + k[(WrappedDataKey.Root + walA).Length..]] = raw.Objects[k];
        }
        var e = await Assert.ThrowsAsync<EncryptedObjectException>(() => GetAsync(repo, walB));
        Assert.Contains(walB, e.Message);
        Assert.Equal(Data(200, 1), await GetAsync(repo, walA));
    }

    [Fact]
    public async Task A_file_copied_under_another_name_without_its_key_objects_is_refused()
    {
        var (raw, repo) = NewRepo();
        const string m1 = "demo/7300000000000000001/backups/20250101T000000Z-physical/manifest.json";
        const string m2 = "demo/7300000000000000001/backups/20250201T000000Z-physical/manifest.json";
        await PutAsync(repo, m1, Encoding.UTF8.GetBytes("{\"old\":1}"));
        await PutAsync(repo, m2, Encoding.UTF8.GetBytes("{\"new\":2}"));
        raw.Objects[m2] = raw.Objects[m1];
        var e = await Assert.ThrowsAsync<EncryptedObjectException>(() => GetAsync(repo, m2));
        Assert.Contains("not in the repository", e.Message);
    }

    [Fact]
    public async Task A_key_object_swapped_from_another_file_does_not_open()
    {
        var (raw, repo) = NewRepo();
        await PutAsync(repo, Key, Data(100, 1));
        await PutAsync(repo, Key + ".b", Data(100, 2));
        var wrapA = raw.Objects.Keys.Single(k => k.StartsWith(WrappedDataKey.ObjectPrefix(Key), StringComparison.Ordinal));
        var wrapB = raw.Objects.Keys.Single(k => k.StartsWith(WrappedDataKey.ObjectPrefix(Key + ".b"), StringComparison.Ordinal));
        raw.Objects[wrapA] = raw.Objects[wrapB];
        var e = await Assert.ThrowsAsync<EncryptedObjectException>(() => GetAsync(repo, Key));
        Assert.Contains("fails authentication", e.Message);
    }

    [Fact]
    public async Task The_wrong_master_key_is_one_clear_line()
    {
        var (raw, repo) = NewRepo();
        await PutAsync(repo, Key, Data(100));
        var other = new EncryptedRepository(raw, () => new KeyRing(MasterKey.Generate()), Chunk);
        var e = await Assert.ThrowsAsync<EncryptedObjectException>(() => GetAsync(other, Key));
        Assert.Contains(Key, e.Message);
        Assert.Contains(_master.Id, e.Message);
        Assert.Contains("wrong backup.encryption.key_file", e.Message);
        Assert.Equal(ExitCodes.OperationFailed, e.ExitCode);
    }

    [Fact]
    public async Task A_large_stream_passes_through_chunk_by_chunk()
    {
        // 40 MiB + a bit through the default 1 MiB chunks, encrypt piped straight into decrypt: no
        // whole-file buffer anywhere, and the bytes and their hash come back the same.
        const long size = (40L << 20) + 12345;
        var source = new PseudoRandomStream(size, 7);
        var dataKey = RandomNumberGenerator.GetBytes(EncryptedFormat.DataKeySize);
        var header = EncryptedFormat.NewHeader(RandomNumberGenerator.GetBytes(EncryptedFormat.DataKeyIdSize));
        await using var encrypting = new EncryptingStream(source, dataKey, header, Key);
        var headerBytes = new byte[EncryptedFormat.HeaderSize];
        await encrypting.ReadExactlyAsync(headerBytes);
        Assert.Equal(header.Bytes, headerBytes);
        await using var decrypting = new DecryptingStream(encrypting, dataKey, header, Key, Key);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[100_000];
        long consumed = 0;
        long maxAhead = 0;
        while (await decrypting.ReadAsync(buffer) is var n and > 0)
        {
            hash.AppendData(buffer, 0, n);
            consumed += n;
            maxAhead = Math.Max(maxAhead, source.Produced - consumed);
        }
        Assert.Equal(size, consumed);
        Assert.Equal(await SHA256.HashDataAsync(new PseudoRandomStream(size, 7)), hash.GetHashAndReset());
        // Never more than about two chunks between what was read from the source and what came out.
        Assert.True(maxAhead <= 2L * EncryptedFormat.DefaultChunkSize + 1, $"{maxAhead} bytes buffered");
    }

    [Fact]
    public async Task Backup_files_keep_their_checksums_through_encryption()
    {
        var (raw, repo) = NewRepo(chunk: EncryptedFormat.DefaultChunkSize);
        var content = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("row 42 | a known value\n", 5000)));
        var file = await BackupFileStore.StoreAsync(repo, Key, "base.tar.zst", new MemoryStream(content), 3, CancellationToken.None);
        byte[]? read = null;
        await BackupFileStore.ReadVerifiedAsync(repo, Key, file, async s => { using var m = new MemoryStream(); await s.CopyToAsync(m); read = m.ToArray(); }, null, CancellationToken.None);
        Assert.Equal(content, read);
        Assert.DoesNotContain("a known value", Encoding.Latin1.GetString(raw.Objects[Key].Data));
    }

    [Fact]
    public async Task Key_objects_are_hidden_from_listings_and_deleted_with_their_object()
    {
        var (raw, repo) = NewRepo();
        const string prefix = "demo/7300000000000000001/backups/20250101T000000Z-physical/";
        await PutAsync(repo, prefix + "a", Data(10));
        await PutAsync(repo, prefix + "b", Data(10));
        await PutAsync(repo, "demo/7300000000000000001/wal/000000010000000000000001.zst", Data(10));
        Assert.DoesNotContain(await repo.ListAsync("", CancellationToken.None), o => o.Key.StartsWith(WrappedDataKey.Root, StringComparison.Ordinal));
        Assert.Contains(raw.Objects.Keys, k => k == EncryptionMarker.Key("demo"));
        await repo.DeletePrefixAsync(prefix, CancellationToken.None);
        await repo.DeleteAsync("demo/7300000000000000001/wal/000000010000000000000001.zst", CancellationToken.None);
        Assert.Equal([EncryptionMarker.Key("demo")], raw.Objects.Keys.ToList());
    }

    [Fact]
    public async Task Plain_and_encrypted_files_are_never_mixed()
    {
        var raw = new InMemoryRepository();
        var plain = new PlainRepository(raw, "backup.encryption is none");
        await PutAsync(plain, "demo/1/wal/000000010000000000000001.zst", Data(10));
        var encrypted = new EncryptedRepository(raw, () => new KeyRing(_master), Chunk);
        var e = await Assert.ThrowsAsync<PgWardenException>(() => PutAsync(encrypted, "demo/1/wal/000000010000000000000002.zst", Data(10)));
        Assert.Contains("unencrypted files of cluster demo", e.Message);
        // A plain file read where encryption is on is refused, not trusted.
        var notEncrypted = await Assert.ThrowsAsync<EncryptedObjectException>(() => GetAsync(encrypted, "demo/1/wal/000000010000000000000001.zst"));
        Assert.Contains("is not encrypted", notEncrypted.Message);

        var raw2 = new InMemoryRepository();
        await PutAsync(new EncryptedRepository(raw2, () => new KeyRing(_master), Chunk), Key, Data(10));
        var plain2 = new PlainRepository(raw2, "backup.encryption is none");
        var refused = await Assert.ThrowsAsync<PgWardenException>(() => PutAsync(plain2, Key + "x", Data(10)));
        Assert.Contains("holds encrypted backups", refused.Message);
        var unreadable = await Assert.ThrowsAsync<EncryptedObjectException>(() => GetAsync(plain2, Key));
        Assert.Contains("is encrypted", unreadable.Message);
        Assert.Equal(Data(10), await GetAsync(plain, "demo/1/wal/000000010000000000000001.zst")); // plain repositories keep working
    }

    [Fact]
    public void Key_files_are_0600_and_refused_when_others_can_read_them()
    {
        var dir = Directory.CreateTempSubdirectory("pgw-key-");
        try
        {
            var path = Path.Combine(dir.FullName, "backup.key");
            _master.Save(path, null);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            var loaded = MasterKey.Load(path);
            Assert.Equal(_master.Id, loaded.Id);
            Assert.DoesNotContain(_master.Id, File.ReadAllText(path).Split('\n').Last(l => l.Length > 0)); // the id is a fingerprint, not the key
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            Assert.Contains("readable by other users", Assert.Throws<PgWardenException>(() => MasterKey.Load(path)).Message);
            File.WriteAllText(path + "2", "nothing\n");
            File.SetUnixFileMode(path + "2", UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Assert.Contains("holds no key", Assert.Throws<PgWardenException>(() => MasterKey.Load(path + "2")).Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private const string BaseConfig = """
        cluster: demo
        nodes:
          - name: pg1
            address: 127.0.0.1
            port: 5432
            api_port: 8008
        backup:
          repository: { type: fs, path: /var/backups/pg }
        """;

    [Fact]
    public void Encryption_configuration()
    {
        var absent = ConfigLoader.Parse(BaseConfig, "/etc/pgwarden/cluster.yaml", "/etc/pgwarden").Backup!.Encryption;
        Assert.Equal(BackupEncryptionMode.Default, absent.Mode);
        Assert.Equal("/etc/pgwarden/backup.key", absent.KeyFile);
        Assert.False(absent.Enabled); // no such file: an old cluster keeps storing plain
        var none = ConfigLoader.Parse(BaseConfig + "\n  encryption: none\n", "/etc/pgwarden/cluster.yaml", "/etc/pgwarden").Backup!.Encryption;
        Assert.Equal(BackupEncryptionMode.None, none.Mode);
        var keyFile = ConfigLoader.Parse(BaseConfig + "\n  encryption:\n    key_file: keys/b.key\n", "/etc/pgwarden/cluster.yaml", "/etc/pgwarden").Backup!.Encryption;
        Assert.Equal(new BackupEncryptionSettings(BackupEncryptionMode.KeyFile, "/etc/pgwarden/keys/b.key"), keyFile);
        Assert.True(keyFile.Enabled);
        var inside = Assert.ThrowsAny<Exception>(() => ConfigLoader.Parse(BaseConfig + "\n  encryption:\n    key_file: /var/backups/pg/k.key\n", "/etc/pgwarden/cluster.yaml", "/etc/pgwarden"));
        Assert.Contains("inside the repository", inside.Message);
        Assert.ThrowsAny<Exception>(() => ConfigLoader.Parse(BaseConfig + "\n  encryption: yes\n", "/etc/pgwarden/cluster.yaml", "/etc/pgwarden"));
    }

    /// <summary>A deterministic, non-seekable stream of <paramref name="length"/> pseudo-random bytes.</summary>
    private sealed class PseudoRandomStream(long length, int seed) : ReadOnlyStream
    {
        private readonly Random _random = new(seed);
        private readonly long _length = length;
        private long _left = length;

        public long Produced => _length - _left;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = (int)Math.Min(buffer.Length, _left);
            _random.NextBytes(buffer.Span[..n]);
            _left -= n;
            return ValueTask.FromResult(n);
        }
    }
}
