namespace PgWarden.Backup.Compression;

/// <summary>
/// A read-only zstd stream on the system libzstd (<c>ZSTD_decompressStream</c>): one or more
/// concatenated frames. Data that is not zstd, or that ends inside a frame, throws
/// <see cref="ZstdDataException"/>.
/// </summary>
internal sealed class NativeDecompressionStream : Stream
{
    private const int InputSize = 1 << 17;

    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly byte[] _input = GC.AllocateUninitializedArray<byte>(InputSize, pinned: true);
    private int _inputPos;
    private int _inputEnd;
    private bool _innerEnded;
    /// <summary>libzstd's hint from the last call: 0 when a frame ended and everything of it was returned.</summary>
    private nuint _pending;
    private nint _dctx;

    public NativeDecompressionStream(Stream inner, bool leaveOpen)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
        _dctx = LibZstd.ZSTD_createDCtx();
        if (_dctx == 0)
        {
            throw new OutOfMemoryException("ZSTD_createDCtx failed");
        }
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>One ZSTD_decompressStream call into <paramref name="output"/>; returns the bytes produced.</summary>
    private unsafe int Step(Span<byte> output)
    {
        ObjectDisposedException.ThrowIf(_dctx == 0, this);
        fixed (byte* src = _input)
        fixed (byte* dst = output)
        {
            var inBuf = new LibZstd.InBuffer { Src = src + _inputPos, Size = (nuint)(_inputEnd - _inputPos), Pos = 0 };
            var outBuf = new LibZstd.OutBuffer { Dst = dst, Size = (nuint)output.Length, Pos = 0 };
            var result = LibZstd.ZSTD_decompressStream(_dctx, &outBuf, &inBuf);
            if (LibZstd.ZSTD_isError(result) != 0)
            {
                throw new ZstdDataException($"not valid zstd data ({LibZstd.ErrorName(result)})");
            }
            _pending = result;
            _inputPos += (int)inBuf.Pos;
            return (int)outBuf.Pos;
        }
    }

    /// <summary>
    /// Decompresses into <paramref name="buffer"/> from the input at hand: the bytes produced (0 at
    /// the end of the data), or null when the input must be refilled first.
    /// </summary>
    private int? Advance(Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            if (_inputPos == _inputEnd)
            {
                if (!_innerEnded)
                {
                    return null;
                }
                return _pending == 0 ? 0 : throw new ZstdDataException("the zstd data ends inside a frame (truncated)");
            }
            var produced = Step(buffer);
            if (produced > 0)
            {
                return produced;
            }
        }
        return 0;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int? produced;
        while ((produced = Advance(buffer)) is null)
        {
            Refilled(_inner.Read(_input, 0, InputSize));
        }
        return produced.Value;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int? produced;
        while ((produced = Advance(buffer.Span)) is null)
        {
            Refilled(await _inner.ReadAsync(_input.AsMemory(0, InputSize), cancellationToken));
        }
        return produced.Value;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Refilled(int read)
    {
        _inputPos = 0;
        _inputEnd = read;
        _innerEnded = read == 0;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (_dctx != 0)
        {
            LibZstd.ZSTD_freeDCtx(_dctx);
            _dctx = 0;
        }
        if (disposing && !_leaveOpen)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Stored data that libzstd cannot decode: damaged or truncated.</summary>
public sealed class ZstdDataException(string message) : IOException(message);
