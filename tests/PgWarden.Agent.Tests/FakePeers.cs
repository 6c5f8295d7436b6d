using System.Collections.Concurrent;
using PgWarden.Agent.Ha;
using PgWarden.Core.Config;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>The other nodes' PostgreSQL as the agent reads them: history files and received positions the test sets.</summary>
public sealed class FakePeers : IPeerNodes
{
    public ConcurrentDictionary<(string Node, long Timeline), TimelineHistory> Histories { get; } = new();

    public ConcurrentDictionary<string, long> Received { get; } = new();

    public Task<TimelineHistory> TimelineHistoryAsync(NodeConfig node, long timeline, CancellationToken ct) =>
        Histories.TryGetValue((node.Name, timeline), out var h) ? Task.FromResult(h) : Task.FromException<TimelineHistory>(new InvalidOperationException("no history (test)"));

    /// <summary>Nodes that do not answer (default: every node answers, and is primary if it is in <see cref="Primaries"/>).</summary>
    public ConcurrentDictionary<string, bool> Unreachable { get; } = new();

    public ConcurrentDictionary<string, bool> Primaries { get; } = new(new Dictionary<string, bool> { ["pg1"] = true, ["pg2"] = true });

    public Task<bool> IsPrimaryAsync(NodeConfig node, CancellationToken ct) =>
        Task.FromResult(!Unreachable.ContainsKey(node.Name) && Primaries.ContainsKey(node.Name));

    public Task<long?> ReceivedPositionAsync(NodeConfig node, CancellationToken ct) =>
        Task.FromResult(Received.TryGetValue(node.Name, out var p) ? p : (long?)null);
}
