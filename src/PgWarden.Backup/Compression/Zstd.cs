using ZstdSharp;

namespace PgWarden.Backup.Compression;

/// <summary>
/// zstd with the system's libzstd when it loads, else the managed ZstdSharp port (same format, slower):
/// one-shot for WAL files, a write-only stream for backup files. Every frame written carries zstd's
/// content checksum (XXH64 of the decompressed bytes), which both decoders verify: a stored file
/// whose recorded SHA-256s are lost can still be proven sound or damaged.
/// </summary>
public static class Zstd
{
    /// <summary>True when the system libzstd is used.</summary>
    public static bool IsNative => LibZstd.IsAvailable;

    /// <summary>Compresses <paramref name="data"/> into one frame that records its content size.</summary>
    public static ArraySegment<byte> Compress(ReadOnlySpan<byte> data, int level) => Compress(data, level, IsNative);

    /// <summary>Decompresses zstd data; throws <see cref="InvalidDataException"/> when it is not valid zstd.</summary>
    public static byte[] Decompress(ReadOnlySpan<byte> data, long maxSize) => Decompress(data, maxSize, IsNative);

    /// <summary>
    /// A write-only stream compressing into <paramref name="inner"/>; with <paramref name="workers"/> &gt; 0
    /// (native only) libzstd compresses on that many threads of its own while the caller keeps writing.
    /// Disposing it finishes the frame.
    /// </summary>
    public static Stream CompressionStream(Stream inner, int level, int workers, bool leaveOpen) =>
        CompressionStream(inner, level, workers, leaveOpen, IsNative);

    internal static unsafe ArraySegment<byte> Compress(ReadOnlySpan<byte> data, int level, bool native)
    {
        if (!native)
        {
            using var compressor = new Compressor(level);
            compressor.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
            return compressor.Wrap(data).ToArray();
        }
        var cctx = LibZstd.ZSTD_createCCtx();
        if (cctx == 0)
        {
            throw new OutOfMemoryException("ZSTD_createCCtx failed");
        }
        try
        {
            LibZstd.Check(LibZstd.ZSTD_CCtx_setParameter(cctx, LibZstd.ParameterCompressionLevel, level), "setting the level");
            LibZstd.Check(LibZstd.ZSTD_CCtx_setParameter(cctx, LibZstd.ParameterChecksumFlag, 1), "turning the frame checksum on");
            var output = GC.AllocateUninitializedArray<byte>(checked((int)LibZstd.ZSTD_compressBound((nuint)data.Length)));
            fixed (byte* src = data)
            fixed (byte* dst = output)
            {
                var n = LibZstd.Check(LibZstd.ZSTD_compress2(cctx, dst, (nuint)output.Length, src, (nuint)data.Length), "compression");
                return new ArraySegment<byte>(output, 0, (int)n);
            }
        }
        finally
        {
            LibZstd.ZSTD_freeCCtx(cctx);
        }
    }

    internal static unsafe byte[] Decompress(ReadOnlySpan<byte> data, long maxSize, bool native)
    {
        if (native)
        {
            fixed (byte* src = data)
            {
                var size = LibZstd.ZSTD_getFrameContentSize(src, (nuint)data.Length);
                if (size == LibZstd.ContentSizeError)
                {
                    throw new InvalidDataException("zstd decompression failed: not a zstd frame");
                }
                if (size != LibZstd.ContentSizeUnknown && size <= (ulong)maxSize)
                {
                    var output = GC.AllocateUninitializedArray<byte>((int)size);
                    fixed (byte* dst = output)
                    {
                        var n = LibZstd.Check(LibZstd.ZSTD_decompress(dst, (nuint)output.Length, src, (nuint)data.Length), "decompression");
                        return n == size ? output : throw new InvalidDataException($"zstd decompression produced {n} bytes instead of the {size} its header names");
                    }
                }
            }
        }
        try
        {
            using var decompressor = new Decompressor();
            return decompressor.Unwrap(data).ToArray();
        }
        catch (ZstdException e)
        {
            throw new InvalidDataException($"zstd decompression failed: {e.Message}", e);
        }
    }

    /// <summary>
    /// A read-only stream decompressing <paramref name="inner"/> (concatenated frames allowed); damaged
    /// data throws <see cref="ZstdDataException"/> (native, an <see cref="IOException"/>) or <see cref="ZstdException"/> (managed).
    /// </summary>
    public static Stream DecompressionStream(Stream inner, bool leaveOpen) => DecompressionStream(inner, leaveOpen, IsNative);

    internal static Stream DecompressionStream(Stream inner, bool leaveOpen, bool native) =>
        native ? new NativeDecompressionStream(inner, leaveOpen) : new ZstdSharp.DecompressionStream(inner, leaveOpen: leaveOpen);

    internal static Stream CompressionStream(Stream inner, int level, int workers, bool leaveOpen, bool native)
    {
        if (native)
        {
            return new NativeCompressionStream(inner, level, workers, leaveOpen);
        }
        var managed = new CompressionStream(inner, level, leaveOpen: leaveOpen);
        managed.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_nbWorkers, 0);
        managed.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        return managed;
    }

    /// <summary>
    /// True when <paramref name="data"/> starts with a zstd frame whose header sets the content checksum flag
    /// (bit 2 of the frame header descriptor after the magic number): decoding it verifies the content.
    /// </summary>
    public static bool HasContentChecksum(ReadOnlySpan<byte> data) =>
        data.Length >= 5 && System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data) == 0xFD2FB528 && (data[4] & 0x04) != 0;
}
