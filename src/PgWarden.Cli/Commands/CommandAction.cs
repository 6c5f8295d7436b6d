using System.CommandLine;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Commands;

/// <summary>Runs a command body and turns any error into one line on stderr and a named exit code.</summary>
public static class CommandAction
{
    public static void Set(Command command, Func<ParseResult, CancellationToken, Task<int>> body)
    {
        command.SetAction((parse, ct) => RunAsync(c => body(parse, c), ct));
    }

    /// <summary>Runs <paramref name="body"/>, mapping errors to one line on stderr and an exit code.</summary>
    public static async Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken ct)
    {
        try
        {
            return await body(ct);
        }
        catch (PgWardenException e)
        {
            Console.Error.WriteLine($"pgwarden: error: {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine("pgwarden: interrupted");
            return 130;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("PGWARDEN_DEBUG") != "1")
        {
            Console.Error.WriteLine($"pgwarden: unexpected error: {e.GetType().Name}: {e.Message} (set PGWARDEN_DEBUG=1 for details)");
            return ExitCodes.OperationFailed;
        }
    }

    public static Option<string?> ConfigOption() => new("--config", "-c") { Description = "cluster configuration file (YAML)" };

    public static Option<string?> DirOption() => new("--dir") { Description = $"cluster directory holding cluster.yaml (default {Runtime.ClusterLocator.DefaultDir})" };

    public static Option<bool> JsonOption() => new("--json") { Description = "machine-readable output" };
}
