using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden failover --to NODE [--timeout S] [--yes]`: promote a replica when there is no healthy leader
/// (also while the cluster is paused). Refused up front (exit 7) when NODE may not take over — the
/// same rules the agents apply — asks for confirmation (<see cref="Confirmation"/>), and waits until NODE leads: exit 9 if it does not within the deadline.
/// </summary>
public static class FailoverCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var to = new Option<string>("--to") { Description = "the replica to promote", Required = true };
        var timeout = new Option<int>("--timeout") { Description = "seconds the failover has to complete (1..3600)", DefaultValueFactory = _ => 30 };
        var yes = CommandAction.YesOption("fail over");
        var json = CommandAction.JsonOption();
        var cmd = new Command("failover", "manual failover to NODE when there is no healthy leader") { config, dir, to, timeout, yes, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var seconds = p.GetValue(timeout);
            if (seconds is < 1 or > 3600)
            {
                throw new PgWardenException(ExitCodes.Usage, $"--timeout must be 1..3600 seconds, not {seconds}");
            }
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var target = cluster.Node(p.GetValue(to)!).Name;
            var confirmation = Confirmation.For("failover", p.GetValue(yes));
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            var view = ClusterViewJson.Parse(await api.GetClusterAsync(ct));
            var refusal = SwitchoverRules.Validate(FailoverKind.Failover, view, cluster.Nodes.Select(n => n.Name).ToList(), null, target, DateTimeOffset.UtcNow);
            if (refusal is not null)
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused, $"failover refused: {refusal}");
            }
            confirmation.Ask($"Promote {target} (there is no healthy leader)?");
            var answer = await api.PostAsync("/failover", new { candidate = target, timeout = seconds }, null, ct);
            Console.WriteLine(answer.GetProperty("message").GetString());
            var (done, last) = await LeadershipChange.WaitForLeaderAsync(api, target, TimeSpan.FromSeconds(seconds + 2), ct);
            if (!done)
            {
                throw new PgWardenException(ExitCodes.Timeout, $"the failover to {target} did not complete and was dropped; {LeadershipChange.Outcome(last)}");
            }
            Console.WriteLine($"{target} is the primary");
            return JsonOutput.Result(0, new { to = target, primary = target });
        });
        return cmd;
    }
}
