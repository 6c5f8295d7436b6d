namespace PgWarden.Backup.Physical;

/// <summary>Where recovery stops: at most one of time, LSN, name, xid or immediate (none = end of the archive).</summary>
public sealed record RecoveryTarget(DateTimeOffset? Time, string? Lsn, string? Name, string? Xid, bool Immediate, string Action)
{
    /// <summary>The timeline recovery follows (recovery_target_timeline); null: PostgreSQL's "latest".</summary>
    public uint? Timeline { get; init; }

    public int Count => (Time is null ? 0 : 1) + (Lsn is null ? 0 : 1) + (Name is null ? 0 : 1) + (Xid is null ? 0 : 1) + (Immediate ? 1 : 0);

    public string Describe() =>
        Time is { } t ? $"time {t:yyyy-MM-dd HH:mm:ss.ffffff}+00" : Lsn is { } l ? $"LSN {l}" : Name is { } n ? $"restore point '{n}'"
        : Xid is { } x ? $"transaction {x}" : Immediate ? "the end of the base backup (immediate)" : "the end of the archived WAL";

    /// <summary>The recovery_target_* lines for postgresql.auto.conf.</summary>
    public IEnumerable<(string Name, string Value)> Settings()
    {
        if (Timeline is { } tli)
        {
            yield return ("recovery_target_timeline", tli.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (Time is { } t)
        {
            yield return ("recovery_target_time", t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture) + "+00");
        }
        if (Lsn is { } l)
        {
            yield return ("recovery_target_lsn", l);
        }
        if (Name is { } n)
        {
            yield return ("recovery_target_name", n);
        }
        if (Xid is { } x)
        {
            yield return ("recovery_target_xid", x);
        }
        if (Immediate)
        {
            yield return ("recovery_target", "immediate");
        }
        if (Count > 0)
        {
            yield return ("recovery_target_action", Action);
        }
    }
}
