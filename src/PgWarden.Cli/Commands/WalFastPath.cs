namespace PgWarden.Cli.Commands;

/// <summary>
/// PostgreSQL runs archive_command / restore_command once per WAL file, so their start-up is paid for
/// every 16 MB. The plain forms PgWarden renders — <c>wal-push [--config F] [--dir D] [--data-dir D] PATH</c>
/// and <c>wal-fetch … [--abort-on-damage] NAME PATH</c> — are parsed here, without building the whole command tree (and
/// loading System.CommandLine and Spectre.Console); anything else (help, other spellings, mistakes)
/// takes the normal way, so behaviour and messages stay those of <see cref="WalPushCommand"/> and
/// <see cref="WalFetchCommand"/>.
/// </summary>
public static class WalFastPath
{
    private static readonly string[] ValueOptions = ["--config", "-c", "--dir", "--data-dir"];

    /// <summary>The command to run for <paramref name="args"/>, or null when the normal parser must handle them.</summary>
    public static Func<CancellationToken, Task<int>>? TryParse(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("wal-push" or "wal-fetch"))
        {
            return null;
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var positional = new List<string>();
        var abortOnDamage = false;
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg == WalFetchCommand.AbortOnDamage && args[0] == "wal-fetch" && !abortOnDamage)
            {
                abortOnDamage = true;
            }
            else if (ValueOptions.Contains(arg))
            {
                var key = arg == "-c" ? "--config" : arg;
                if (i + 1 >= args.Length || values.ContainsKey(key))
                {
                    return null;
                }
                values[key] = args[++i];
            }
            else if (arg.Length == 0 || arg[0] is '-' or '@')
            {
                return null; // --help, --option=value, response files …: the full parser's job
            }
            else
            {
                positional.Add(arg);
            }
        }
        var config = values.GetValueOrDefault("--config");
        var dir = values.GetValueOrDefault("--dir");
        var dataDir = values.GetValueOrDefault("--data-dir");
        return (args[0], positional) switch
        {
            ("wal-push", [var path]) => ct => WalPushCommand.RunAsync(config, dir, dataDir, path, ct),
            ("wal-fetch", [var name, var path]) => ct => WalFetchCommand.RunAsync(config, dir, dataDir, name, path, abortOnDamage, ct),
            _ => null,
        };
    }
}
