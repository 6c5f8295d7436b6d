using System.CommandLine;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Repository.Encryption;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Core.Processes;
using PgWarden.Postgres.Os;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden backup rotate-key`: re-wraps every data key of the repository under a new master key (docs/backup-encryption.md).</summary>
public static class RotateKeyCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var cmd = new Command("rotate-key",
            "move the repository to a new backup encryption master key without rewriting any backup: the data keys are re-wrapped; "
            + "safe to interrupt and run again (old and new key are both accepted until it completes)") { config, dir };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var encryption = cluster.Backup?.Encryption;
            if (encryption is null || !encryption.Enabled)
            {
                throw new PgWardenException(ExitCodes.ConfigError,
                    $"backups of cluster {cluster.Name} are not encrypted ({(cluster.Backup is null ? "no backup section" : encryption!.Mode == Core.Config.BackupEncryptionMode.None ? "backup.encryption is none" : $"no key file {encryption!.KeyFile}")} in {cluster.ConfigFile}); there is no key to rotate");
            }
            var raw = RepositoryFactory.OpenRaw(cluster);
            try
            {
                var owner = Libc.IsRoot ? OsUser.Lookup(cluster.Postgres.OsUser) : null;
                await new KeyRotation(raw, encryption.KeyFile!, owner, Console.WriteLine).RunAsync(ct);
            }
            finally
            {
                (raw as IDisposable)?.Dispose();
            }
            return 0;
        });
        return cmd;
    }
}
