using System.CommandLine;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Cli.Runtime;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden wal-push %p`: PostgreSQL's archive_command. Exit 0 only when the file is durably in the repository.</summary>
public static class WalPushCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var dataDir = DataDirOption();
        var path = new Argument<string>("path") { Description = "the WAL file to archive (%p, relative to the data directory)" };
        var cmd = new Command("wal-push", "archive one WAL file (archive_command = 'pgwarden wal-push --config FILE %p')") { config, dir, dataDir, path };
        CommandAction.Set(cmd, (p, ct) => RunAsync(p.GetValue(config), p.GetValue(dir), p.GetValue(dataDir), p.GetValue(path)!, ct));
        return cmd;
    }

    /// <summary>The command's body, also reached through <see cref="WalFastPath"/>.</summary>
    public static async Task<int> RunAsync(string? config, string? dir, string? dataDir, string path, CancellationToken ct)
    {
        var cluster = ClusterLocator.Load(config, dir);
        var data = Path.GetFullPath(dataDir ?? Environment.CurrentDirectory);
        var layout = new RepositoryLayout(cluster.Name, ControlFile.SystemIdentifier(data));
        var repository = RepositoryFactory.Open(cluster);
        try
        {
            var file = Path.GetFullPath(path, data);
            await new WalArchiver(repository, layout).PushAsync(file, ct);
            return 0;
        }
        finally
        {
            (repository as IDisposable)?.Dispose();
        }
    }

    public static Option<string?> DataDirOption() =>
        new("--data-dir") { Description = "the data directory whose system identifier the archive belongs to (default: the current directory, as PostgreSQL runs it)" };
}
