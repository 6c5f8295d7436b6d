using System.Globalization;
using PgWarden.Backup.Physical;
using PgWarden.Core.Errors;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Verify;

/// <summary>
/// A fresh, throw-away PostgreSQL to restore a logical backup into: initdb like the cluster's nodes
/// (UTF-8, C.UTF-8), trust only on its private socket directory (TCP logins rejected), started as
/// the server OS user on a free loopback port as a child that dies with this process, stopped by pg_ctl
/// and, failing that, by PID.
/// </summary>
public sealed class ScratchInstance(PgBinaries bin, ProcessLauncher launcher, IToolRunner tools, string dataDir, string socketDir, string logFile, string superuser, Action<string> output) : IAsyncDisposable
{
    /// <summary>sun_path holds 108 bytes; the socket file name adds ".s.PGSQL.NNNNN".</summary>
    private const int MaxSocketDir = 90;

    public int Port { get; private set; }
    public string SocketDir => socketDir;
    public string DataDir => dataDir;

    public async Task StartAsync(CancellationToken ct)
    {
        if (socketDir.Length > MaxSocketDir)
        {
            throw new PgWardenException(ExitCodes.Usage, $"the scratch socket directory {socketDir} is too long for a Unix socket; choose a shorter --scratch-dir");
        }
        var user = launcher.ServerUser;
        DirectoryAccess.CreatePrivate(dataDir, user);
        DirectoryAccess.EnsureTraversable(socketDir, user);
        DirectoryAccess.CreatePrivate(socketDir, user);
        var init = await tools.RunAsync(new ToolCommand(bin.InitDb,
        [
            "-D", dataDir, "--encoding=UTF8", "--locale=C.UTF-8", "--username=" + superuser,
            "--auth-local=trust", "--auth-host=reject", "--no-sync", "--no-instructions",
        ]) { Timeout = TimeSpan.FromMinutes(5) }, ct);
        if (!init.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"initdb of the scratch PostgreSQL in {dataDir} failed: {init.Tail()}");
        }
        Port = Restorer.FreePort();
        var settings = new List<(string Name, string Value)>
        {
            ("listen_addresses", "127.0.0.1"),
            ("port", Port.ToString(CultureInfo.InvariantCulture)),
            ("unix_socket_directories", socketDir),
            ("logging_collector", "off"),
        };
        settings.AddRange(PhysicalRestoreTest.ScratchSettings);
        await File.AppendAllTextAsync(Path.Combine(dataDir, "postgresql.auto.conf"),
            "\n# Scratch PostgreSQL for a restore test by pgwarden backup verify\n" + string.Join("", settings.Select(s => $"{s.Name} = {Core.Rendering.ConfValue.Pg(s.Value)}\n")), ct);
        // A child that dies with this process (SIGQUIT, as the agent's PostgreSQL): a verify killed meanwhile leaves no server behind.
        _server = ServerProcess.Start(launcher, new ToolCommand(bin.Postgres, ["-D", dataDir]) { ParentDeathSignal = "SIGQUIT" }, logFile);
        if (!await ReadyAsync(ct))
        {
            var log = File.Exists(logFile) ? string.Join(" / ", File.ReadLines(logFile).TakeLast(3)) : "";
            await DisposeAsync();
            throw new PgWardenException(ExitCodes.OperationFailed, $"the scratch PostgreSQL for the restore test did not start on 127.0.0.1:{Port}: {log}");
        }
        output($"  scratch PostgreSQL started on 127.0.0.1:{Port} (socket {socketDir})");
    }

    private ServerProcess? _server;

    /// <summary>True once the server accepts a connection on its socket; false when it exits or 60 s pass first.</summary>
    private async Task<bool> ReadyAsync(CancellationToken ct)
    {
        var cs = new Npgsql.NpgsqlConnectionStringBuilder { Host = socketDir, Port = Port, Username = superuser, Database = "postgres", Timeout = 5, Pooling = false }.ConnectionString;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline && _server is { HasExited: false })
        {
            try
            {
                await using var conn = new Npgsql.NpgsqlConnection(cs);
                await conn.OpenAsync(ct);
                return true;
            }
            catch (Npgsql.NpgsqlException)
            {
                await Task.Delay(200, ct);
            }
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await ScratchServer.StopAsync(tools, bin, dataDir, output);
        if (_server is { } server)
        {
            _server = null;
            await server.StopAsync(Core.Processes.Libc.SIGQUIT, TimeSpan.FromSeconds(10));
            await server.DisposeAsync();
        }
    }
}
