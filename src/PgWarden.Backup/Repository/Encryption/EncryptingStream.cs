using System.Security.Cryptography;

namespace PgWarden.Backup.Repository.Encryption;

/// <summary>
/// Reads <paramref name="plaintext"/> and yields the encrypted object (header, then sealed chunks) —
/// one chunk in memory at a time, so files of any size stream through. The last chunk is known by reading
/// one byte ahead; an empty source gives one empty final chunk.
/// </summary>
public sealed class EncryptingStream : ReadOnlyStream
{
    private readonly Stream _plaintext;
    private readonly EncryptedFormat.Header _header;
    private readonly AesGcm _aes;
    private readonly byte[] _aad;
    private readonly byte[] _plain;
    private readonly byte[] _out;
    private readonly byte[] _nonce = new byte[EncryptedFormat.NonceSize];
    private readonly bool _leaveOpen;
    private int _plainCount;
    private int _outPos;
    private int _outLen;
    private long _index;
    private bool _headerDone;
    private bool _finalDone;

    public EncryptingStream(Stream plaintext, ReadOnlySpan<byte> dataKey, EncryptedFormat.Header header, string repositoryKey, bool leaveOpen = true)
    {
        _plaintext = plaintext;
        _header = header;
        _aes = new AesGcm(dataKey, EncryptedFormat.TagSize);
        _aad = EncryptedFormat.AssociatedDataBuffer(header, repositoryKey);
        _plain = new byte[header.ChunkSize + 1];
        _out = new byte[EncryptedFormat.HeaderSize + header.ChunkSize + EncryptedFormat.TagSize];
        _leaveOpen = leaveOpen;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }
        while (_outPos == _outLen)
        {
            if (_finalDone)
            {
                return 0;
            }
            await ProduceAsync(cancellationToken);
        }
        var n = Math.Min(buffer.Length, _outLen - _outPos);
        _out.AsMemory(_outPos, n).CopyTo(buffer);
        _outPos += n;
        return n;
    }

    private async ValueTask ProduceAsync(CancellationToken ct)
    {
        _outPos = 0;
        _outLen = 0;
        if (!_headerDone)
        {
            _header.Bytes.CopyTo(_out, 0);
            _outLen = EncryptedFormat.HeaderSize;
            _headerDone = true;
        }
        var chunkSize = _header.ChunkSize;
        _plainCount += await FillAsync(_plaintext, _plain.AsMemory(_plainCount), ct);
        var final = _plainCount <= chunkSize;
        var length = final ? _plainCount : chunkSize;
        EncryptedFormat.ChunkNonce(_header, _index, _nonce);
        EncryptedFormat.SetChunk(_aad, _index, final);
        _aes.Encrypt(_nonce, _plain.AsSpan(0, length), _out.AsSpan(_outLen, length), _out.AsSpan(_outLen + length, EncryptedFormat.TagSize), _aad);
        _outLen += length + EncryptedFormat.TagSize;
        if (final)
        {
            _plainCount = 0;
            _finalDone = true;
        }
        else
        {
            _plain[0] = _plain[chunkSize];
            _plainCount = 1;
        }
        _index++;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _aes.Dispose();
            CryptographicOperations.ZeroMemory(_plain);
            if (!_leaveOpen)
            {
                _plaintext.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}
