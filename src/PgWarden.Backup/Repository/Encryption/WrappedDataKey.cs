using System.Security.Cryptography;
using System.Text;

namespace PgWarden.Backup.Repository.Encryption;

/// <summary>
/// A data key wrapped (AES-256-GCM) by a master key, stored as its own small object
/// <c>_keys/&lt;object key&gt;/&lt;data key id&gt;.&lt;master key id&gt;</c> — 92 bytes: magic <c>PGWKEY</c>,
/// version 1, 0, master key id (8), data key id (16), nonce (12), wrapped key (32), tag (16). The associated
/// data is the first 32 bytes plus the object's repository key, so a wrapping only opens for the object,
/// data key id and master key it names. Rotation adds a wrapping under the new master key and deletes the
/// old one; the data object itself is never rewritten.
/// </summary>
public static class WrappedDataKey
{
    public const string Root = "_keys/";
    public const int Size = 92;
    private static ReadOnlySpan<byte> Magic => "PGWKEY"u8;

    public static string ObjectPrefix(string objectKey) => $"{Root}{objectKey}/";

    public static string ObjectKey(string objectKey, string dataKeyIdHex, string masterKeyId) => $"{Root}{objectKey}/{dataKeyIdHex}.{masterKeyId}";

    /// <summary>(object key, data key id, master key id) of a wrapping's key; null for anything else.</summary>
    public static (string Object, string DataKeyId, string MasterKeyId)? ParseKey(string key)
    {
        if (!key.StartsWith(Root, StringComparison.Ordinal))
        {
            return null;
        }
        var slash = key.LastIndexOf('/');
        var name = key[(slash + 1)..];
        var dot = name.IndexOf('.');
        if (slash <= Root.Length || dot != EncryptedFormat.DataKeyIdSize * 2 || name.Length != dot + 1 + MasterKey.IdSize * 2)
        {
            return null;
        }
        return (key[Root.Length..slash], name[..dot], name[(dot + 1)..]);
    }

    public static byte[] Wrap(MasterKey master, byte[] dataKeyId, ReadOnlySpan<byte> dataKey, string objectKey)
    {
        var blob = new byte[Size];
        Magic.CopyTo(blob);
        blob[6] = 1;
        master.IdBytes.CopyTo(blob, 8);
        dataKeyId.CopyTo(blob, 16);
        RandomNumberGenerator.Fill(blob.AsSpan(32, EncryptedFormat.NonceSize));
        using var aes = new AesGcm(master.Key, EncryptedFormat.TagSize);
        aes.Encrypt(blob.AsSpan(32, EncryptedFormat.NonceSize), dataKey, blob.AsSpan(44, EncryptedFormat.DataKeySize), blob.AsSpan(76, EncryptedFormat.TagSize), Aad(blob, objectKey));
        return blob;
    }

    /// <summary>The data key; null when the blob is not a wrapping of <paramref name="dataKeyId"/> for <paramref name="objectKey"/> under <paramref name="master"/>, or fails authentication.</summary>
    public static byte[]? Unwrap(MasterKey master, byte[] blob, byte[] dataKeyId, string objectKey)
    {
        if (blob.Length != Size || !blob.AsSpan(0, 6).SequenceEqual(Magic) || blob[6] != 1
            || !master.Is(blob.AsSpan(8, MasterKey.IdSize)) || !blob.AsSpan(16, EncryptedFormat.DataKeyIdSize).SequenceEqual(dataKeyId))
        {
            return null;
        }
        var key = new byte[EncryptedFormat.DataKeySize];
        try
        {
            using var aes = new AesGcm(master.Key, EncryptedFormat.TagSize);
            aes.Decrypt(blob.AsSpan(32, EncryptedFormat.NonceSize), blob.AsSpan(44, EncryptedFormat.DataKeySize), blob.AsSpan(76, EncryptedFormat.TagSize), key, Aad(blob, objectKey));
            return key;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    private static byte[] Aad(byte[] blob, string objectKey)
    {
        var name = Encoding.UTF8.GetBytes(objectKey);
        var aad = new byte[32 + name.Length];
        blob.AsSpan(0, 32).CopyTo(aad);
        name.CopyTo(aad, 32);
        return aad;
    }
}
