using System.Net.Sockets;
using System.Text;

namespace PgWarden.Agent.Tests;

public sealed class SystemdNotifierTests
{
    [Fact]
    public void ItSendsReadyAndWatchdogDatagramsToTheNotifySocket()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pgwarden-notify-{Guid.NewGuid():N}.sock");
        using var server = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        server.Bind(new UnixDomainSocketEndPoint(path));
        try
        {
            using var notifier = new SystemdNotifier(path);
            Assert.True(notifier.Enabled);
            notifier.Ready();
            notifier.WatchdogPing();
            var buffer = new byte[64];
            Assert.Equal("READY=1", Encoding.UTF8.GetString(buffer, 0, server.Receive(buffer)));
            Assert.Equal("WATCHDOG=1", Encoding.UTF8.GetString(buffer, 0, server.Receive(buffer)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void WithoutNotifySocketNothingHappens()
    {
        using var notifier = new SystemdNotifier(null);
        Assert.False(notifier.Enabled);
        notifier.Ready();
        notifier.WatchdogPing();
    }

    [Fact]
    public void FromEnvironmentTakesNotifySocketAwaySoPostgresDoesNotNotifyAsTheAgent()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pgwarden-notify-{Guid.NewGuid():N}.sock");
        using var server = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        server.Bind(new UnixDomainSocketEndPoint(path));
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", path);
        try
        {
            using var notifier = SystemdNotifier.FromEnvironment();
            Assert.True(notifier.Enabled);
            Assert.Null(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));
            // A child started now (PostgreSQL, PgBouncer) no longer inherits it.
            Assert.False(new System.Diagnostics.ProcessStartInfo("/bin/true").Environment.ContainsKey("NOTIFY_SOCKET"));
            notifier.Ready();
            var buffer = new byte[64];
            Assert.Equal("READY=1", Encoding.UTF8.GetString(buffer, 0, server.Receive(buffer)));
        }
        finally
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
            File.Delete(path);
        }
    }
}
