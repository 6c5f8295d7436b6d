namespace PgWarden.Core.Ha;

/// <summary>The life of a node's postmaster as its supervisor sees it.</summary>
public enum PostmasterState
{
    /// <summary>Not running, and not expected to (never started, stopped on purpose).</summary>
    Stopped,

    /// <summary>Started; not accepting connections yet (start-up, crash recovery).</summary>
    Starting,

    /// <summary>Running and answering status queries on fresh connections.</summary>
    Running,

    /// <summary>Running but its last status queries timed out (hung or overloaded).</summary>
    NotAnswering,

    /// <summary>Exited without being asked to.</summary>
    Crashed,

    /// <summary>Killed with every backend by the supervisor (hung, or not back within its restart budget).</summary>
    Fenced,
}
