using System.Net;
using System.Net.Sockets;
using PgWarden.Core.Config;

namespace PgWarden.Core.Api;

/// <summary>
/// Which client addresses may call an agent's REST API: every address when <c>api.allowlist</c> is
/// empty; otherwise the listed networks plus the cluster's own nodes (agents call each other; a node
/// given by host name counts with the addresses the name resolves to when the agent starts), and
/// 127.0.0.1 when a node sits on a loopback address (Linux sends connections to any 127.x address from 127.0.0.1).
/// </summary>
public sealed class ApiAllowlist(IReadOnlyList<IPNetwork> networks)
{
    /// <summary>Null when the configuration lists no networks: no restriction.</summary>
    public static ApiAllowlist? For(ClusterConfig cluster)
    {
        if (cluster.Api.Allowlist.IsEmpty)
        {
            return null;
        }
        var networks = cluster.Api.Allowlist.Select(n => IPNetwork.Parse(n)).ToList();
        foreach (var node in cluster.Nodes)
        {
            foreach (var ip in Addresses(node.Address))
            {
                networks.Add(new IPNetwork(ip, ip.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32));
                if (IPAddress.IsLoopback(ip) && ip.AddressFamily == AddressFamily.InterNetwork)
                {
                    networks.Add(IPNetwork.Parse("127.0.0.1/32"));
                }
            }
        }
        return new ApiAllowlist(networks);
    }

    /// <summary>
    /// A node's address as IPs: the literal, or what its host name resolves to when the agent starts (a
    /// name that does not resolve then admits nothing beyond the listed networks).
    /// </summary>
    private static IEnumerable<IPAddress> Addresses(string address)
    {
        if (IPAddress.TryParse(address, out var ip))
        {
            return [ip];
        }
        try
        {
            return Dns.GetHostAddresses(address).Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Distinct();
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            return [];
        }
    }

    public IReadOnlyList<IPNetwork> Networks => networks;

    /// <summary>Whether <paramref name="remote"/> (an IPv4-mapped IPv6 address counts as its IPv4 form) is in a listed network; an unknown address is not.</summary>
    public bool Allows(IPAddress? remote)
    {
        if (remote is null)
        {
            return false;
        }
        var address = remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote;
        return networks.Any(n => n.Contains(address));
    }
}
