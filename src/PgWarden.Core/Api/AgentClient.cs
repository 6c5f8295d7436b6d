using System.Net.Http.Json;
using PgWarden.Core.Config;
using PgWarden.Core.Ha;

namespace PgWarden.Core.Api;

/// <summary>Reads other agents' GET /node. An agent that does not answer within the timeout is unreachable.</summary>
public sealed class AgentClient(HttpClient http)
{
    /// <summary>
    /// A client for the cluster's agents: with TLS on it trusts only the cluster CA and presents
    /// <paramref name="identity"/>'s certificate when the API requires client certificates.
    /// </summary>
    /// <param name="identity">null: the CLI (admin certificate); a node's name: that node's certificate (agent to agent).</param>
    public static HttpClient CreateHttpClient(TimeSpan timeout, ClusterConfig cluster, string? identity = null) =>
        new(ApiTlsClient.Handler(timeout, cluster, identity)) { Timeout = timeout };

    public async Task<NodeStatus?> GetNodeAsync(NodeConfig node, CancellationToken ct)
    {
        try
        {
            return await http.GetFromJsonAsync<NodeStatus>($"{node.ApiUrl}/node", Json.Options, ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The agent's GET /cluster answer (its view of the DCS), or null if it does not answer with one.</summary>
    public async Task<System.Text.Json.JsonElement?> GetClusterJsonAsync(NodeConfig node, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync($"{node.ApiUrl}/cluster", ct);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Json.Options, ct) : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Every listed node's status, fetched in parallel; null where the agent did not answer.</summary>
    public async Task<IReadOnlyDictionary<string, NodeStatus?>> GetAllAsync(IEnumerable<NodeConfig> nodes, CancellationToken ct)
    {
        var list = nodes.ToList();
        var results = await Task.WhenAll(list.Select(n => GetNodeAsync(n, ct)));
        return list.Select((n, i) => (n.Name, results[i])).ToDictionary(x => x.Name, x => x.Item2);
    }
}
