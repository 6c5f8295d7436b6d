using System.Globalization;
using System.Security.Cryptography;

namespace PgWarden.Backup.Catalog;

/// <summary>
/// Backup ids: the UTC start time to the second, a random 32-bit suffix and the type
/// (<c>20251030T143000Z-3f9a0c11-physical</c>). Two backups started in the same second — on one host or
/// two — get different ids, so one never writes into the other's files; ids still sort by time.
/// </summary>
public static class BackupId
{
    public static string New(DateTimeOffset started, string type) =>
        started.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)
        + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + "-" + type;
}
