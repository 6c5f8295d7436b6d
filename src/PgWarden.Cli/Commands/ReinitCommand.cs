using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Api;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden reinit NODE [--wait [--timeout S]] [--yes]`: re-clone a replica from the leader; its old data directory is kept
/// aside. Asks for confirmation on a terminal, needs --yes otherwise (<see cref="Confirmation"/>). With --wait it follows the
/// node's agent (GET /node) through the re-clone until the node streams again, showing each state it passes (exit 9 at the timeout).
/// </summary>
public static class ReinitCommand
{
    public static Command Create()
    {
        var node = new Argument<string>("node") { Description = "the replica to re-clone" };
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var yes = CommandAction.YesOption("re-clone");
        var wait = new Option<bool>("--wait") { Description = "wait until the node streams from the leader again, showing its progress" };
        var timeout = new Option<int>("--timeout") { Description = "with --wait: seconds to wait (1..86400)", DefaultValueFactory = _ => 600 };
        var json = CommandAction.JsonOption();
        var cmd = new Command("reinit", "re-clone a replica from the leader (the old data directory is moved aside, not deleted)") { node, config, dir, yes, wait, timeout, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var seconds = p.GetValue(timeout);
            if (seconds is < 1 or > 86400)
            {
                throw new PgWardenException(ExitCodes.Usage, $"--timeout must be 1..86400 seconds, not {seconds}");
            }
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var target = cluster.Node(p.GetValue(node)!);
            var confirmation = Confirmation.For("reinit", p.GetValue(yes));
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            confirmation.Ask($"Re-clone {target.Name} from the leader (its data directory {target.DataDir} is moved aside)?");
            var answer = await api.PostAsync("/reinit", null, target, ct);
            var message = answer.GetProperty("message").GetString();
            Console.WriteLine(message);
            if (!p.GetValue(wait))
            {
                return JsonOutput.Result(0, new { node = target.Name, requested = true, waited = false, message });
            }
            var agents = new AgentClient(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(3), cluster));
            var took = await PhaseProgress.RunAsync($"{target.Name}: waiting for its agent to start the re-clone", async phases =>
            {
                var watcher = new ReinitWatcher();
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
                while (true)
                {
                    NodeStatus? status = null;
                    try
                    {
                        status = await agents.GetNodeAsync(target, ct);
                    }
                    catch (HttpRequestException)
                    {
                    }
                    if (watcher.Observe(status) is { } phase)
                    {
                        phases.Phase($"{target.Name}: {phase}");
                    }
                    if (watcher.Done)
                    {
                        return phases.Elapsed;
                    }
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new PgWardenException(ExitCodes.Timeout,
                            $"{target.Name} did not stream again within {seconds} s (last seen: {watcher.Last ?? "no answer from its agent"}); the agent goes on, see `pgwarden status`");
                    }
                    await Task.Delay(250, ct);
                }
            });
            Console.WriteLine($"{target.Name} was re-cloned and streams from the leader ({took.TotalSeconds:0.0} s)");
            return JsonOutput.Result(0, new { node = target.Name, requested = true, waited = true, message, seconds = Math.Round(took.TotalSeconds, 3) });
        });
        return cmd;
    }
}
