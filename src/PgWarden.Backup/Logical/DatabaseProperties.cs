using System.Text.Json;
using Npgsql;

namespace PgWarden.Backup.Logical;

/// <summary>
/// database.json of a logical backup: what pg_dump keeps only for <c>--create</c> and PgWarden
/// restores into a database of another name — owner, encoding and locale, connection limit,
/// comment, ACL, ALTER DATABASE / ALTER ROLE … IN DATABASE settings — plus every role the dump
/// references (owners, grantees and grantors, policy roles, default privileges: pg_shdepend) and the
/// tablespaces its objects use. Read in the dump's snapshot.
/// </summary>
public sealed record DatabaseProperties(
    string Name,
    string Owner,
    string Encoding,
    string Collate,
    string Ctype,
    string LocaleProvider,
    string? IcuLocale,
    int ConnectionLimit,
    string? Comment,
    bool DefaultAcl,
    IReadOnlyList<DatabaseGrant> Acl,
    IReadOnlyList<DatabaseSetting> Settings,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string> Tablespaces)
{
    public const string FileName = "database.json.zst";

    public string ToJson() => JsonSerializer.Serialize(this, Catalog.BackupManifest.Json);

    public static DatabaseProperties Parse(string json) =>
        JsonSerializer.Deserialize<DatabaseProperties>(json, Catalog.BackupManifest.Json) ?? throw new JsonException("database.json is empty");

    private const string PropertiesSql = """
        SELECT d.datname, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, d.datlocprovider::text,
               d.daticulocale, d.datconnlimit, shobj_description(d.oid, 'pg_database'), d.datacl IS NULL
        FROM pg_database d WHERE d.datname = current_database()
        """;

    /// <summary>The ACL items in the order of the array (the order they were granted in, which pg_dump replays).</summary>
    private const string AclSql = """
        SELECT pg_get_userbyid(a.grantor), CASE a.grantee WHEN 0 THEN '' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, a.is_grantable
        FROM pg_database d, unnest(d.datacl) WITH ORDINALITY AS u(item, n), aclexplode(ARRAY[u.item]) a
        WHERE d.datname = current_database() ORDER BY u.n, a.privilege_type
        """;

    private const string SettingsSql = """
        SELECT CASE s.setrole WHEN 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END, c
        FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) WITH ORDINALITY AS u(c, n)
        WHERE d.datname = current_database() ORDER BY s.setrole, n
        """;

    /// <summary>Roles that objects of this database (or the database itself) depend on, besides predefined pg_* roles.</summary>
    private const string RolesSql = """
        WITH db AS (SELECT oid FROM pg_database WHERE datname = current_database())
        SELECT DISTINCT r.rolname FROM pg_shdepend s JOIN pg_roles r ON r.oid = s.refobjid, db
        WHERE s.refclassid = 'pg_authid'::regclass
          AND (s.dbid = db.oid OR (s.classid = 'pg_database'::regclass AND s.objid = db.oid))
          AND r.rolname NOT LIKE 'pg\_%'
        ORDER BY 1
        """;

    private const string TablespacesSql = """
        SELECT DISTINCT t.spcname FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace
        WHERE t.spcname NOT IN ('pg_default', 'pg_global') ORDER BY 1
        """;

    /// <summary>Reads the properties of the connection's database (inside the dump's transaction when <paramref name="tx"/> is given).</summary>
    public static async Task<DatabaseProperties> ReadAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, CancellationToken ct)
    {
        DatabaseProperties props;
        await using (var cmd = new NpgsqlCommand(PropertiesSql, conn, tx))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            await r.ReadAsync(ct);
            props = new DatabaseProperties(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
                r.IsDBNull(6) ? null : r.GetString(6), r.GetInt32(7), r.IsDBNull(8) ? null : r.GetString(8), r.GetBoolean(9), [], [], [], []);
        }
        var acl = await RowsAsync(conn, tx, AclSql, r => new DatabaseGrant(r.GetString(0), r.GetString(1), r.GetString(2), r.GetBoolean(3)), ct);
        var settings = await RowsAsync(conn, tx, SettingsSql, r => new DatabaseSetting(r.IsDBNull(0) ? null : r.GetString(0), r.GetString(1)), ct);
        var roles = new SortedSet<string>(await RowsAsync(conn, tx, RolesSql, r => r.GetString(0), ct), StringComparer.Ordinal) { props.Owner };
        roles.UnionWith(acl.SelectMany(a => new[] { a.Grantor, a.Grantee }).Where(n => n.Length > 0));
        roles.UnionWith(settings.Select(s => s.Role).OfType<string>());
        roles.RemoveWhere(n => n.StartsWith("pg_", StringComparison.Ordinal));
        var tablespaces = await RowsAsync(conn, tx, TablespacesSql, r => r.GetString(0), ct);
        return props with { Acl = acl, Settings = settings, Roles = [.. roles], Tablespaces = tablespaces };
    }

    private static async Task<List<T>> RowsAsync<T>(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, Func<NpgsqlDataReader, T> row, CancellationToken ct)
    {
        var list = new List<T>();
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(row(r));
        }
        return list;
    }

    /// <summary>CREATE DATABASE <paramref name="database"/> with this owner, encoding, locale and connection limit (in the default tablespace).</summary>
    public string CreateStatement(string database) =>
        $"CREATE DATABASE {Sql.Ident(database)} WITH TEMPLATE template0 OWNER {Sql.Ident(Owner)} ENCODING {Sql.Literal(Encoding)}"
        + $" LOCALE_PROVIDER {(LocaleProvider == "i" ? "icu" : "libc")} LC_COLLATE {Sql.Literal(Collate)} LC_CTYPE {Sql.Literal(Ctype)}"
        + (IcuLocale is { } icu ? $" ICU_LOCALE {Sql.Literal(icu)}" : "")
        + $" CONNECTION LIMIT {ConnectionLimit}";

    /// <summary>
    /// The statements that give a created database these settings and this ACL (the comment comes last, see
    /// <see cref="CommentStatement"/>). A grant made by a role other than the owner is made as that role
    /// (SET ROLE), so its grantor is kept; grants are made in an order where each grantor already holds the
    /// grant option it uses (<see cref="GrantOrder"/>).
    /// </summary>
    public IReadOnlyList<string> PropertyStatements(string database)
    {
        var db = Sql.Ident(database);
        var statements = new List<string>();
        statements.AddRange(Settings.Select(s => AlterConfigCommand.For(database, s.Role, s.Entry)));
        if (!DefaultAcl)
        {
            statements.Add($"REVOKE ALL ON DATABASE {db} FROM PUBLIC");
            statements.Add($"REVOKE ALL ON DATABASE {db} FROM {Sql.Ident(Owner)}");
            foreach (var g in GrantOrder.Sort(Owner, Acl))
            {
                var grant = $"GRANT {g.Privilege} ON DATABASE {db} TO {(g.Grantee.Length == 0 ? "PUBLIC" : Sql.Ident(g.Grantee))}{(g.Grantable ? " WITH GRANT OPTION" : "")}";
                statements.Add(g.Grantor == Owner ? grant : $"SET ROLE {Sql.Ident(g.Grantor)}; {grant}; RESET ROLE");
            }
        }
        return statements;
    }

    /// <summary>COMMENT ON DATABASE with the source's comment (IS NULL when it had none): replaces restore-logical's in-progress marker.</summary>
    public string CommentStatement(string database) => $"COMMENT ON DATABASE {Sql.Ident(database)} IS {(Comment is { } c ? Sql.Literal(c) : "NULL")}";
}
