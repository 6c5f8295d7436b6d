using PgWarden.Core.Errors;

namespace PgWarden.Backup.Wal;

/// <summary>Reads the system identifier of a data directory from global/pg_control (no process spawned).</summary>
public static class ControlFile
{
    public static string SystemIdentifier(string dataDir)
    {
        var path = Path.Combine(dataDir, "global", "pg_control");
        try
        {
            Span<byte> head = stackalloc byte[8];
            using var file = File.OpenRead(path);
            file.ReadExactly(head);
            return WalHeader.ControlFileSystemIdentifier(head).ToString();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PgWardenException(e is FileNotFoundException or DirectoryNotFoundException ? ExitCodes.NotFound : ExitCodes.ConfigError,
                $"cannot read {path} ({(e is FileNotFoundException or DirectoryNotFoundException ? "it does not exist" : e.Message.TrimEnd('.'))}): wal-push/wal-fetch run in a data directory (PostgreSQL's archive_command/restore_command) or need --data-dir");
        }
    }
}
