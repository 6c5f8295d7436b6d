using System.Net;
using System.Net.Sockets;

namespace PgWarden.Dcs.Tests;

/// <summary>
/// Hands out loopback ports from the ranges reserved for these tests: clients 23790–23799, peers
/// 23800–23809 (slot i = 23790+i / 23800+i). A slot is never handed out twice in one run, and one
/// whose ports are taken (another run) is skipped.
/// </summary>
internal static class TestPorts
{
    private const int ClientBase = 23790;
    private const int PeerBase = 23800;
    private const int Slots = 10;
    private static readonly Lock s_lock = new();
    private static int s_next;

    public static (int Client, int Peer) Take()
    {
        lock (s_lock)
        {
            while (s_next < Slots)
            {
                var slot = s_next++;
                if (IsFree(ClientBase + slot) && IsFree(PeerBase + slot))
                {
                    return (ClientBase + slot, PeerBase + slot);
                }
            }
        }
        throw new InvalidOperationException("no free port pair left in 23790–23799 / 23800–23809");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
