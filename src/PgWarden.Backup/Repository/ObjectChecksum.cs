using System.Security.Cryptography;

namespace PgWarden.Backup.Repository;

/// <summary>Metadata names and helpers for the SHA-256 checksums stored with every object.</summary>
public static class ObjectChecksum
{
    /// <summary>SHA-256 of the stored (compressed) bytes: detects any damage to the object.</summary>
    public const string Stored = "sha256";

    /// <summary>SHA-256 of the original (uncompressed) content: decides whether a re-push is identical.</summary>
    public const string Content = "content-sha256";

    public const string ContentSize = "content-size";

    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
