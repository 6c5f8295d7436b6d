using System.Buffers.Binary;
using PgWarden.Backup.Compression;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;
using ZstdSharp;

namespace PgWarden.Core.Tests;

/// <summary>zstd through the system libzstd and the managed port (same format both ways), and the WAL push contract on top of it.</summary>
public sealed class ZstdTests
{
    /// <summary>Compressible but not trivial: repeated records with a counter, like WAL or COPY output.</summary>
    private static byte[] Sample(int size)
    {
        var data = new byte[size];
        var random = new Random(42);
        for (var i = 0; i + 64 <= size; i += 64)
        {
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(i), i);
            random.NextBytes(data.AsSpan(i + 8, 8));
        }
        return data;
    }

    [Fact]
    public void TheSystemLibraryIsUsedOnDebian() => Assert.True(Zstd.IsNative, "libzstd.so.1 (Debian libzstd1, a postgresql-15 dependency) did not load");

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void OneShotFramesReadBackEitherWay(bool nativeIn, bool nativeOut)
    {
        var data = Sample(3 << 20);
        var compressed = Zstd.Compress(data, 1, nativeIn);
        Assert.True(compressed.Count < data.Length / 2);
        Assert.Equal(data, Zstd.Decompress(compressed, 1 << 30, nativeOut));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GarbageIsInvalidData(bool native)
    {
        Assert.Throws<InvalidDataException>(() => Zstd.Decompress(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 1 << 30, native));
        var truncated = Zstd.Compress(Sample(1 << 20), 1, native).AsSpan(0, 1000).ToArray();
        Assert.Throws<InvalidDataException>(() => Zstd.Decompress(truncated, 1 << 30, native));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task NativeStreamWithWorkersIsReadByTheManagedPort(int workers)
    {
        var data = Sample(24 << 20);
        using var sink = new MemoryStream();
        await using (var z = Zstd.CompressionStream(sink, 1, workers, leaveOpen: true, native: true))
        {
            for (var offset = 0; offset < data.Length; offset += 300_001)
            {
                await z.WriteAsync(data.AsMemory(offset, Math.Min(300_001, data.Length - offset)));
            }
            await z.FlushAsync();
        }
        sink.Position = 0;
        using var back = new MemoryStream();
        await using (var d = new DecompressionStream(sink))
        {
            await d.CopyToAsync(back);
        }
        Assert.Equal(data, back.ToArray());
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task StreamsRoundTripAcrossImplementationsInSmallAndLargeReads(bool nativeIn, bool nativeOut)
    {
        var data = Sample(9 << 20);
        using var sink = new MemoryStream();
        // Two frames back to back, as a stream written in two goes would hold.
        foreach (var part in new[] { data.AsMemory(0, 3 << 20), data.AsMemory(3 << 20) })
        {
            await using var z = Zstd.CompressionStream(sink, 1, 0, leaveOpen: true, native: nativeIn);
            await z.WriteAsync(part);
        }
        foreach (var readSize in new[] { 7, 1 << 20 })
        {
            sink.Position = 0;
            await using var d = Zstd.DecompressionStream(sink, leaveOpen: true, native: nativeOut);
            var back = new MemoryStream();
            var buffer = new byte[readSize];
            int n;
            while ((n = readSize == 7 ? d.Read(buffer, 0, readSize) : await d.ReadAsync(buffer)) > 0)
            {
                back.Write(buffer, 0, n);
            }
            Assert.Equal(data, back.ToArray());
        }
    }

    [Fact]
    public async Task TheNativeStreamRefusesGarbageAndTruncation()
    {
        var compressed = Zstd.Compress(Sample(1 << 20), 1, native: true).ToArray();
        async Task ReadAll(byte[] bytes)
        {
            await using var d = Zstd.DecompressionStream(new MemoryStream(bytes), leaveOpen: false, native: true);
            await d.CopyToAsync(Stream.Null);
        }
        await Assert.ThrowsAsync<ZstdDataException>(() => ReadAll([1, 2, 3, 4, 5, 6, 7, 8, 9]));
        var truncated = await Assert.ThrowsAsync<ZstdDataException>(() => ReadAll(compressed[..(compressed.Length / 2)]));
        Assert.Contains("truncated", truncated.Message);
        await ReadAll([]);
    }

    [Fact]
    public void SynchronousWritesAndDisposeFinishTheFrame()
    {
        var data = Sample(5 << 20);
        using var sink = new MemoryStream();
        using (var z = Zstd.CompressionStream(sink, 3, 0, leaveOpen: true, native: true))
        {
            z.Write(data, 0, data.Length);
        }
        using var d = new Decompressor();
        Assert.Equal(data, d.Unwrap(sink.ToArray()).ToArray());
    }

    [Fact]
    public async Task WalPushIsIdempotentRefusesOtherContentAndOtherSystemsAndFetchesBack()
    {
        var root = Path.Combine(Path.GetTempPath(), "pgwarden-unit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            var archiver = new WalArchiver(new FsRepository(Path.Combine(root, "repo"), null), new RepositoryLayout("c", "77"));
            var wal = Path.Combine(root, "000000010000000000000003");
            await File.WriteAllBytesAsync(wal, WalTestData.Segment(77, 0x0300_0000, tail: 5));
            Assert.True(await archiver.PushAsync(wal, CancellationToken.None));
            Assert.False(await archiver.PushAsync(wal, CancellationToken.None));

            await File.WriteAllBytesAsync(wal, WalTestData.Segment(77, 0x0300_0000, tail: 6));
            var conflict = await Assert.ThrowsAsync<PgWardenException>(() => archiver.PushAsync(wal, CancellationToken.None));
            Assert.Equal(ExitCodes.UnsafeRefused, conflict.ExitCode);

            var foreign = Path.Combine(root, "000000010000000000000004");
            await File.WriteAllBytesAsync(foreign, WalTestData.Segment(78, 0x0400_0000, tail: 5));
            Assert.Equal(ExitCodes.UnsafeRefused, (await Assert.ThrowsAsync<PgWardenException>(() => archiver.PushAsync(foreign, CancellationToken.None))).ExitCode);

            var history = Path.Combine(root, "00000002.history");
            await File.WriteAllTextAsync(history, "1\t0/3000000\tno recovery target specified\n");
            Assert.True(await archiver.PushAsync(history, CancellationToken.None));

            var back = Path.Combine(root, "fetched");
            Assert.True(await archiver.FetchAsync("000000010000000000000003", back, CancellationToken.None));
            Assert.Equal(WalTestData.Segment(77, 0x0300_0000, tail: 5), await File.ReadAllBytesAsync(back));
            Assert.True(await archiver.FetchAsync("00000002.history", back, CancellationToken.None));
            Assert.Equal(await File.ReadAllBytesAsync(history), await File.ReadAllBytesAsync(back));
            Assert.False(await archiver.FetchAsync("000000010000000000000009", back, CancellationToken.None));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
