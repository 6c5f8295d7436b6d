namespace PgWarden.Backup.Logical;

/// <summary>One privilege of a database's ACL (a row of aclexplode(datacl)); an empty grantee is PUBLIC.</summary>
public sealed record DatabaseGrant(string Grantor, string Grantee, string Privilege, bool Grantable);
