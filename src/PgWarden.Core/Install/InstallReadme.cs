namespace PgWarden.Core.Install;

/// <summary>The README written next to the files with --output: which file goes where on the host, and the commands to run.</summary>
public static class InstallReadme
{
    /// <summary>UNIT.INSTALL.txt: one per unit, so several roles can share an --output directory.</summary>
    public static string FileName(InstallRequest r) => $"{r.UnitName}.INSTALL.txt";

    internal static InstallFile Generate(InstallRequest r, IReadOnlyList<InstallFile> files)
    {
        var unit = r.UnitName + ".service";
        var lines = new List<string>
        {
            $"PgWarden install files: role {r.Role.ToString().ToLowerInvariant()}, name {r.Name}, cluster {r.Cluster.Name} ({r.Cluster.ConfigFile}).",
            "Nothing outside this directory was changed. On that host, as root:",
            "",
        };
        foreach (var f in files)
        {
            lines.Add($"  install -m 0644 {f.FileName} {f.InstallPath}");
        }
        foreach (var f in files.Where(f => f.Kind == InstallFileKind.TmpFiles))
        {
            lines.Add($"  systemd-tmpfiles --create {f.InstallPath}");
        }
        lines.Add("  systemctl daemon-reload");
        lines.Add($"  systemctl enable --now {unit}");
        lines.Add("");
        lines.Add("(`pgwarden install ... --system` does all but the last line on a host where systemd runs.)");
        lines.Add("");
        lines.Add("Logs:");
        lines.Add($"  journalctl -u {unit}    the service's own log: journald keeps and rotates it, no logrotate needed.");
        if (r.Role == InstallRole.Node)
        {
            var node = r.Cluster.Node(r.Name);
            lines.Add($"  {Path.Combine(node.DataDir, "log")}/    PostgreSQL's server log: rotated by PostgreSQL, files older than {NodeFiles.ServerLogRetention} removed by the tmpfiles rule.");
        }
        if (files.Any(f => f.Kind == InstallFileKind.Logrotate))
        {
            lines.Add("  the files named in the .logrotate file: rotated weekly by logrotate (package logrotate).");
        }
        lines.Add("");
        lines.Add("Before starting it:");
        switch (r.Role)
        {
            case InstallRole.Node:
            case InstallRole.Pooler:
                var user = r.Cluster.Postgres.OsUser;
                lines.Add($"  - {r.Cluster.ConfigFile} readable by {user}; {r.Cluster.SecretsFile} owned by {user}, mode 0600.");
                lines.Add($"  - the pgwarden executable at {r.Program[0]} (see docs/production.md, \"Upgrading the binary\").");
                if (r.Role == InstallRole.Node)
                {
                    lines.Add("  - Debian's own postgresql service must not run a cluster on this node's port (pg_dropcluster --stop 15 main).");
                }
                break;
            default:
                lines.Add("  - package etcd-server installed (it provides /usr/bin/etcd and the user etcd); `systemctl disable --now etcd`.");
                if (r.Cluster.Dcs.Embedded)
                {
                    lines.Add($"  - {r.Cluster.ConfigFile} and the certificates readable by etcd, {r.Cluster.BaseDir} searchable (0755); {r.Cluster.SecretsFile} stays 0600 (systemd hands etcd a copy: LoadCredential=).");
                    lines.Add($"  - the pgwarden executable at {r.Program[0]} readable and executable by etcd.");
                }
                else
                {
                    lines.Add("  - bootstrapping: start every member with `systemctl start --no-block` (each waits for a quorum).");
                }
                break;
        }
        lines.Add("");
        return new InstallFile(InstallFileKind.Readme, FileName(r), "", string.Join('\n', lines), InstallFile.Readable);
    }
}
