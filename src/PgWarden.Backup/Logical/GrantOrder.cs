namespace PgWarden.Backup.Logical;

/// <summary>
/// The order to replay an ACL's grants in: a grant by a role other than the owner needs that role to hold
/// the privilege WITH GRANT OPTION first (PostgreSQL records a grant by the role that holds the option, and
/// the owner holds them all). pg_dump replays the ACL array in its order, which PostgreSQL keeps as the
/// grants were made (acl.h); this keeps that order and moves a grant only when the grant it depends on
/// comes later — so a chain owner → alice (grant option) → bob replays whatever the roles are called.
/// </summary>
public static class GrantOrder
{
    /// <summary>The grants of <paramref name="acl"/> ordered so that each grantor holds the option it uses; an unsatisfiable rest keeps its order, last.</summary>
    public static IReadOnlyList<DatabaseGrant> Sort(string owner, IReadOnlyList<DatabaseGrant> acl)
    {
        var remaining = acl.ToList();
        var held = new HashSet<(string Role, string Privilege)>();
        var result = new List<DatabaseGrant>();
        while (remaining.FindIndex(g => g.Grantor == owner || held.Contains((g.Grantor, g.Privilege))) is var next and >= 0)
        {
            var grant = remaining[next];
            remaining.RemoveAt(next);
            result.Add(grant);
            if (grant.Grantable && grant.Grantee.Length > 0)
            {
                held.Add((grant.Grantee, grant.Privilege));
            }
        }
        result.AddRange(remaining);
        return result;
    }
}
