namespace PgWarden.Core.Dcs;

/// <summary>
/// The leader's last recorded WAL position and the timeline it was on (the DCS key <c>optime</c>,
/// without a lease so it outlives a crashed leader). Positions are bytes (see <see cref="Ha.Lsn"/>).
/// </summary>
public sealed record LeaderOptime(long Timeline, long Position)
{
    /// <summary>"timeline/position" — or, as written by older versions, a bare position (timeline unknown: 0).</summary>
    public static LeaderOptime? Parse(string text)
    {
        var slash = text.IndexOf('/');
        if (slash < 0)
        {
            return long.TryParse(text, out var bare) ? new LeaderOptime(0, bare) : null;
        }
        return long.TryParse(text.AsSpan(0, slash), out var timeline) && long.TryParse(text.AsSpan(slash + 1), out var position)
            ? new LeaderOptime(timeline, position)
            : null;
    }

    public string Format() => $"{Timeline}/{Position}";
}
