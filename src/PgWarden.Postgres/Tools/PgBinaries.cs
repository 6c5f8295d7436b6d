using PgWarden.Core.Errors;

namespace PgWarden.Postgres.Tools;

/// <summary>Paths of the PostgreSQL programs PgWarden runs, from one bin directory.</summary>
public sealed class PgBinaries(string binDir, int version)
{
    public string BinDir { get; } = binDir;

    public string InitDb => Path.Combine(BinDir, "initdb");
    public string Postgres => Path.Combine(BinDir, "postgres");
    public string PgCtl => Path.Combine(BinDir, "pg_ctl");
    public string PgBaseBackup => Path.Combine(BinDir, "pg_basebackup");
    public string PgControlData => Path.Combine(BinDir, "pg_controldata");
    public string PgRewind => Path.Combine(BinDir, "pg_rewind");

    /// <summary>Throws with the Debian package to install when a program is missing.</summary>
    public void EnsureInstalled()
    {
        foreach (var tool in new[] { InitDb, Postgres, PgCtl, PgBaseBackup, PgControlData })
        {
            if (!File.Exists(tool))
            {
                throw new PgWardenException(ExitCodes.MissingDependency,
                    $"{tool} is missing: install PostgreSQL {version} (apt-get install postgresql-{version} postgresql-contrib) or set postgres.bin_dir");
            }
        }
        var contrib = $"/usr/share/postgresql/{version}/extension/pg_stat_statements.control";
        if (BinDir.StartsWith("/usr/lib/postgresql/", StringComparison.Ordinal) && !File.Exists(contrib))
        {
            throw new PgWardenException(ExitCodes.MissingDependency,
                $"pg_stat_statements is missing ({contrib}): apt-get install postgresql-contrib");
        }
    }
}
