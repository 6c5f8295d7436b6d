using PgWarden.Core.Config;

namespace PgWarden.Agent.Ha;

/// <summary>
/// Whether the leader answers as a writable primary from this node, asked in the background at
/// most every <see cref="Every"/> (the answer is the last one in; false until there is one).
/// </summary>
public sealed class LeaderProbe(IPeerNodes peers, TimeProvider clock)
{
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(10);

    private (string Node, bool Answer, long At)? _last;
    private Task? _probe;

    public bool AnswersAsPrimary(NodeConfig leader)
    {
        var fresh = _last is { } l && l.Node == leader.Name && clock.GetElapsedTime(l.At) < Every;
        if (!fresh && _probe is null or { IsCompleted: true })
        {
            _probe = Task.Run(async () =>
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var answer = await peers.IsPrimaryAsync(leader, timeout.Token);
                _last = (leader.Name, answer, clock.GetTimestamp());
            });
        }
        return _last is { } last && last.Node == leader.Name && last.Answer;
    }

    /// <summary>Waits for a probe in flight (tests).</summary>
    public Task WhenDoneAsync() => _probe ?? Task.CompletedTask;
}
