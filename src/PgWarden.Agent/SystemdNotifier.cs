using System.Net.Sockets;
using System.Text;

namespace PgWarden.Agent;

/// <summary>
/// systemd's notify protocol (sd_notify(3)), for an agent run as a <c>Type=notify</c> unit with
/// <c>WatchdogSec=</c>: READY=1 once the HA loop runs, WATCHDOG=1 after every completed cycle. If
/// the loop stalls, systemd kills the unit — the node's PostgreSQL too (`pgwarden install`
/// writes <c>KillMode=mixed</c>, <c>WatchdogSignal=SIGKILL</c>) — a backstop behind the fence watchdog process (docs/ha-safety.md). Without
/// NOTIFY_SOCKET in the environment every call does nothing.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;

    public SystemdNotifier(string? notifySocket)
    {
        if (string.IsNullOrEmpty(notifySocket))
        {
            return;
        }
        // An abstract socket is named with a leading '@', which stands for a NUL byte.
        _endpoint = new UnixDomainSocketEndPoint(notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>
    /// From the environment systemd sets for the unit. NOTIFY_SOCKET is then removed from this process's
    /// environment (sd_notify's unset_environment): PostgreSQL and PgBouncer, started later, are built with
    /// systemd support and must not send their own READY=1 / STOPPING=1 as the agent's unit.
    /// </summary>
    public static SystemdNotifier FromEnvironment()
    {
        var socket = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        var watchdogUsec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        foreach (var name in new[] { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID" })
        {
            Environment.SetEnvironmentVariable(name, null);
        }
        return new SystemdNotifier(socket)
        {
            WatchdogTimeout = long.TryParse(watchdogUsec, out var usec) && usec > 0 ? TimeSpan.FromMicroseconds(usec) : null,
        };
    }

    /// <summary>The unit's WatchdogSec= as systemd passed it (WATCHDOG_USEC), or null when the unit has no watchdog.</summary>
    public TimeSpan? WatchdogTimeout { get; init; }

    /// <summary>Changes the unit's watchdog timeout from now on (WATCHDOG_USEC=, systemd 236 and later), with a ping.</summary>
    public void SetWatchdogTimeout(TimeSpan timeout) => Send($"WATCHDOG=1\nWATCHDOG_USEC={(long)timeout.TotalMicroseconds}");

    public bool Enabled => _socket is not null;

    public void Ready() => Send("READY=1");

    public void WatchdogPing() => Send("WATCHDOG=1");

    public void Stopping() => Send("STOPPING=1");

    private void Send(string message)
    {
        if (_socket is null)
        {
            return;
        }
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(message), _endpoint!);
        }
        catch (SocketException)
        {
            // systemd went away: nothing to notify.
        }
    }

    public void Dispose() => _socket?.Dispose();
}
