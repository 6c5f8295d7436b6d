using System.Buffers.Binary;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Compression;
using PgWarden.Backup.Repository;

namespace PgWarden.Core.Tests;

/// <summary>WAL files and archived objects for tests: segments with a real long page header, objects stored as wal-push stores them.</summary>
public static class WalTestData
{
    public const int SegmentSize = 16 * 1024 * 1024;

    /// <summary>A whole segment whose long page header names <paramref name="system"/>, <paramref name="timeline"/> and <paramref name="address"/>; the last byte is <paramref name="tail"/>.</summary>
    public static byte[] Segment(ulong system, ulong address, byte tail = 0, uint timeline = 1, int length = SegmentSize)
    {
        var data = new byte[length];
        BinaryPrimitives.WriteUInt16LittleEndian(data, 0xD110);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2), 0x0002);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), timeline);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8), address);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(24), system);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(32), SegmentSize);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(36), 8192);
        data[^1] = tail;
        return data;
    }

    /// <summary>Stores <paramref name="content"/> under the WAL key of <paramref name="name"/> as wal-push does (zstd, both SHA-256s); without metadata when <paramref name="withMetadata"/> is false.</summary>
    public static async Task PutAsync(IBackupRepository repository, RepositoryLayout layout, string name, byte[] content, bool withMetadata = true)
    {
        var compressed = Zstd.Compress(content, 1).ToArray();
        var metadata = withMetadata
            ? new Dictionary<string, string> { [ObjectChecksum.Stored] = ObjectChecksum.Sha256(compressed), [ObjectChecksum.Content] = ObjectChecksum.Sha256(content) }
            : [];
        Assert.True(await repository.PutIfAbsentAsync(layout.WalKey(name), new MemoryStream(compressed), metadata, CancellationToken.None));
    }

    /// <summary>A physical backup's manifest on <paramref name="timeline"/> from <paramref name="startLsn"/> to <paramref name="stopLsn"/>, started at <paramref name="start"/>.</summary>
    public static BackupManifest Physical(string id, uint timeline, ulong startLsn, ulong stopLsn, DateTimeOffset start, string systemId = "1") => new()
    {
        Id = id, Type = "physical", Cluster = "c", SystemId = systemId, SourceNode = "pg1", StartTime = start, StopTime = start.AddMinutes(1),
        Timeline = timeline, StartLsn = Lsn(startLsn), StopLsn = Lsn(stopLsn),
        StartWal = Backup.Wal.WalFileName.SegmentName(timeline, startLsn), StopWal = Backup.Wal.WalFileName.SegmentName(timeline, stopLsn),
    };

    public static string Lsn(ulong lsn) => $"{lsn >> 32:X}/{lsn & 0xFFFF_FFFF:X}";

    public static Task PutManifestAsync(IBackupRepository repository, BackupManifest manifest) =>
        BackupCatalog.PutTextAsync(repository, new RepositoryLayout(manifest.Cluster, manifest.SystemId).ManifestKey(manifest.Id), manifest.ToJson(), CancellationToken.None);
}
