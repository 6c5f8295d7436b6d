using System.Formats.Tar;
using System.Text.RegularExpressions;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Physical;

/// <summary>
/// Unpacks a pg_basebackup tar into a directory: every entry must land inside it (no absolute paths, no
/// '..'); the tablespace links pg_tblspc/&lt;oid&gt; are not created as they were (they point at the
/// source's directories) but as <paramref name="tablespaceLink"/> says: a link to the tablespace's new
/// place, or a directory inside the data directory. Nothing is overwritten.
/// </summary>
public static partial class TarExtraction
{
    [GeneratedRegex(@"^pg_tblspc/(\d+)$")]
    private static partial Regex TablespaceLink();

    /// <param name="tablespaceLink">For a tablespace OID: the directory the link points to, or null for an in-place directory.</param>
    public static void Extract(Stream tar, string root, Func<uint, string?> tablespaceLink)
    {
        var full = Path.GetFullPath(root);
        using var reader = new TarReader(tar, leaveOpen: true);
        while (reader.GetNextEntry() is { } entry)
        {
            var name = entry.Name.Replace('\\', '/').TrimStart('.', '/').TrimEnd('/');
            if (name.Length == 0)
            {
                continue;
            }
            var dest = Path.GetFullPath(Path.Combine(full, name));
            if (!dest.StartsWith(full + "/", StringComparison.Ordinal))
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"the backup's tar holds '{entry.Name}', which is outside the directory it unpacks into");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(dest);
                    File.SetUnixFileMode(dest, entry.Mode | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                    break;
                case TarEntryType.SymbolicLink when TablespaceLink().Match(name) is { Success: true } m:
                    if (tablespaceLink(uint.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)) is { } target)
                    {
                        File.CreateSymbolicLink(dest, target);
                    }
                    else
                    {
                        Directory.CreateDirectory(dest);
                        File.SetUnixFileMode(dest, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                    }
                    break;
                case TarEntryType.SymbolicLink:
                    File.CreateSymbolicLink(dest, entry.LinkName);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    entry.ExtractToFile(dest, overwrite: false);
                    break;
                default:
                    throw new PgWardenException(ExitCodes.OperationFailed, $"the backup's tar holds '{entry.Name}' of type {entry.EntryType}, which a base backup never has");
            }
        }
    }
}
