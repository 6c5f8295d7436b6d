using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Rendering;
using PgWarden.Core.Security;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;
using PgWarden.Core.Processes;

namespace PgWarden.Pooler;

/// <summary>
/// One PgBouncer: its pgbouncer.ini and SCRAM userlist, and the pgbouncer process (a child of the
/// steering process, running as the server OS user). A route change is applied with a reload
/// (SIGHUP): PgBouncer then sends new transactions to the new hosts and closes server connections
/// to hosts no longer listed as they are released.
/// </summary>
public sealed class PgBouncerInstance(ClusterConfig cluster, PoolerConfig pooler, ProcessLauncher launcher, string binary = PgBouncerInstance.DefaultBinary)
    : IAsyncDisposable
{
    public const string DefaultBinary = "/usr/sbin/pgbouncer";

    private ServerProcess? _process;
    private string? _renderedIni;

    public string HomeDir => pooler.HomeDir(cluster);

    public string IniFile => Path.Combine(HomeDir, "pgbouncer.ini");

    public ServerProcess? Process => _process;

    public static void EnsureInstalled(string binary = DefaultBinary)
    {
        if (!File.Exists(binary))
        {
            throw new PgWardenException(ExitCodes.MissingDependency, $"{binary} is missing: apt-get install pgbouncer");
        }
    }

    public void Prepare(ClusterSecrets secrets)
    {
        DirectoryAccess.EnsureTraversable(HomeDir, launcher.ServerUser);
        DirectoryAccess.CreatePrivate(HomeDir, launcher.ServerUser);
        DirectoryAccess.CreatePrivate(pooler.SocketDir(cluster), launcher.ServerUser);
        var db = cluster.Database;
        var users = new[]
        {
            // The verifier only: a pooler host's secrets hold no app password (docs/secrets.md).
            new KeyValuePair<string, string>(db.AppUser, secrets.AppScramSecret(db.AppUser)),
            new KeyValuePair<string, string>(db.PoolerAdminUser, ScramSecret.ForRole(db.PoolerAdminUser, secrets.PoolerAdminPassword)),
        };
        DirectoryAccess.WriteOwnedFile(Path.Combine(HomeDir, "userlist.txt"), PgBouncerIniRenderer.RenderUserList(users), launcher.ServerUser);
    }

    /// <summary>Writes the routes; starts PgBouncer the first time, reloads it when the routes changed. True if anything changed.</summary>
    public bool Apply(NodeConfig? primary, IReadOnlyList<NodeConfig> replicas)
    {
        var ini = PgBouncerIniRenderer.Render(cluster, pooler, primary, replicas);
        if (ini == _renderedIni && _process is { HasExited: false })
        {
            return false;
        }
        DirectoryAccess.WriteOwnedFile(IniFile, ini, launcher.ServerUser);
        _renderedIni = ini;
        if (_process is null || _process.HasExited)
        {
            _process = ServerProcess.Start(launcher, new ToolCommand(binary, [IniFile]) { ParentDeathSignal = "SIGTERM" }, Path.Combine(HomeDir, "pgbouncer.log"));
        }
        else
        {
            _process.Signal(Libc.SIGHUP);
        }
        return true;
    }

    /// <summary>Forget the last rendering so the next <see cref="Apply"/> restarts a crashed PgBouncer.</summary>
    public void Invalidate() => _renderedIni = null;

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            // SIGINT: "safe shutdown" — wait for clients' transactions, then exit.
            await _process.StopAsync(Libc.SIGINT, TimeSpan.FromSeconds(10));
            await _process.DisposeAsync();
        }
    }
}
