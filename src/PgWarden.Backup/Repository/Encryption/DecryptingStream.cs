using System.Security.Cryptography;

namespace PgWarden.Backup.Repository.Encryption;

/// <summary>
/// Reads an encrypted object after its header and yields the plaintext, releasing a chunk only once it has
/// authenticated. A chunk that fails (altered, reordered, from another file or name), a file that ends
/// without its final chunk (truncated), or bytes after it, throw <see cref="EncryptedObjectException"/>
/// naming <paramref name="displayName"/>.
/// </summary>
public sealed class DecryptingStream : ReadOnlyStream
{
    private readonly Stream _ciphertext;
    private readonly EncryptedFormat.Header _header;
    private readonly AesGcm _aes;
    private readonly byte[] _aad;
    private readonly byte[] _cipher;
    private readonly byte[] _plain;
    private readonly byte[] _nonce = new byte[EncryptedFormat.NonceSize];
    private readonly string _displayName;
    private int _cipherCount;
    private int _plainPos;
    private int _plainLen;
    private long _index;
    private bool _finalDone;

    /// <param name="ciphertext">The object positioned just after its header; disposed with this stream.</param>
    public DecryptingStream(Stream ciphertext, ReadOnlySpan<byte> dataKey, EncryptedFormat.Header header, string repositoryKey, string displayName)
    {
        _ciphertext = ciphertext;
        _header = header;
        _aes = new AesGcm(dataKey, EncryptedFormat.TagSize);
        _aad = EncryptedFormat.AssociatedDataBuffer(header, repositoryKey);
        _cipher = new byte[header.ChunkSize + EncryptedFormat.TagSize + 1];
        _plain = new byte[header.ChunkSize];
        _displayName = displayName;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }
        while (_plainPos == _plainLen)
        {
            if (_finalDone)
            {
                return 0;
            }
            await ProduceAsync(cancellationToken);
        }
        var n = Math.Min(buffer.Length, _plainLen - _plainPos);
        _plain.AsMemory(_plainPos, n).CopyTo(buffer);
        _plainPos += n;
        return n;
    }

    private async ValueTask ProduceAsync(CancellationToken ct)
    {
        var sealedSize = _header.ChunkSize + EncryptedFormat.TagSize;
        _cipherCount += await FillAsync(_ciphertext, _cipher.AsMemory(_cipherCount), ct);
        var final = _cipherCount <= sealedSize;
        var length = final ? _cipherCount : sealedSize;
        if (length < EncryptedFormat.TagSize)
        {
            throw new EncryptedObjectException($"{_displayName} is corrupted: it is truncated inside chunk {_index}, before its final chunk; not using it");
        }
        var plainLength = length - EncryptedFormat.TagSize;
        EncryptedFormat.ChunkNonce(_header, _index, _nonce);
        EncryptedFormat.SetChunk(_aad, _index, final);
        try
        {
            _aes.Decrypt(_nonce, _cipher.AsSpan(0, plainLength), _cipher.AsSpan(plainLength, EncryptedFormat.TagSize), _plain.AsSpan(0, plainLength), _aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(_plain);
            throw new EncryptedObjectException(
                $"{_displayName} is corrupted or was tampered with: chunk {_index}{(final ? " (the last one present)" : "")} fails authentication (altered, truncated, reordered, or stored under another name); not using it");
        }
        _plainPos = 0;
        _plainLen = plainLength;
        if (final)
        {
            _cipherCount = 0;
            _finalDone = true;
        }
        else
        {
            _cipher[0] = _cipher[sealedSize];
            _cipherCount = 1;
        }
        _index++;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _aes.Dispose();
            CryptographicOperations.ZeroMemory(_plain);
            _ciphertext.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        _aes.Dispose();
        CryptographicOperations.ZeroMemory(_plain);
        await _ciphertext.DisposeAsync();
        await base.DisposeAsync();
    }
}
