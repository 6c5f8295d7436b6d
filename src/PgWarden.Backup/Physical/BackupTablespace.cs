namespace PgWarden.Backup.Physical;

/// <summary>A tablespace outside the data directory at backup time: its OID (pg_tblspc/&lt;oid&gt;), name and location.</summary>
public sealed record BackupTablespace(uint Oid, string Name, string Location)
{
    /// <summary>The backup file holding its contents (pg_basebackup's &lt;oid&gt;.tar, zstd).</summary>
    public string FileName => $"pg_tblspc/{Oid}.tar.zst";
}
