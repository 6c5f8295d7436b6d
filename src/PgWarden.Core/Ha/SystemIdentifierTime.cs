using System.Globalization;

namespace PgWarden.Core.Ha;

/// <summary>
/// When a PostgreSQL cluster was created, read from its system identifier: initdb makes it from the time
/// of day — seconds since the Unix epoch in the high 32 bits (then microseconds and the process id) —
/// and every physical copy (replica, restore) keeps it. PgWarden uses it for "the cluster did not exist
/// before this moment" (a backup slot that passed earlier was not missed).
/// </summary>
public static class SystemIdentifierTime
{
    private static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The creation time (whole seconds, UTC), or null when the identifier is missing or not a plausible one.</summary>
    /// <param name="systemIdentifier">The decimal system identifier (pg_control_system(), pg_controldata).</param>
    /// <param name="now">Now: an identifier "created" more than a day after it is not trusted.</param>
    public static DateTimeOffset? CreatedAt(string? systemIdentifier, DateTimeOffset now)
    {
        if (!ulong.TryParse(systemIdentifier, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return null;
        }
        var created = DateTimeOffset.FromUnixTimeSeconds((long)(id >> 32));
        return created < Earliest || created > now.AddDays(1) ? null : created;
    }
}
