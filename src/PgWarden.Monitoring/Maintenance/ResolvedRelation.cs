namespace PgWarden.Monitoring.Maintenance;

/// <summary>A relation found by name: its OID, its kind (pg_class.relkind) and its safely quoted schema-qualified name.</summary>
public sealed record ResolvedRelation(uint Oid, char Kind, string QuotedName)
{
    public bool IsTable => Kind is 'r' or 'm' or 'p';

    public bool IsIndex => Kind is 'i' or 'I';
}
