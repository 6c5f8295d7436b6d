namespace PgWarden.Backup.Verify;

/// <summary>Reads the owners out of a `pg_restore -l` listing of a directory-format dump.</summary>
public static class DumpToc
{
    /// <summary>
    /// The roles that own objects in the dump. A listing line is
    /// <c>ID; TABLEOID OID DESC SCHEMA NAME OWNER</c> where DESC and NAME may hold spaces, so the
    /// owner is the last word; a line ending in a space has no owner (ENCODING, SEARCHPATH);
    /// comment lines start with ';'.
    /// </summary>
    public static IReadOnlyList<string> Owners(string listing)
    {
        var owners = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var raw in listing.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith(';') || !line.Contains("; ", StringComparison.Ordinal) || line.EndsWith(' ')
                || line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length < 7)
            {
                continue;
            }
            var owner = line[(line.LastIndexOf(' ') + 1)..];
            if (owner is not ("-" or ""))
            {
                owners.Add(owner);
            }
        }
        return [.. owners];
    }
}
