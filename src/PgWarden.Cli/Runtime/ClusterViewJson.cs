using System.Collections.Immutable;
using System.Text.Json;
using PgWarden.Core.Api;
using PgWarden.Core.Dcs;

namespace PgWarden.Cli.Runtime;

/// <summary>Rebuilds a <see cref="ClusterView"/> from an agent's GET /cluster answer.</summary>
public static class ClusterViewJson
{
    public static ClusterView Parse(JsonElement json)
    {
        var members = json.GetProperty("members").EnumerateArray()
            .Select(m => m.Deserialize<MemberInfo>(Json.Options)!)
            .ToImmutableDictionary(m => m.Name);
        var leader = json.TryGetProperty("leader", out var l) && l.ValueKind == JsonValueKind.String ? new LeaderInfo(l.GetString()!, 0) : null;
        var config = json.GetProperty("config").Deserialize<DcsConfig>(Json.Options) ?? new DcsConfig();
        var failover = json.TryGetProperty("failover", out var f) && f.ValueKind == JsonValueKind.Object ? f.Deserialize<FailoverRequest>(Json.Options) : null;
        var sync = json.TryGetProperty("sync_standby", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        var history = json.TryGetProperty("history", out var h) && h.ValueKind == JsonValueKind.Array
            ? h.Deserialize<TimelineHistoryEntry[]>(Json.Options)!.ToImmutableArray()
            : [];
        var optime = json.TryGetProperty("optime", out var o) && o.ValueKind == JsonValueKind.Object ? o.Deserialize<LeaderOptime>(Json.Options) : null;
        var initialize = json.TryGetProperty("initialize", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
        return new ClusterView(leader, members, config, initialize, failover, history, sync) { Optime = optime };
    }
}
