using PgWarden.Core.Errors;

namespace PgWarden.Core.Install;

/// <summary>
/// The unit of `pgwarden dcs-server`: the embedded single-member etcd of a one-machine cluster
/// (dcs.embedded: true), named after the cluster, run as Debian's <c>etcd</c> user (package etcd-server,
/// which the embedded etcd needs anyway) with the secrets file and TLS key as systemd credentials and a
/// tmpfiles.d rule that gives it its data directory and its files in the cluster directory. One member is
/// no HA for the DCS: production uses its own 3- or 5-member etcd (<see cref="EtcdFiles"/>).
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
        unit.Set("User", EtcdFiles.User,
            "Not root: the user Debian's etcd-server package creates (it provides /usr/bin/etcd, which this runs). etcd is",
            "the service that listens on the network; it writes only its data directory and the files the tmpfiles.d rule",
            "of this unit makes its own (etcd.pid, etcd.lock, its log) in the cluster directory, which stays root's.");
        unit.Set("Group", EtcdFiles.User);
        unit.Set("LoadCredential", $"{SystemdCredentials.Secrets}:{cluster.SecretsFile.Replace("%", "%%")}",
            "The etcd passwords of the secrets file, which stays owned by the cluster's OS user with mode 0600: systemd",
            "reads it as root and hands the service a private copy in $CREDENTIALS_DIRECTORY (%d), readable by etcd only.");
        if (cluster.Dcs.Tls is not null)
        {
            unit.Set("LoadCredential", $"{SystemdCredentials.EtcdKey}:{cluster.Tls.KeyFile(cluster.Nodes[0].Name).Replace("%", "%%")}",
                $"The TLS key of node {cluster.Nodes[0].Name}, whose certificate etcd serves (https endpoints), handed over the same way.");
        }
        unit.Set("ExecStart", UnitGenerator.ExecStart(r, "dcs-server", "--config", cluster.ConfigFile),
            "cluster.yaml and the certificates must be readable by etcd, and the cluster directory searchable (mode 0755).");
        unit.Set("KillMode", "mixed", "SIGTERM to dcs-server alone: it stops etcd cleanly (at most 10 s).");
        unit.Set("TimeoutStopSec", "60");
        unit.Set("Restart", "on-failure");
        unit.Set("RestartSec", "2");
        unit.Set("RestartPreventExitStatus", "2 3 4 6 7 11");
        unit.Set("LimitNOFILE", "65536");
        UnitGenerator.Hardening(unit, UnitGenerator.WritablePaths(cluster));
        UnitGenerator.Logging(unit, r.UnitName);
        UnitGenerator.InstallSection(unit);

        string q(string path) => UnitGenerator.TmpFilesPath(path);
        var user = EtcdFiles.User;
        var dataDir = cluster.Dcs.EmbeddedDataDir(cluster);
        var tmpfiles = string.Join('\n',
        [
            .. UnitGenerator.CommentHeader(r, $"tmpfiles.d(5) rules of the embedded etcd of cluster {cluster.Name}: what it writes, owned by {user}"),
            "# Type Path Mode User Group Age",
            $"d {q(dataDir)} 0700 {user} {user} -",
            "# A data directory of an earlier unit that ran as root becomes etcd's, contents included.",
            $"Z {q(dataDir)} - {user} {user} -",
            "# Its PID file and lock (`pgwarden up`, `down` and `status` look there) and etcd's log, next to the data directory.",
            .. OwnedFile(q(Path.Combine(cluster.BaseDir, "etcd.pid")), "0644", user),
            .. OwnedFile(q(Path.Combine(cluster.BaseDir, "etcd.lock")), "0600", user),
            .. OwnedFile(q(Path.Combine(cluster.BaseDir, $"etcd-{cluster.Name}.log")), "0640", user),
            "",
        ]);
        return
        [
            UnitGenerator.Unit(r, unit),
            new InstallFile(InstallFileKind.TmpFiles, r.UnitName + ".tmpfiles.conf", $"{UnitGenerator.TmpFilesDir}/{r.UnitName}.conf", tmpfiles, InstallFile.Readable),
        ];
    }

    /// <summary>A file created for <paramref name="user"/> if absent (f), and given to it if it exists (z: left by a root unit).</summary>
    private static string[] OwnedFile(string path, string mode, string user) =>
    [
        $"f {path} {mode} {user} {user} -",
        $"z {path} {mode} {user} {user} -",
    ];
}
