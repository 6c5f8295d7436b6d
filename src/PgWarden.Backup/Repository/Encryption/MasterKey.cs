using System.Security.Cryptography;
using System.Text;
using PgWarden.Core.Errors;
using PgWarden.Core.Processes;
using PgWarden.Postgres.Os;

namespace PgWarden.Backup.Repository.Encryption;

/// <summary>
/// A 256-bit master key: it only wraps the per-file data keys (never encrypts data itself). Its id is a
/// fingerprint (HMAC-SHA256 of a fixed label, first 8 bytes) that names it in key objects and messages
/// without revealing it. Stored as one line <c>pgwarden-backup-key-v1:BASE64</c> in a 0600 file.
/// </summary>
public sealed class MasterKey
{
    public const int Size = 32;
    public const int IdSize = 8;
    private const string Prefix = "pgwarden-backup-key-v1:";
    private static readonly byte[] IdLabel = Encoding.ASCII.GetBytes("pgwarden backup master key id v1");

    private readonly byte[] _key;

    private MasterKey(byte[] key)
    {
        if (key.Length != Size)
        {
            throw new ArgumentException($"a master key is {Size} bytes", nameof(key));
        }
        _key = key;
        IdBytes = HMACSHA256.HashData(key, IdLabel)[..IdSize];
        Id = Convert.ToHexStringLower(IdBytes);
    }

    /// <summary>The fingerprint (16 hex digits) printed in messages and used in key object names.</summary>
    public string Id { get; }

    public byte[] IdBytes { get; }

    /// <summary>Where the key was loaded from (null for a key made in memory).</summary>
    public string? Source { get; private init; }

    internal ReadOnlySpan<byte> Key => _key;

    public static MasterKey FromBytes(byte[] key) => new((byte[])key.Clone());

    public static MasterKey Generate() => new(RandomNumberGenerator.GetBytes(Size));

    /// <summary>Reads a key file; refuses one that other users can read, or that holds no key, with one line naming the file.</summary>
    public static MasterKey Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"backup encryption key file {path} does not exist (backup.encryption.key_file; `pgwarden up` creates {Core.Config.BackupEncryptionSettings.DefaultKeyFileName} for a new cluster)");
        }
        string text;
        try
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused, $"backup encryption key file {path} is readable by other users; run: chmod 600 {path}");
            }
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"cannot read backup encryption key file {path}: {(e is UnauthorizedAccessException ? "permission denied" : e.Message)}");
        }
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                byte[]? bytes = null;
                try
                {
                    bytes = Convert.FromBase64String(line[Prefix.Length..]);
                }
                catch (FormatException)
                {
                }
                if (bytes is { Length: Size })
                {
                    return new MasterKey(bytes) { Source = path };
                }
                break;
            }
        }
        throw new PgWardenException(ExitCodes.ConfigError, $"backup encryption key file {path} holds no key (expected a line {Prefix}<44 base64 characters>)");
    }

    /// <summary>Writes the key to <paramref name="path"/>: created 0600 before any byte is written, fsynced, renamed into place, given to <paramref name="owner"/>.</summary>
    public void Save(string path, OsUser? owner)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = $"{path}.tmp-{Environment.ProcessId}";
        // Always a new file (O_EXCL refuses a symlink): never write the key through one planted under this name.
        File.Delete(tmp);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(tmp, options))
        {
            var body = Encoding.ASCII.GetBytes(
                "# PgWarden backup master key (AES-256). Keep it private (0600), outside the backup repository, and\n"
                + "# somewhere safe besides this host: without it the encrypted backups cannot be read.\n"
                + $"# key id {Id}\n{Prefix}{Convert.ToBase64String(_key)}\n");
            stream.Write(body);
            stream.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        if (owner is not null && Libc.IsRoot && owner.Uid != 0)
        {
            Libc.Chown(tmp, owner.Uid, owner.Gid);
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Whether <paramref name="id"/> (8 bytes) is this key's id.</summary>
    public bool Is(ReadOnlySpan<byte> id) => id.SequenceEqual(IdBytes);
}
