using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace PgWarden.Backup.Repository.Encryption;

/// <summary>
/// The on-disk format of an encrypted object (docs/backup-encryption.md):
/// a 40-byte header — magic <c>PGWENC</c>, version 1, algorithm 1 (AES-256-GCM, chunked), plaintext chunk
/// size (uint32 big-endian), data key id (16 bytes), file nonce (12 bytes) — then the chunks, each the
/// ciphertext of <see cref="Header.ChunkSize"/> plaintext bytes (the last one 0..ChunkSize) followed by its
/// 16-byte tag. Chunk i is sealed with the file's data key, nonce = file nonce XOR i (big-endian, last 8
/// bytes), and associated data = header ‖ i (uint64 BE) ‖ final flag (1 byte) ‖ the object's repository
/// key (UTF-8): a changed header, a changed, reordered, dropped or appended chunk, a truncation, or the
/// whole file stored under another name fails authentication.
/// </summary>
public static class EncryptedFormat
{
    public static ReadOnlySpan<byte> Magic => "PGWENC"u8;
    public const byte Version = 1;
    public const byte AesGcmChunked = 1;
    public const int HeaderSize = 40;
    public const int DataKeySize = 32;
    public const int DataKeyIdSize = 16;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int DefaultChunkSize = 1 << 20;
    public const int MinChunkSize = 16;
    public const int MaxChunkSize = 16 << 20;

    /// <summary>A parsed header; <see cref="Bytes"/> is authenticated as part of every chunk's associated data.</summary>
    public sealed record Header(byte[] Bytes, int ChunkSize, byte[] DataKeyId, byte[] FileNonce)
    {
        public string DataKeyIdHex => Convert.ToHexStringLower(DataKeyId);
    }

    public static Header NewHeader(byte[] dataKeyId, int chunkSize = DefaultChunkSize)
    {
        var bytes = new byte[HeaderSize];
        Magic.CopyTo(bytes);
        bytes[6] = Version;
        bytes[7] = AesGcmChunked;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), (uint)chunkSize);
        dataKeyId.CopyTo(bytes.AsSpan(12));
        RandomNumberGenerator.Fill(bytes.AsSpan(28, NonceSize));
        return Parse(bytes) ?? throw new InvalidOperationException("bad header");
    }

    /// <summary>Whether <paramref name="prefix"/> (the first bytes of an object) starts with the magic.</summary>
    public static bool IsEncrypted(ReadOnlySpan<byte> prefix) => prefix.Length >= Magic.Length && prefix[..Magic.Length].SequenceEqual(Magic);

    /// <summary>The header in <paramref name="bytes"/>; null when it is not a header this version can read (the caller says why).</summary>
    public static Header? Parse(byte[] bytes)
    {
        if (bytes.Length != HeaderSize || !IsEncrypted(bytes) || bytes[6] != Version || bytes[7] != AesGcmChunked)
        {
            return null;
        }
        var chunk = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(8));
        if (chunk is < MinChunkSize or > MaxChunkSize)
        {
            return null;
        }
        return new Header(bytes, (int)chunk, bytes[12..28], bytes[28..40]);
    }

    /// <summary>Why <paramref name="bytes"/> (starting with the magic) is not a readable header.</summary>
    public static string Unreadable(byte[] bytes) =>
        bytes.Length < HeaderSize ? "its encryption header is cut short"
        : bytes[6] != Version ? $"it is in encryption format version {bytes[6]}, which this PgWarden does not read"
        : "its encryption header is invalid";

    internal static void ChunkNonce(Header header, long index, Span<byte> nonce)
    {
        header.FileNonce.CopyTo(nonce);
        var counter = nonce[4..];
        BinaryPrimitives.WriteUInt64BigEndian(counter, BinaryPrimitives.ReadUInt64BigEndian(counter) ^ (ulong)index);
    }

    /// <summary>A buffer for the associated data of every chunk of one object: header ‖ index ‖ final ‖ key.</summary>
    internal static byte[] AssociatedDataBuffer(Header header, string repositoryKey)
    {
        var key = Encoding.UTF8.GetBytes(repositoryKey);
        var aad = new byte[HeaderSize + 9 + key.Length];
        header.Bytes.CopyTo(aad, 0);
        key.CopyTo(aad, HeaderSize + 9);
        return aad;
    }

    internal static void SetChunk(byte[] aad, long index, bool final)
    {
        BinaryPrimitives.WriteUInt64BigEndian(aad.AsSpan(HeaderSize), (ulong)index);
        aad[HeaderSize + 8] = final ? (byte)1 : (byte)0;
    }
}
