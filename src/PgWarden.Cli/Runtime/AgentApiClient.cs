using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Runtime;

/// <summary>Calls the agents' mutating API with each node's token; any agent will do, the first that answers.</summary>
/// <param name="timeout">Per request and agent (default 10 s).</param>
public sealed class AgentApiClient(ClusterConfig cluster, ClusterSecrets secrets, TimeSpan? timeout = null)
{
    private readonly HttpClient _http = AgentClient.CreateHttpClient(timeout ?? TimeSpan.FromSeconds(10), cluster);

    public Task<JsonElement> PostAsync(string path, object? body, NodeConfig? node, CancellationToken ct) => SendAsync(HttpMethod.Post, path, body, node, ct);

    /// <summary>Sends an authorised request to <paramref name="node"/> (or the first agent that answers); a refusal throws UnsafeRefused with the agent's reason.</summary>
    public async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, NodeConfig? node, CancellationToken ct)
    {
        // Each node has its own API token: the full secrets derive every node's, a node's export holds its own only.
        var targets = (node is null ? cluster.Nodes.ToList() : [node]).Where(n => secrets.ApiTokenFor(n.Name) is not null).ToList();
        if (targets.Count == 0)
        {
            throw new PgWardenException(ExitCodes.ConfigError,
                $"secrets file {secrets.Source} has no API token for {(node is null ? "any node" : $"node {node.Name}")} (it is the {secrets.Role.ToString().ToLowerInvariant()} host's{(secrets.Name is null ? "" : $", {secrets.Name}")}); run this on the admin host or on that node");
        }
        string? lastError = null;
        foreach (var n in targets)
        {
            using var request = new HttpRequestMessage(method, $"{n.ApiUrl}{path}") { Content = JsonContent.Create(body ?? new { }) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secrets.ApiTokenFor(n.Name));
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                lastError = $"{n.Name}: {e.Message}";
                continue;
            }
            var json = await response.Content.ReadFromJsonAsync<JsonElement>(Json.Options, ct);
            if (!response.IsSuccessStatusCode)
            {
                var error = json.TryGetProperty("error", out var e) ? e.GetString() : response.ReasonPhrase;
                throw new PgWardenException((int)response.StatusCode switch { 503 => ExitCodes.NotRunning, 400 => ExitCodes.ConfigError, _ => ExitCodes.UnsafeRefused }, $"refused: {error}");
            }
            return json;
        }
        throw new PgWardenException(ExitCodes.NotRunning, $"no agent answered ({lastError})");
    }

    /// <param name="fresh">true: the answering agent reads the DCS now rather than returning its last cycle's view (up to loop_wait old).</param>
    public async Task<JsonElement> GetClusterAsync(CancellationToken ct, bool fresh = false)
    {
        foreach (var n in cluster.Nodes)
        {
            try
            {
                var r = await _http.GetAsync($"{n.ApiUrl}/cluster{(fresh ? "?fresh=true" : "")}", ct);
                if (r.IsSuccessStatusCode)
                {
                    return await r.Content.ReadFromJsonAsync<JsonElement>(Json.Options, ct);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
            }
        }
        throw new PgWardenException(ExitCodes.NotRunning, $"no agent of cluster {cluster.Name} answered");
    }
}
