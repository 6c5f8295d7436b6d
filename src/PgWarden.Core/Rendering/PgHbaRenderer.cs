using System.Net;
using System.Text;

namespace PgWarden.Core.Rendering;

/// <summary>
/// Least-privilege pg_hba.conf: the superuser only through the local socket (peer, mapped OS users)
/// or from the cluster's own nodes; replication only from the nodes; the app role only to the app
/// database, from its networks and from the PgBouncers. SCRAM everywhere, nothing else is accepted.
/// With TLS on (the default) every TCP line is <c>hostssl</c>: a plain-text connection matches no
/// line and is refused; the local socket keeps its <c>local</c> lines.
/// </summary>
public static class PgHbaRenderer
{
    public const string IdentMap = "pgwarden";

    public static string Render(NodeRenderContext ctx)
    {
        var c = ctx.Cluster;
        var db = c.Database;
        var sb = new StringBuilder();
        var host = c.Tls.Enabled ? "hostssl" : "host";
        sb.AppendLine($"# pg_hba.conf for node {ctx.Node.Name} of cluster {c.Name}. Written by PgWarden.");
        sb.AppendLine(c.Tls.Enabled
            ? "# TCP connections only over TLS (hostssl); plain-text connections match no line and are refused"
            : "# TLS is disabled in the cluster configuration: TCP connections are plain text");
        sb.AppendLine("# TYPE  DATABASE        USER            ADDRESS                 METHOD");
        void Line(string type, string database, string user, string? address, string method) =>
            sb.AppendLine($"{type,-7} {database,-15} {user,-15} {address ?? "",-23} {method}".TrimEnd());

        sb.AppendLine("# Local socket: the superuser for the agent and operators (see pg_ident.conf), the app with a password");
        Line("local", "all", db.Superuser, null, $"peer map={IdentMap}");
        Line("local", db.Name, db.AppUser, null, "scram-sha-256");

        sb.AppendLine("# Superuser over TCP only from the cluster's nodes (pg_rewind, management)");
        foreach (var address in NodeAddresses(ctx))
        {
            Line(host, "all", db.Superuser, address, "scram-sha-256");
        }
        sb.AppendLine("# Replication only from the cluster's nodes");
        foreach (var address in NodeAddresses(ctx))
        {
            Line(host, "replication", db.ReplicationUser, address, "scram-sha-256");
        }
        sb.AppendLine("# The application: its own database only, from the PgBouncers and the app networks");
        foreach (var address in c.Poolers.SelectMany(p => Sources(p.Address)).Concat(db.AppNetworks).Distinct())
        {
            Line(host, db.Name, db.AppUser, address, "scram-sha-256");
        }
        return sb.ToString();
    }

    public static string RenderIdent(NodeRenderContext ctx)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# pg_ident.conf written by PgWarden: OS users allowed to connect as the database superuser.");
        sb.AppendLine("# MAPNAME       SYSTEM-USERNAME         PG-USERNAME");
        foreach (var user in ctx.AdminOsUsers.Distinct())
        {
            sb.AppendLine($"{IdentMap,-14} {user,-23} {ctx.Cluster.Database.Superuser}");
        }
        return sb.ToString();
    }

    private static IEnumerable<string> NodeAddresses(NodeRenderContext ctx) =>
        ctx.Cluster.Nodes.SelectMany(n => Sources(n.Address)).Distinct();

    /// <summary>
    /// The addresses connections from a host arrive from. Linux sends every connection to a
    /// 127.x.y.z address from 127.0.0.1, so a node on another loopback address (the one-machine
    /// demo and tests) connects as 127.0.0.1.
    /// </summary>
    private static IEnumerable<string> Sources(string address)
    {
        yield return Cidr(address);
        if (IPAddress.TryParse(address, out var ip) && IPAddress.IsLoopback(ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            yield return "127.0.0.1/32";
        }
    }

    /// <summary>An IP becomes a single-host network; a host name stays a host name.</summary>
    public static string Cidr(string address) => IPAddress.TryParse(address, out var ip)
        ? ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"{ip}/128" : $"{ip}/32"
        : address;
}
