using PgWarden.Backup.Catalog;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Physical;

/// <summary>Where each tablespace of a physical backup is restored: null for "inside the data directory" (pg_tblspc/&lt;oid&gt; as a directory).</summary>
public static class TablespacePlacement
{
    /// <summary>
    /// The destination of every tablespace of <paramref name="backup"/>, by OID. A mapping must name a
    /// tablespace location of the backup; two tablespaces never share a destination. Throws (exit 2)
    /// naming the bad mapping, before anything is written.
    /// </summary>
    public static IReadOnlyDictionary<uint, string?> Plan(BackupManifest backup, RestoreOptions options)
    {
        var locations = backup.Tablespaces.Select(t => t.Location).ToHashSet(StringComparer.Ordinal);
        foreach (var old in options.TablespaceMapping.Keys.Where(k => !locations.Contains(k)))
        {
            throw new PgWardenException(ExitCodes.Usage,
                $"--tablespace-mapping {old}=…: backup {backup.Id} has no tablespace at {old} ({(locations.Count == 0 ? "it has no tablespaces" : "its tablespaces: " + string.Join(", ", locations))})");
        }
        var plan = new Dictionary<uint, string?>();
        foreach (var t in backup.Tablespaces)
        {
            plan[t.Oid] = options.TablespaceMapping.TryGetValue(t.Location, out var mapped) ? Path.GetFullPath(mapped)
                : options.InPlaceTablespaces ? null : t.Location;
        }
        var shared = plan.Values.OfType<string>().GroupBy(p => p, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        return shared is null ? plan
            : throw new PgWardenException(ExitCodes.Usage, $"two tablespaces would be restored into {shared.Key}; map each to its own directory");
    }
}
