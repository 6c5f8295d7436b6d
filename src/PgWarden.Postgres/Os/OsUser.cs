using PgWarden.Core.Errors;
using PgWarden.Core.Processes;

namespace PgWarden.Postgres.Os;

/// <summary>An OS account from /etc/passwd.</summary>
public sealed record OsUser(string Name, uint Uid, uint Gid, string Home)
{
    public static OsUser Lookup(string name)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var f = line.Split(':');
            if (f.Length >= 6 && f[0] == name)
            {
                return new OsUser(name, uint.Parse(f[2]), uint.Parse(f[3]), f[5]);
            }
        }
        throw new PgWardenException(ExitCodes.MissingDependency,
            $"OS user '{name}' does not exist (it is created by the postgresql-15 package; or set postgres.os_user)");
    }

    public static OsUser Current()
    {
        var uid = Libc.EffectiveUid;
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var f = line.Split(':');
            if (f.Length >= 6 && uint.TryParse(f[2], out var u) && u == uid)
            {
                return new OsUser(f[0], u, uint.Parse(f[3]), f[5]);
            }
        }
        return new OsUser(uid.ToString(), uid, uid, "/");
    }

    /// <summary>
    /// Who server processes run as: the configured user when we are root (PostgreSQL refuses root),
    /// otherwise ourselves.
    /// </summary>
    public static OsUser ServerUser(string configured) => Libc.IsRoot ? Lookup(configured) : Current();
}
