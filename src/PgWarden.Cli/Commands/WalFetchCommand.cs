using System.CommandLine;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;

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
        var abort = new Option<bool>(AbortOnDamage)
        {
            Description = $"when the archived file is damaged or cannot be verified, exit {ExitCodes.AbortRecovery} so that PostgreSQL aborts recovery (default: exit {ExitCodes.OperationFailed}, which it reads as \"not archived\")",
        };
        var cmd = new Command("wal-fetch", "restore one archived WAL file (restore_command = 'pgwarden wal-fetch --config FILE %f %p')") { config, dir, dataDir, abort, name, path };
        CommandAction.Set(cmd, (p, ct) => RunAsync(p.GetValue(config), p.GetValue(dir), p.GetValue(dataDir), p.GetValue(name)!, p.GetValue(path)!, p.GetValue(abort), ct));
        return cmd;
    }

    /// <summary>
    /// The flag `pgwarden restore` puts into its restore_command: a damaged file must abort a point-in-time
    /// recovery, which would otherwise end there and report success. A cluster node's restore_command goes
    /// without it: a standby that cannot use an archived file streams it from the primary instead.
    /// </summary>
    public const string AbortOnDamage = "--abort-on-damage";

    /// <summary>The command's body, also reached through <see cref="WalFastPath"/>.</summary>
    public static async Task<int> RunAsync(string? config, string? dir, string? dataDir, string name, string path, bool abortOnDamage, CancellationToken ct)
    {
        var cluster = ClusterLocator.Load(config, dir);
        var data = Path.GetFullPath(dataDir ?? Environment.CurrentDirectory);
        if (TimelineLimit.Read(cluster, data) is var limit && TimelineLimit.Refuses(name, limit))
        {
            // PostgreSQL logs this; "not archived" keeps the node on the timelines its leader has.
            Console.Error.WriteLine($"pgwarden wal-fetch: not offering {name}: its timeline is newer than the leader's ({limit})");
            return ExitCodes.Degraded;
        }
        var layout = new RepositoryLayout(cluster.Name, ControlFile.SystemIdentifier(data));
        var repository = RepositoryFactory.Open(cluster);
        try
        {
            var destination = Path.GetFullPath(path, data);
            // Not archived is normal (PostgreSQL probes for history files and the next segment): exit 1, no message.
            return await new WalArchiver(repository, layout).FetchAsync(name, destination, ct) ? 0 : ExitCodes.Degraded;
        }
        catch (ArchivedFileDamagedException e) when (abortOnDamage)
        {
            Console.Error.WriteLine($"{Backup.Physical.Restorer.WalFetchDamage} {e.Message}");
            return ExitCodes.AbortRecovery;
        }
        finally
        {
            (repository as IDisposable)?.Dispose();
        }
    }
}
