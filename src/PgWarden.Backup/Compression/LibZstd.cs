using System.Runtime.InteropServices;

namespace PgWarden.Backup.Compression;

/// <summary>
/// The system's libzstd (Debian <c>libzstd1</c>, which <c>postgresql-15</c> depends on): the reference
/// implementation, about 3× faster than the managed port and able to compress on worker threads.
/// Only what <see cref="Zstd"/> uses is bound.
/// </summary>
internal static unsafe partial class LibZstd
{
    private const string Library = "libzstd.so.1";

    public const int ParameterCompressionLevel = 100;
    public const int ParameterChecksumFlag = 201;
    public const int ParameterNbWorkers = 400;
    public const int EndContinue = 0;
    public const int EndFlush = 1;
    public const int EndFinish = 2;
    public const ulong ContentSizeUnknown = ulong.MaxValue;
    public const ulong ContentSizeError = ulong.MaxValue - 1;

    private static readonly Lazy<bool> Loadable = new(() =>
    {
        if (!NativeLibrary.TryLoad(Library, out var handle))
        {
            return false;
        }
        // 1.4.0 brought the stable compressStream2/CCtx_setParameter API used here.
        return NativeLibrary.TryGetExport(handle, "ZSTD_compressStream2", out _) && ZSTD_versionNumber() >= 10400;
    });

    public static bool IsAvailable => Loadable.Value;

    [StructLayout(LayoutKind.Sequential)]
    public struct InBuffer
    {
        public byte* Src;
        public nuint Size;
        public nuint Pos;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct OutBuffer
    {
        public byte* Dst;
        public nuint Size;
        public nuint Pos;
    }

    [LibraryImport(Library)]
    public static partial uint ZSTD_versionNumber();

    [LibraryImport(Library)]
    public static partial nuint ZSTD_compressBound(nuint srcSize);

    [LibraryImport(Library)]
    public static partial nint ZSTD_createCCtx();

    [LibraryImport(Library)]
    public static partial nuint ZSTD_freeCCtx(nint cctx);

    [LibraryImport(Library)]
    public static partial nuint ZSTD_CCtx_setParameter(nint cctx, int parameter, int value);

    [LibraryImport(Library)]
    public static partial nuint ZSTD_compress2(nint cctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

    [LibraryImport(Library)]
    public static partial nuint ZSTD_compressStream2(nint cctx, OutBuffer* output, InBuffer* input, int endOp);

    [LibraryImport(Library)]
    public static partial ulong ZSTD_getFrameContentSize(byte* src, nuint srcSize);

    [LibraryImport(Library)]
    public static partial nuint ZSTD_decompress(byte* dst, nuint dstCapacity, byte* src, nuint compressedSize);

    [LibraryImport(Library)]
    public static partial nint ZSTD_createDCtx();

    [LibraryImport(Library)]
    public static partial nuint ZSTD_freeDCtx(nint dctx);

    [LibraryImport(Library)]
    public static partial nuint ZSTD_decompressStream(nint dctx, OutBuffer* output, InBuffer* input);

    [LibraryImport(Library)]
    public static partial uint ZSTD_isError(nuint code);

    [LibraryImport(Library)]
    private static partial nint ZSTD_getErrorName(nuint code);

    public static string ErrorName(nuint code) => Marshal.PtrToStringUTF8(ZSTD_getErrorName(code)) ?? $"error {code}";

    /// <summary>Throws for a libzstd error code; returns it unchanged otherwise.</summary>
    public static nuint Check(nuint code, string what) => ZSTD_isError(code) != 0
        ? throw new InvalidDataException($"zstd {what} failed: {ErrorName(code)}")
        : code;
}
