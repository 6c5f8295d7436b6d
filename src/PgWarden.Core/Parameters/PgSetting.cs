namespace PgWarden.Core.Parameters;

/// <summary>
/// One row of PostgreSQL's <c>pg_settings</c> view: what a parameter is and how it may change.
/// <paramref name="Context"/> decides how a new value takes effect (PostgreSQL docs, "pg_settings"):
/// postmaster → restart; sighup, superuser, user (and the backend kinds) → reload.
/// </summary>
/// <param name="Unit">The unit of <paramref name="Setting"/>, min and max ("8kB", "ms", "s", …; null: none).</param>
/// <param name="VarType">bool, integer, real, string or enum.</param>
public sealed record PgSetting(
    string Name,
    string Setting,
    string? Unit,
    string Context,
    string VarType,
    string? MinVal,
    string? MaxVal,
    IReadOnlyList<string> EnumVals,
    bool PendingRestart)
{
    /// <summary>A new value takes effect only after a restart of the server.</summary>
    public bool NeedsRestart => Context is "postmaster" or "internal";

    /// <summary>The current value with its unit, as <c>SHOW</c> would write it for memory and time ("16MB"), else the raw setting.</summary>
    public string Display => Unit is null ? Setting : ParameterValue.Describe(Setting, Unit);
}
