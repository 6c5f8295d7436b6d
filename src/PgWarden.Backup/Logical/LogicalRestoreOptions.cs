namespace PgWarden.Backup.Logical;

/// <summary>
/// How restore-logical restores: pg_restore and slice jobs (1 or more); <see cref="NoTablespaces"/>
/// puts every object into the default tablespace (pg_restore --no-tablespaces); <see cref="CreateRoles"/>
/// creates missing roles the backup references as NOLOGIN roles instead of refusing; <see cref="Force"/> drops
/// the target database first when (and only when) an interrupted restore-logical left it.
/// </summary>
public sealed record LogicalRestoreOptions(int Jobs, bool NoTablespaces = false, bool CreateRoles = false, bool Force = false);
