using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace PgWarden.Cli.Runtime;

/// <summary>Checks that a listen address/port is free and, when it is not, who holds it.</summary>
public static partial class PortProbe
{
    public static bool IsFree(string address, int port)
    {
        try
        {
            var ip = IPAddress.TryParse(address, out var parsed) ? parsed : Dns.GetHostAddresses(address).First();
            using var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(ip, port));
            socket.Listen();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [GeneratedRegex("users:\\(\\(\"([^\"]+)\",pid=(\\d+)")]
    private static partial Regex Holder();

    /// <summary>"postgres (PID 1234)" from `ss -ltnp`, or null when unknown.</summary>
    public static string? Holder(int port)
    {
        try
        {
            var psi = new ProcessStartInfo("ss", ["-Hltnp", $"sport = :{port}"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit(2000);
            var m = Holder().Match(text);
            return m.Success ? $"{m.Groups[1].Value} (PID {m.Groups[2].Value})" : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            return null;
        }
    }
}
