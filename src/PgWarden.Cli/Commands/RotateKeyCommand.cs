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
        var prepare = new Option<bool>("--prepare") { Description = "only write KEY_FILE.new (the new key), to be copied to every host before the rotation (several hosts: docs/backup-encryption.md)" };
        var keepOld = new Option<bool>("--keep-old") { Description = "re-wrap and make the new key current here, but keep the old key's wrappings and KEY_FILE.old until a run without it (once every host uses the new key)" };
        var cmd = new Command("rotate-key",
            "move the repository to a new backup encryption master key without rewriting any backup: the data keys are re-wrapped; "
            + "safe to interrupt and run again (old and new key are both accepted until it completes)") { config, dir, prepare, keepOld };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            if (p.GetValue(prepare) && p.GetValue(keepOld))
            {
                throw new PgWardenException(ExitCodes.Usage, "--prepare and --keep-old are steps of their own: give one of them (docs/backup-encryption.md, \"Several hosts\")");
            }
            var end = p.GetValue(prepare) ? RotationEnd.NewKeyWritten : p.GetValue(keepOld) ? RotationEnd.Switched : RotationEnd.Complete;
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
                await new KeyRotation(raw, encryption.KeyFile!, owner, Console.WriteLine, end, cluster.Name).RunAsync(ct);
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
