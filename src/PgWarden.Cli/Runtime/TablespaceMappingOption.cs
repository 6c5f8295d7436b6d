using PgWarden.Core.Errors;

namespace PgWarden.Cli.Runtime;

/// <summary>`--tablespace-mapping OLDDIR=NEWDIR` (repeatable), as pg_basebackup spells it: both absolute, each old directory once.</summary>
public static class TablespaceMappingOption
{
    public static IReadOnlyDictionary<string, string> Parse(IEnumerable<string> values)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var eq = value.IndexOf('=');
            var (old, @new) = eq > 0 ? (value[..eq], value[(eq + 1)..]) : ("", "");
            if (!Path.IsPathRooted(old) || !Path.IsPathRooted(@new))
            {
                throw new PgWardenException(ExitCodes.Usage, $"--tablespace-mapping '{value}' must be OLDDIR=NEWDIR with two absolute directories");
            }
            if (!map.TryAdd(old.TrimEnd('/'), Path.GetFullPath(@new)))
            {
                throw new PgWardenException(ExitCodes.Usage, $"--tablespace-mapping names {old} twice");
            }
        }
        return map;
    }
}
