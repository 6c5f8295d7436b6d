using System.CommandLine;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden wal-fetch %f %p`: PostgreSQL's restore_command. Exit 1 quietly when the file is not archived.</summary>
public static class WalFetchCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var dataDir = WalPushCommand.DataDirOption();
        var name = new Argument<string>("file") { Description = "the WAL file name PostgreSQL wants (%f)" };
        var path = new Argument<string>("path") { Description = "where to write it (%p, relative to the data directory)" };
        var cmd = new Command("wal-fetch", "restore one archived WAL file (restore_command = 'pgwarden wal-fetch --config FILE %f %p')") { config, dir, dataDir, name, path };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var data = Path.GetFullPath(p.GetValue(dataDir) ?? Environment.CurrentDirectory);
            var layout = new RepositoryLayout(cluster.Name, ControlFile.SystemIdentifier(data));
            var repository = RepositoryFactory.Open(cluster);
            try
            {
                var destination = Path.GetFullPath(p.GetValue(path)!, data);
                // Not archived is normal (PostgreSQL probes for history files and the next segment): exit 1, no message.
                return await new WalArchiver(repository, layout).FetchAsync(p.GetValue(name)!, destination, ct) ? 0 : ExitCodes.Degraded;
            }
            finally
            {
                (repository as IDisposable)?.Dispose();
            }
        });
        return cmd;
    }
}
