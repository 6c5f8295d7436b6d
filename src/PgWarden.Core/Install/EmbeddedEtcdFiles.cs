using PgWarden.Core.Errors;

namespace PgWarden.Core.Install;

/// <summary>
/// The unit of `pgwarden dcs-server`: the embedded single-member etcd of a one-machine cluster
/// (dcs.embedded: true), named after the cluster. One member is no HA for the DCS: production uses
/// its own 3- or 5-member etcd (<see cref="EtcdFiles"/>).
/// </summary>
internal static class EmbeddedEtcdFiles
{
    public static IReadOnlyList<InstallFile> Generate(InstallRequest r)
    {
        var cluster = r.Cluster;
        if (r.Name != cluster.Name)
        {
            throw new PgWardenException(ExitCodes.NotFound,
                $"cluster '{cluster.Name}' uses the embedded single-member etcd, named after the cluster: use --name {cluster.Name} (or list your own etcd's endpoints with dcs.embedded: false)");
        }
        var unit = new UnitFile(UnitGenerator.Header(r, $"systemd unit of the embedded single-member etcd of cluster {cluster.Name} (`pgwarden dcs-server`)"));
        unit.Section("Unit");
        unit.Set("Description", SystemdQuoting.Text($"PgWarden embedded etcd of cluster {cluster.Name} (single member)"));
        UnitGenerator.NetworkOrdering(unit);
        unit.Set("Conflicts", "etcd.service", "Debian's own etcd.service must not run beside it.");

        unit.Section("Service");
        unit.Set("Type", "exec");
        unit.Set("ExecStart", UnitGenerator.ExecStart(r, "dcs-server", "--config", cluster.ConfigFile),
            "Runs as root (no User=): it keeps etcd.pid and etcd's log directly in the cluster directory, which",
            "stays root's; etcd itself does not need to drop privileges.");
        unit.Set("KillMode", "mixed", "SIGTERM to dcs-server alone: it stops etcd cleanly (at most 10 s).");
        unit.Set("TimeoutStopSec", "60");
        unit.Set("Restart", "on-failure");
        unit.Set("RestartSec", "2");
        unit.Set("RestartPreventExitStatus", "2 3 4 6 7 11");
        unit.Set("LimitNOFILE", "65536");
        UnitGenerator.Hardening(unit, UnitGenerator.WritablePaths(cluster));
        UnitGenerator.Logging(unit, r.UnitName);
        UnitGenerator.InstallSection(unit);
        return [UnitGenerator.Unit(r, unit)];
    }
}
