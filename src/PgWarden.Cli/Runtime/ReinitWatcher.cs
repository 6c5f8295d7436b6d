using PgWarden.Core.Ha;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// Follows a replica's agent answers (GET /node) after a reinit request: the re-clone has begun once the node is seen
/// not streaming (busy, stopped, starting…), and is done when it streams again after that. Pure: fed by the caller's polls.
/// </summary>
public sealed class ReinitWatcher
{
    private bool _left;

    /// <summary>True once the node streamed again after the re-clone began.</summary>
    public bool Done { get; private set; }

    /// <summary>The last state seen, as shown to the user (null before any answer).</summary>
    public string? Last { get; private set; }

    /// <summary>Takes one poll's answer (null: the agent did not answer); returns the new phase text when the state changed, else null.</summary>
    public string? Observe(NodeStatus? status)
    {
        var text = Describe(status);
        if (status is not null)
        {
            if (!status.IsStreamingReplica)
            {
                _left = true;
            }
            else if (_left)
            {
                Done = true;
            }
        }
        if (text == Last)
        {
            return null;
        }
        Last = text;
        return text;
    }

    /// <summary>"cloning from pg1 (replica, stopped)" — the agent's long action when it has one, else its role and state.</summary>
    public static string Describe(NodeStatus? status) => status switch
    {
        null => "its agent does not answer (restarting?)",
        { Action: { } action } => $"{action} ({status.Role.ToString().ToLowerInvariant()}, {status.State})",
        _ when status.IsStreamingReplica => "streams from the leader",
        _ => $"{status.Role.ToString().ToLowerInvariant()}, {status.State}",
    };
}
