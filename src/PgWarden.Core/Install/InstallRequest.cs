using PgWarden.Core.Config;

namespace PgWarden.Core.Install;

/// <summary>
/// What `pgwarden install` generates files for: one role on one host of <paramref name="Cluster"/>.
/// <paramref name="Program"/> is how systemd starts pgwarden — the executable (absolute), possibly followed
/// by fixed leading arguments (`/usr/bin/dotnet /opt/pgwarden/pgwarden.dll`).
/// </summary>
public sealed record InstallRequest(ClusterConfig Cluster, InstallRole Role, string Name, IReadOnlyList<string> Program)
{
    /// <summary>The systemd unit's name without ".service": pgwarden-agent-pg1, pgwarden-pooler-pgb1, pgwarden-etcd-pg1.</summary>
    public string UnitName => Role switch
    {
        InstallRole.Node => $"pgwarden-agent-{Name}",
        InstallRole.Pooler => $"pgwarden-pooler-{Name}",
        _ => $"pgwarden-etcd-{Name}",
    };
}
