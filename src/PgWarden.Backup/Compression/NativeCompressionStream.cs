namespace PgWarden.Backup.Compression;

/// <summary>A write-only zstd stream on the system libzstd (<c>ZSTD_compressStream2</c>), optionally multi-threaded.</summary>
internal sealed class NativeCompressionStream : Stream
{
    private const int OutputSize = 1 << 20;

    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly byte[] _output = GC.AllocateUninitializedArray<byte>(OutputSize, pinned: true);
    private nint _cctx;
    private bool _finished;

    public NativeCompressionStream(Stream inner, int level, int workers, bool leaveOpen)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
        _cctx = LibZstd.ZSTD_createCCtx();
        if (_cctx == 0)
        {
            throw new OutOfMemoryException("ZSTD_createCCtx failed");
        }
        LibZstd.Check(LibZstd.ZSTD_CCtx_setParameter(_cctx, LibZstd.ParameterCompressionLevel, level), "setting the level");
        LibZstd.Check(LibZstd.ZSTD_CCtx_setParameter(_cctx, LibZstd.ParameterChecksumFlag, 1), "turning the frame checksum on");
        if (workers > 0)
        {
            // A libzstd built without threads refuses this; it then compresses on the caller's thread.
            LibZstd.ZSTD_CCtx_setParameter(_cctx, LibZstd.ParameterNbWorkers, workers);
        }
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>One ZSTD_compressStream2 call: how much input it took, how much output it made, and its return hint.</summary>
    private unsafe (int Consumed, int Produced, nuint Remaining) Step(ReadOnlySpan<byte> input, int endOp)
    {
        ObjectDisposedException.ThrowIf(_cctx == 0, this);
        fixed (byte* src = input)
        fixed (byte* dst = _output)
        {
            var inBuf = new LibZstd.InBuffer { Src = src, Size = (nuint)input.Length, Pos = 0 };
            var outBuf = new LibZstd.OutBuffer { Dst = dst, Size = OutputSize, Pos = 0 };
            var remaining = LibZstd.Check(LibZstd.ZSTD_compressStream2(_cctx, &outBuf, &inBuf, endOp), "compression");
            return ((int)inBuf.Pos, (int)outBuf.Pos, remaining);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var (consumed, produced, _) = Step(buffer, LibZstd.EndContinue);
            buffer = buffer[consumed..];
            _inner.Write(_output, 0, produced);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            var (consumed, produced, _) = Step(buffer.Span, LibZstd.EndContinue);
            buffer = buffer[consumed..];
            if (produced > 0)
            {
                await _inner.WriteAsync(_output.AsMemory(0, produced), cancellationToken);
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => Drain(LibZstd.EndFlush);

    public override async Task FlushAsync(CancellationToken cancellationToken) => await DrainAsync(LibZstd.EndFlush, cancellationToken);

    /// <summary>Flushes (or ends the frame) until libzstd has nothing left to write.</summary>
    private void Drain(int endOp)
    {
        nuint remaining;
        do
        {
            (_, var produced, remaining) = Step([], endOp);
            _inner.Write(_output, 0, produced);
        }
        while (remaining != 0);
        _inner.Flush();
    }

    private async Task DrainAsync(int endOp, CancellationToken ct)
    {
        nuint remaining;
        do
        {
            (_, var produced, remaining) = Step([], endOp);
            if (produced > 0)
            {
                await _inner.WriteAsync(_output.AsMemory(0, produced), ct);
            }
        }
        while (remaining != 0);
        await _inner.FlushAsync(ct);
    }

    private void Release()
    {
        if (_cctx != 0)
        {
            LibZstd.ZSTD_freeCCtx(_cctx);
            _cctx = 0;
        }
    }

    protected override void Dispose(bool disposing)
    {
        try
        {
            if (disposing && !_finished && _cctx != 0)
            {
                _finished = true;
                Drain(LibZstd.EndFinish);
            }
        }
        finally
        {
            Release();
            if (disposing && !_leaveOpen)
            {
                _inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            if (!_finished && _cctx != 0)
            {
                _finished = true;
                await DrainAsync(LibZstd.EndFinish, CancellationToken.None);
            }
        }
        finally
        {
            Release();
            if (!_leaveOpen)
            {
                await _inner.DisposeAsync();
            }
            GC.SuppressFinalize(this);
        }
    }

    ~NativeCompressionStream() => Release();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
