namespace PgWarden.Core.Ha;

/// <summary>A node as a possible leader: where its WAL ends, on which timeline, and its tags.</summary>
public sealed record LeadershipCandidate(string Name, long Timeline, long Position, int Priority, bool NoFailover)
{
    /// <summary>Better first: newer timeline, then more WAL, then higher priority, then name.</summary>
    public static readonly IComparer<LeadershipCandidate> BestFirst = Comparer<LeadershipCandidate>.Create((a, b) =>
        a.Timeline != b.Timeline ? b.Timeline.CompareTo(a.Timeline)
        : a.Position != b.Position ? b.Position.CompareTo(a.Position)
        : a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority)
        : string.CompareOrdinal(a.Name, b.Name));
}
