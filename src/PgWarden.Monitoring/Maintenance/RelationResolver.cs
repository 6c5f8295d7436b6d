using Npgsql;
using PgWarden.Core.Errors;

namespace PgWarden.Monitoring.Maintenance;

/// <summary>
/// Resolves a user-given relation name (<c>table</c>, <c>schema.table</c>, or quoted parts) with
/// <c>to_regclass</c>, and returns the name quoted by the server (<c>format('%I.%I')</c>), which is
/// the only form ever put into a VACUUM or REINDEX statement.
/// </summary>
public static class RelationResolver
{
    public static async Task<ResolvedRelation> ResolveAsync(NpgsqlConnection conn, string name, string what, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new PgWardenException(ExitCodes.Usage, $"the {what} name is empty");
        }
        const string sql = """
            SELECT c.oid, c.relkind, format('%I.%I', n.nspname, c.relname)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = to_regclass(@name)
            """;
        try
        {
            await using var cmd = new NpgsqlCommand(sql, conn);
            cmd.Parameters.AddWithValue("name", name);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                return new ResolvedRelation(reader.GetFieldValue<uint>(0), reader.GetChar(1), reader.GetString(2));
            }
        }
        catch (PostgresException e) when (e.SqlState is "42601" or "42602" or "3F000" or "0A000" or "3D000")
        {
            // An unparsable name or a cross-database reference: the same answer as an unknown one.
        }
        throw new PgWardenException(ExitCodes.NotFound, $"no {what} named '{name}' in database {conn.Database}");
    }
}
