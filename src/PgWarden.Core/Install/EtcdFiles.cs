namespace PgWarden.Core.Install;

/// <summary>
/// The unit of one member of the cluster's own etcd (dcs.embedded: false), run from Debian's etcd-server
/// package (/usr/bin/etcd, user etcd). Its settings are <c>Environment=</c> lines of the unit itself (etcd
/// reads ETCD_* variables), so the member is one file; the initial cluster comes from <see cref="EtcdMember"/>.
/// </summary>
internal static class EtcdFiles
{
    public const string Binary = "/usr/bin/etcd";
    public const string User = "etcd";

    public static IReadOnlyList<InstallFile> Generate(InstallRequest r)
    {
        var cluster = r.Cluster;
        var member = EtcdMember.Named(cluster, r.Name);
        var dataDir = $"/var/lib/etcd/pgwarden-{cluster.Name}";

        var unit = new UnitFile(UnitGenerator.Header(r, $"systemd unit of etcd member {member.Name} (PgWarden's DCS, from Debian's etcd-server package)"));
        unit.Section("Unit");
        unit.Set("Description", SystemdQuoting.Text($"etcd member {member.Name} of cluster {cluster.Name} (PgWarden's DCS)"));
        UnitGenerator.NetworkOrdering(unit);
        unit.Set("Conflicts", "etcd.service",
            "Debian's own etcd.service (a default single member) must not run beside this member.");

        unit.Section("Service");
        unit.Set("Type", "notify",
            "etcd reports READY=1 once it has joined the cluster: when bootstrapping, start the members with",
            "`systemctl start --no-block` (the first one waits for a quorum).");
        unit.Set("User", User);
        unit.Set("Group", User);
        Env(unit, "ETCD_NAME", member.Name, "Member settings, derived from dcs.endpoints (the same on every host).");
        Env(unit, "ETCD_DATA_DIR", dataDir);
        Env(unit, "ETCD_LISTEN_CLIENT_URLS", EtcdMember.Url(member.ClientUrl));
        Env(unit, "ETCD_ADVERTISE_CLIENT_URLS", EtcdMember.Url(member.ClientUrl));
        Env(unit, "ETCD_LISTEN_PEER_URLS", EtcdMember.Url(member.PeerUrl));
        Env(unit, "ETCD_INITIAL_ADVERTISE_PEER_URLS", EtcdMember.Url(member.PeerUrl));
        Env(unit, "ETCD_INITIAL_CLUSTER", EtcdMember.InitialCluster(cluster));
        Env(unit, "ETCD_INITIAL_CLUSTER_STATE", "new",
            "Only read when the data directory is empty; a member that replaces a lost one joins with `etcdctl member add` and state existing.");
        Env(unit, "ETCD_INITIAL_CLUSTER_TOKEN", $"pgwarden-{cluster.Name}");
        Env(unit, "ETCD_PRE_VOTE", "true",
            "Raft pre-vote (etcd's default from 3.5; off in 3.4): a member cut off and healed does not force an election",
            "on its return, so the healthy members keep their leader and the agents keep renewing (bench/lib/netns.sh).");
        Env(unit, "ETCD_AUTO_COMPACTION_MODE", "periodic",
            "Agents rewrite their member keys every loop: without compaction the revision history fills etcd's 2 GB quota.");
        Env(unit, "ETCD_AUTO_COMPACTION_RETENTION", "1h");
        if (cluster.Dcs.Tls is { } tls)
        {
            Tls(unit, cluster, member, tls);
        }
        Env(unit, "ETCD_LOGGER", "zap");
        Env(unit, "ETCD_LOG_OUTPUTS", "stderr");
        unit.Set("ExecStart", SystemdQuoting.CommandWord(Binary));
        unit.Set("Restart", "on-failure",
            "A member that dies comes back; the agents fence and wait meanwhile (a quorum of the others keeps the lease alive).");
        unit.Set("RestartSec", "2");
        unit.Set("TimeoutStartSec", "120");
        unit.Set("LimitNOFILE", "65536");
        UnitGenerator.Hardening(unit, null);
        UnitGenerator.Logging(unit, r.UnitName);
        UnitGenerator.InstallSection(unit);

        var tmpfiles = string.Join('\n',
        [
            .. UnitGenerator.CommentHeader(r, $"tmpfiles.d(5) rule of etcd member {member.Name}: its data directory, owned by {User}"),
            "# Type Path Mode User Group Age",
            $"d {UnitGenerator.TmpFilesPath(dataDir)} 0700 {User} {User} -",
            "",
        ]);

        return
        [
            UnitGenerator.Unit(r, unit),
            new InstallFile(InstallFileKind.TmpFiles, r.UnitName + ".tmpfiles.conf", $"{UnitGenerator.TmpFilesDir}/{r.UnitName}.conf", tmpfiles, InstallFile.Readable),
        ];
    }

    /// <summary>
    /// https endpoints: the member serves clients and peers with the certificate named after it in
    /// <c>tls:</c> (a database host's own certificate, which names its address). Its key reaches the
    /// etcd user through systemd's LoadCredential= (read as root, handed over in $CREDENTIALS_DIRECTORY),
    /// so the key file keeps its owner and mode. Peers must present a certificate of the CA; clients
    /// must too when <c>dcs.cert_file</c> gives them one (etcd 3.4 "Transport security model").
    /// </summary>
    private static void Tls(UnitFile unit, Config.ClusterConfig cluster, EtcdMember member, Config.DcsTlsSettings tls)
    {
        if (!cluster.Tls.Enabled)
        {
            // The member's certificate and key come from tls: ({name}.crt / .key); disabled, there are none.
            throw new Errors.ConfigException($"dcs.endpoints are https, but tls: is disabled: `install --role etcd` serves etcd member {member.Name} the certificate tls: names for it; turn tls: on, or set up your etcd's TLS yourself (without install --role etcd)");
        }
        unit.Set("LoadCredential", $"etcd.key:{cluster.Tls.KeyFile(member.Name).Replace("%", "%%")}",
            $"The member's private key, readable by the etcd user only through the credentials directory (%d).");
        Env(unit, "ETCD_CERT_FILE", cluster.Tls.CertFile(member.Name), "TLS: dcs.endpoints are https.");
        unit.Set("Environment", "\"ETCD_KEY_FILE=%d/etcd.key\"");
        Env(unit, "ETCD_PEER_CERT_FILE", cluster.Tls.CertFile(member.Name));
        unit.Set("Environment", "\"ETCD_PEER_KEY_FILE=%d/etcd.key\"");
        Env(unit, "ETCD_PEER_TRUSTED_CA_FILE", tls.CaFile);
        Env(unit, "ETCD_PEER_CLIENT_CERT_AUTH", "true");
        if (tls.CertFileTemplate is not null)
        {
            Env(unit, "ETCD_TRUSTED_CA_FILE", tls.CaFile, "Clients present certificates (dcs.cert_file): etcd requires one signed by the CA.");
            Env(unit, "ETCD_CLIENT_CERT_AUTH", "true");
        }
    }

    /// <summary>Environment="KEY=value" (quoted as one word: values hold commas, '=' and colons).</summary>
    private static void Env(UnitFile unit, string key, string value, params string[] why) =>
        unit.Set("Environment", "\"" + (key + "=" + value).Replace("%", "%%").Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"", why);
}
