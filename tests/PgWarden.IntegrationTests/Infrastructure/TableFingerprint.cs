using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>
/// An independent content hash of every user table (md5 of all rows as text, sorted) plus a catalog
/// inventory, read in one fixed session (DateStyle ISO, IntervalStyle postgres, extra_float_digits 3,
/// UTC) so the text forms do not depend on the database's own settings. Two databases with equal
/// fingerprints hold the same rows and the same schema objects.
/// </summary>
public static class TableFingerprint
{
    private const string Session = "SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3; SET TimeZone = 'UTC'; SET bytea_output = hex; SET lc_monetary = 'C'; SET search_path = pg_catalog";

    /// <summary>"schema.table" → "rows:md5" for every ordinary table (partitions and inheritance children separately, ONLY).</summary>
    public static async Task<SortedDictionary<string, string>> TablesAsync(NpgsqlConnection conn)
    {
        await Exec(conn, Session);
        var tables = new List<string>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
            ORDER BY 1
            """, conn))
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                tables.Add(r.GetString(0));
            }
        }
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in tables)
        {
            await using var cmd = new NpgsqlCommand($"SELECT count(*) || ':' || coalesce(md5(string_agg(x.r, E'\\n' ORDER BY x.r)), '') FROM (SELECT t::text AS r FROM ONLY {t} t) x", conn);
            result[t] = (string)(await cmd.ExecuteScalarAsync())!;
        }
        return result;
    }

    /// <summary>Types, functions, triggers, indexes, constraints, sequence values, large objects, policies, ACLs, database properties — one line each.</summary>
    public static async Task<List<string>> InventoryAsync(NpgsqlConnection conn)
    {
        await Exec(conn, Session);
        const string sql = """
            SELECT 'type ' || format_type(t.oid, NULL) || ' ' || t.typtype::text || coalesce(' ' || (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid), '')
              FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%' AND t.typtype IN ('e', 'd', 'c') AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind <> 'c')
            UNION ALL SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid)) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prokind IN ('f', 'p')
            UNION ALL SELECT 'trigger ' || tgrelid::regclass || ' ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
            UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
            UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
            UNION ALL SELECT 'sequence ' || format('%I.%I', schemaname, sequencename) || ' ' || coalesce(last_value::text, 'unset') FROM pg_sequences
            UNION ALL SELECT 'large object ' || l.oid || ' ' || pg_get_userbyid(l.lomowner) || ' ' || md5(lo_get(l.oid)) || ' ' || coalesce(l.lomacl::text, '') FROM pg_largeobject_metadata l
            UNION ALL SELECT 'policy ' || polrelid::regclass || ' ' || polname || ' ' || polroles::regrole[]::text FROM pg_policy
            UNION ALL SELECT 'relation ' || c.oid::regclass || ' ' || c.relkind::text || ' ' || c.relpersistence::text || ' ' || pg_get_userbyid(c.relowner) || ' ' || coalesce(c.relacl::text, '') || ' ' || coalesce((SELECT spcname FROM pg_tablespace WHERE oid = c.reltablespace), '')
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
            UNION ALL SELECT 'schema ' || nspname || ' ' || pg_get_userbyid(nspowner) || ' ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%'
            UNION ALL SELECT 'default acl ' || pg_get_userbyid(defaclrole) || ' ' || defaclobjtype::text || ' ' || defaclacl::text FROM pg_default_acl
            UNION ALL SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attidentity::text || a.attgenerated::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
            UNION ALL SELECT 'inherits ' || inhrelid::regclass || ' ' || inhparent::regclass FROM pg_inherits
            UNION ALL SELECT 'database ' || pg_get_userbyid(datdba) || ' ' || pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype || ' ' || datconnlimit || ' ' || coalesce(shobj_description(oid, 'pg_database'), '')
              FROM pg_database WHERE datname = current_database()
            UNION ALL SELECT 'database acl ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(datacl) a), 'default') FROM pg_database WHERE datname = current_database()
            UNION ALL SELECT 'database setting ' || coalesce(pg_get_userbyid(NULLIF(s.setrole, 0)), '*') || ' ' || array_to_string(s.setconfig, ' | ')
              FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database()
            """;
        var lines = new List<string>();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            lines.Add(r.GetString(0));
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>Asserts two databases have equal tables and inventory, naming the first difference.</summary>
    public static async Task AssertSameAsync(NpgsqlConnection expected, NpgsqlConnection actual, Func<string, string>? normalize = null)
    {
        normalize ??= s => s;
        var want = await TablesAsync(expected);
        var got = await TablesAsync(actual);
        Assert.Equal(string.Join('\n', want.Select(kv => $"{kv.Key} {kv.Value}")), string.Join('\n', got.Select(kv => $"{kv.Key} {kv.Value}")));
        var wantInventory = (await InventoryAsync(expected)).Select(normalize).ToList();
        var gotInventory = (await InventoryAsync(actual)).Select(normalize).ToList();
        var missing = wantInventory.Except(gotInventory).ToList();
        var extra = gotInventory.Except(wantInventory).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"catalog inventory differs:\n missing: {string.Join("\n  ", missing.Take(10))}\n extra: {string.Join("\n  ", extra.Take(10))}");
    }

    private static async Task Exec(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }
}
