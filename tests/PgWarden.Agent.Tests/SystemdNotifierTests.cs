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
}
