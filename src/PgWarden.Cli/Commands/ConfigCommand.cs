using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Api;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden config render|check`: the exact files a node or pooler gets, and config validation.</summary>
public static class ConfigCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var node = new Option<string?>("--node") { Description = "render postgresql.conf, pg_hba.conf and pg_ident.conf of this node" };
        var pooler = new Option<string?>("--pooler") { Description = "render pgbouncer.ini of this pooler" };
        var upstream = new Option<string?>("--upstream") { Description = "render the node as a replica of this node (default: the bootstrap node, or primary for the bootstrap node itself)" };
        var offline = new Option<bool>("--offline") { Description = "render from the configuration file alone, without asking the running cluster for the parameters `config apply` stored in the DCS" };
        var render = new Command("render", "print the configuration files PgWarden writes for a node or a pooler") { config, dir, node, pooler, upstream, offline };
        CommandAction.Set(render, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            if (p.GetValue(node) is { } nodeName)
            {
                var n = cluster.Node(nodeName);
                var up = p.GetValue(upstream) is { } u ? cluster.Node(u) : n.Name == cluster.BootstrapNode.Name ? null : cluster.BootstrapNode;
                var parameters = p.GetValue(offline) ? null : await DcsParametersAsync(cluster, ct);
                foreach (var file in ConfigPreview.NodeFiles(cluster, n, up, parameters))
                {
                    Print(Path.Combine(n.DataDir, file.Name), file.Content);
                }
            }
            else if (p.GetValue(pooler) is { } poolerName)
            {
                var pc = cluster.Pooler(poolerName);
                var ini = ConfigPreview.PoolerIni(cluster, pc);
                Print(Path.Combine(pc.HomeDir(cluster), ini.Name), ini.Content);
            }
            else
            {
                throw new Core.Errors.PgWardenException(Core.Errors.ExitCodes.Usage, "say what to render: --node NAME or --pooler NAME");
            }
            return 0;
        });

        var json = CommandAction.JsonOption();
        var check = new Command("check", "validate a cluster configuration file (every problem, with its line and column)") { config, dir, json };
        CommandAction.Set(check, async (p, ct) =>
        {
            var location = ClusterLocator.Find(p.GetValue(config), p.GetValue(dir));
            Core.Config.ClusterConfig cluster;
            try
            {
                cluster = ClusterLocator.Load(location);
            }
            catch (Core.Errors.ConfigException e) when (e.Problems.Count > 1 && p.GetValue(json))
            {
                // One error in the envelope (and on stderr), naming every problem.
                throw new Core.Errors.PgWardenException(Core.Errors.ExitCodes.ConfigError, $"{e.Problems.Count} problems in {location.Path}: {string.Join("; ", e.Problems)}");
            }
            catch (Core.Errors.ConfigException e) when (e.Problems.Count > 1)
            {
                // Every problem at once, one line each (other commands print the first and the count).
                foreach (var problem in e.Problems)
                {
                    Console.Error.WriteLine($"pgwarden: error: {problem}");
                }
                Console.Error.WriteLine($"pgwarden: error: {e.Problems.Count} problems in {location.Path}");
                return Core.Errors.ExitCodes.ConfigError;
            }
            await Backup.Repository.RepositoryPreflight.EnsureAsync(cluster, create: false, ct);
            if (p.GetValue(json))
            {
                return JsonOutput.Result(0, new { config = location.Path, cluster = cluster.Name, valid = true, nodes = cluster.Nodes.Select(n => n.Name), poolers = cluster.Poolers.Select(x => x.Name) });
            }
            Console.WriteLine($"{location.Path}: cluster '{cluster.Name}' is valid ({cluster.Nodes.Length} nodes, {cluster.Poolers.Length} poolers)");
            return 0;
        });
        return new Command("config", "show or check the cluster configuration") { render, check };
    }

    private static void Print(string title, string content)
    {
        Console.WriteLine($"# ===== {title} =====");
        Console.Write(content);
        Console.WriteLine();
    }

    /// <summary>
    /// The PostgreSQL parameters set cluster-wide with `config apply` (the DCS `config` key), which the
    /// agent renders after the file's own: read through any agent's API. A cluster that is not running
    /// (or not reachable from here) gives null, with a note on stderr that the rendering lacks them.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, string>?> DcsParametersAsync(Core.Config.ClusterConfig cluster, CancellationToken ct)
    {
        try
        {
            // 2 s per agent: a preview must not hang for half a minute on a cluster that is down.
            var api = new AgentApiClient(cluster, Core.Security.ClusterSecrets.Load(cluster.SecretsFile), TimeSpan.FromSeconds(2));
            var view = await api.GetClusterAsync(ct);
            return ClusterViewJson.Parse(view).Config.Parameters;
        }
        catch (Exception e) when (e is Core.Errors.PgWardenException or System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException)
        {
            Console.Error.WriteLine($"pgwarden: note: rendered without the parameters set by `config apply` (not read from the cluster: {e.Message}); --offline skips asking");
            return null;
        }
    }
}
