using PgWarden.Core.Config;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Install;

/// <summary>
/// One member of the cluster's own etcd, derived from <c>dcs.endpoints</c> so that every host derives the
/// same initial cluster: the member at an endpoint is named after the node whose address is that endpoint's
/// host (a database host running a node and an etcd member), else <c>etcd1</c>, <c>etcd2</c>… by position;
/// its peer URL is the same host on port 2380 (etcd's convention; the client port + 1 when that is not 2379).
/// </summary>
public sealed record EtcdMember(string Name, Uri ClientUrl, Uri PeerUrl)
{
    public static IReadOnlyList<EtcdMember> All(ClusterConfig cluster)
    {
        var members = new List<EtcdMember>();
        for (var i = 0; i < cluster.Dcs.Endpoints.Length; i++)
        {
            var client = new Uri(cluster.Dcs.Endpoints[i]);
            var host = client.Host.Trim('[', ']');
            var name = cluster.Nodes.FirstOrDefault(n => n.Address == host)?.Name ?? $"etcd{i + 1}";
            var peerPort = client.Port == 2379 ? 2380 : client.Port + 1;
            members.Add(new EtcdMember(name, client, new UriBuilder(client.Scheme, client.Host, peerPort).Uri));
        }
        return members;
    }

    /// <summary>The member named <paramref name="name"/>; NotFound (11) naming the members there are.</summary>
    public static EtcdMember Named(ClusterConfig cluster, string name)
    {
        var all = All(cluster);
        return all.FirstOrDefault(m => m.Name == name)
            ?? throw new PgWardenException(ExitCodes.NotFound,
                $"etcd member '{name}' is not in cluster '{cluster.Name}' (members, from dcs.endpoints: {string.Join(", ", all.Select(m => $"{m.Name} at {m.ClientUrl.Authority}"))})");
    }

    /// <summary>etcd's --initial-cluster: every member's name=peer URL.</summary>
    public static string InitialCluster(ClusterConfig cluster) =>
        string.Join(',', All(cluster).Select(m => $"{m.Name}={Url(m.PeerUrl)}"));

    /// <summary>A URL as etcd wants it: scheme://host:port, no trailing slash.</summary>
    public static string Url(Uri uri) => $"{uri.Scheme}://{uri.Authority}";
}
