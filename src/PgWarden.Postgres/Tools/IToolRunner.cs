namespace PgWarden.Postgres.Tools;

/// <summary>Runs an external program to completion (initdb, pg_basebackup, pg_ctl, pg_controldata, …).</summary>
public interface IToolRunner
{
    Task<ToolResult> RunAsync(ToolCommand command, CancellationToken cancellationToken);
}
