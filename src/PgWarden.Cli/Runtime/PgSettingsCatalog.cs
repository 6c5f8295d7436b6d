using Npgsql;
using PgWarden.Core.Parameters;

namespace PgWarden.Cli.Runtime;

/// <summary>Reads pg_settings of a running server: every parameter it knows, how it may change, and the values in effect.</summary>
public static class PgSettingsCatalog
{
    /// <summary>Every row of pg_settings, by name.</summary>
    public static async Task<IReadOnlyDictionary<string, PgSetting>> ReadAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var all = new Dictionary<string, PgSetting>(StringComparer.Ordinal);
        await using var cmd = new NpgsqlCommand(
            "SELECT name, setting, unit, context, vartype, min_val, max_val, enumvals, pending_restart FROM pg_settings", conn);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            var s = new PgSetting(r.GetString(0), r.IsDBNull(1) ? "" : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.GetString(4),
                r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? [] : r.GetFieldValue<string[]>(7), r.GetBoolean(8));
            all[s.Name] = s;
        }
        return all;
    }

    /// <summary>A parameter not at its built-in default: where its value comes from (configuration file, ALTER SYSTEM, …).</summary>
    public sealed record InEffect(string Name, string Value, string Source, string Context, bool PendingRestart);

    /// <summary>The parameters whose value does not come from PostgreSQL's defaults or the client session.</summary>
    public static async Task<IReadOnlyList<InEffect>> NonDefaultAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var list = new List<InEffect>();
        await using var cmd = new NpgsqlCommand("""
            SELECT name, setting, unit, COALESCE(source, ''), context, pending_restart FROM pg_settings
            WHERE source NOT IN ('default', 'client', 'session', 'override', 'environment variable') OR pending_restart
            ORDER BY name
            """, conn);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            var setting = r.IsDBNull(1) ? "" : r.GetString(1);
            var value = r.IsDBNull(2) ? setting : ParameterValue.Describe(setting, r.GetString(2));
            list.Add(new InEffect(r.GetString(0), value, r.GetString(3), r.GetString(4), r.GetBoolean(5)));
        }
        return list;
    }
}
