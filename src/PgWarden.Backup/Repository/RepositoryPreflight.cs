using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Processes;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Repository;

/// <summary>
/// Checks, before a cluster starts or when its configuration is checked, that PostgreSQL's
/// archive_command — run as the server OS user — can use the repository: a filesystem repository's
/// directory must be writable and reachable by that user (a directory created by root is not); an S3
/// credentials file and the cluster file must be readable by it. Each problem is one line naming the
/// path and the fix. The checks run as that user (test(1) through setpriv), so ACLs and groups count.
/// </summary>
public static class RepositoryPreflight
{
    /// <summary>
    /// Throws (exit 3) naming the first problem. With <paramref name="create"/> (pgwarden up, as root) a
    /// missing filesystem repository directory is created for the server user first.
    /// </summary>
    public static async Task EnsureAsync(ClusterConfig cluster, bool create, CancellationToken ct)
    {
        if (cluster.Backup is not { } backup)
        {
            return;
        }
        var user = OsUser.ServerUser(cluster.Postgres.OsUser);
        var tools = new ToolRunner(new ProcessLauncher(user));
        async Task<bool> Can(string test, string path) =>
            (await tools.RunAsync(new ToolCommand("/usr/bin/test", [test, path]) { Timeout = TimeSpan.FromSeconds(10) }, ct)).Succeeded;
        string Fix(string path, string what) => $"{path}: the {user.Name} OS user, which runs archive_command, cannot {what} it";

        DirectoryAccess.EnsureTraversable(cluster.ConfigFile, user);
        if (!await Can("-r", cluster.ConfigFile))
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"{Fix(cluster.ConfigFile, "read")} (archive_command reads it); fix: chmod o+r {cluster.ConfigFile} (or chgrp {user.Name} and chmod g+r)");
        }
        if (backup.Repository == RepositoryKind.S3)
        {
            if (backup.S3!.CredentialsFile is { } credentials && !await Can("-r", credentials))
            {
                throw new PgWardenException(ExitCodes.ConfigError, $"backup.repository.credentials_file {Fix(credentials, "read")}; fix: chown root:{user.Name} {credentials} && chmod 0640 {credentials}");
            }
            return;
        }
        var path = backup.Path!;
        if (DirectoryAccess.BlockingDirectory(Path.Combine(path, "x"), user) is { } blocking)
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"backup.repository.path {Fix(blocking, "enter")} on the way to {path}; fix: chmod o+x {blocking} (or choose a repository it can reach)");
        }
        if (!Directory.Exists(path))
        {
            if (!create)
            {
                return;
            }
            Directory.CreateDirectory(path);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
            if (Libc.IsRoot)
            {
                Libc.Chown(path, user.Uid, user.Gid);
            }
        }
        if (!await Can("-w", path) || !await Can("-x", path))
        {
            throw new PgWardenException(ExitCodes.ConfigError,
                $"backup.repository.path {Fix(path, "write into")} (WAL archiving would fail on every segment); fix: chown -R {user.Name}:{user.Name} {path}");
        }
        foreach (var sub in Directory.EnumerateDirectories(path, "*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 3 }).Where(d => Path.GetFileName(d) == "wal"))
        {
            if (!await Can("-w", sub))
            {
                throw new PgWardenException(ExitCodes.ConfigError, $"backup.repository.path {Fix(sub, "write into")} (WAL archiving fails); fix: chown -R {user.Name}:{user.Name} {path}");
            }
        }
    }
}
