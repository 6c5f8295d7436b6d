using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden reload [NODE]` (patronictl reload): each node's agent rewrites its configuration (with
/// the cluster-wide parameters from the DCS) and reloads PostgreSQL, and reports what now waits for a
/// restart. Exit 8 when a node's agent cannot be reached, 10 when a reload was not confirmed or
/// PostgreSQL rejected a line of its configuration.
/// </summary>
public static class ReloadCommand
{
    public static Command Create()
    {
        var node = new Argument<string?>("node") { Description = "the node to reload (default: every node)", Arity = ArgumentArity.ZeroOrOne };
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var json = CommandAction.JsonOption();
        var cmd = new Command("reload", "rewrite the configuration and reload PostgreSQL on every node (or one)") { node, config, dir, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var targets = p.GetValue(node) is { } named ? [cluster.Node(named)] : cluster.Nodes.ToList();
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            var failures = new List<PgWardenException>();
            var outcomes = new List<object>();
            foreach (var target in targets)
            {
                try
                {
                    var answer = await api.PostAsync("/reload", null, target, ct);
                    var pending = answer.GetProperty("pending_restart").EnumerateArray().Select(x => x.GetString()).ToList();
                    var rejected = answer.GetProperty("config_errors").EnumerateArray().Select(x => x.GetString()).ToList();
                    Console.WriteLine($"{target.Name}: reloaded{(pending.Count > 0 ? $"; restart pending for {string.Join(", ", pending)}" : "")}");
                    outcomes.Add(new { node = target.Name, reloaded = true, pending_restart = pending, config_errors = rejected });
                    if (rejected.Count > 0)
                    {
                        failures.Add(new PgWardenException(ExitCodes.OperationFailed, $"{target.Name} rejected: {string.Join("; ", rejected)}"));
                    }
                }
                catch (PgWardenException e)
                {
                    Console.WriteLine($"{target.Name}: {e.Message}");
                    var code = e.ExitCode != ExitCodes.UnsafeRefused ? e.ExitCode
                        : e.Message.Contains("is not running", StringComparison.Ordinal) ? ExitCodes.NotRunning : ExitCodes.OperationFailed;
                    failures.Add(new PgWardenException(code, $"{target.Name}: {e.Message}"));
                }
            }
            if (failures.Count > 0)
            {
                var code = failures.Any(f => f.ExitCode == ExitCodes.NotRunning) ? ExitCodes.NotRunning : ExitCodes.OperationFailed;
                throw new PgWardenException(code, $"reload incomplete: {string.Join("; ", failures.Select(f => f.Message))}");
            }
            return JsonOutput.Result(0, new { nodes = outcomes });
        });
        return cmd;
    }
}
