namespace PgWarden.Backup.Logical;

/// <summary>One pg_db_role_setting entry of a database: "name=value", for every role (<see cref="Role"/> null) or for one role.</summary>
public sealed record DatabaseSetting(string? Role, string Entry);
