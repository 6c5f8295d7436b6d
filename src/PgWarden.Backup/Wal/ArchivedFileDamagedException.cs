using PgWarden.Core.Errors;

namespace PgWarden.Backup.Wal;

/// <summary>
/// An archived WAL file that is in the repository but cannot be served as good: its checksums differ, it is not
/// valid zstd, it cannot be verified at all, or it is not the file it is named after. Unlike "not archived",
/// recovery must not go on as if the archive ended there (wal-fetch --abort-on-damage exits so that
/// PostgreSQL aborts recovery).
/// </summary>
public sealed class ArchivedFileDamagedException(string message) : PgWardenException(ExitCodes.OperationFailed, message);
