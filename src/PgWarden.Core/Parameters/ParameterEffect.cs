namespace PgWarden.Core.Parameters;

/// <summary>How a change made by `config apply` takes effect.</summary>
public enum ParameterEffect
{
    /// <summary>A dynamic DCS setting: every agent uses it from its next cycle.</summary>
    Dcs,

    /// <summary>A PostgreSQL parameter that a reload applies (pg_settings.context sighup, superuser, user, backend…).</summary>
    Reload,

    /// <summary>A PostgreSQL parameter of context postmaster: pending until each node restarts (`pgwarden restart --rolling`).</summary>
    Restart,
}
