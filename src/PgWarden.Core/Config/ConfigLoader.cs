using System.Collections.Immutable;
using System.Net;
using System.Text.RegularExpressions;
using PgWarden.Core.Errors;
using PgWarden.Core.Tuning;
using PgWarden.Core.Units;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PgWarden.Core.Config;

/// <summary>Loads a cluster YAML file and validates it; every error names the key and what is wrong.</summary>
public static partial class ConfigLoader
{
    [GeneratedRegex("^[a-z][a-z0-9_-]{0,30}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex IdentifierPattern();

    public static ClusterConfig LoadFile(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ConfigException($"configuration file {full} does not exist");
        }
        return Parse(File.ReadAllText(full), full, System.IO.Path.GetDirectoryName(full)!);
    }

    /// <summary>
    /// Parses and validates a cluster file. Every problem found is reported at once.
    /// </summary>
    /// <exception cref="ConfigException">The file is not valid YAML or not a valid cluster configuration;
    /// <see cref="ConfigException.Problems"/> lists every problem as <c>FILE:LINE:COLUMN: KEY: WHAT</c>.</exception>
    public static ClusterConfig Parse(string yaml, string fileName, string baseDir)
    {
        var diagnostics = new ConfigDiagnostics(fileName);
        var stream = YamlSyntax.Load(yaml, diagnostics);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode rootNode)
        {
            throw new ConfigException($"{fileName}: must be a YAML mapping with at least 'cluster' and 'nodes'");
        }
        var root = new YamlMap(rootNode, "", diagnostics);
        if (stream.Documents.Count > 1)
        {
            // A second document (after `---`) would be ignored silently.
            var start = stream.Documents[1].RootNode.Start;
            diagnostics.ReportFile("a second YAML document (after '---') is not read: keep the whole configuration in one document", (int)start.Line, (int)start.Column);
        }

        var name = root.String("cluster");
        if (!root.Failed("cluster") && !NamePattern().IsMatch(name))
        {
            root.Report("cluster", $"'{name}' must start with a letter and use only a-z, 0-9, '_' and '-' (at most 31 characters)");
        }
        else if (!root.Failed("cluster") && (name.EndsWith("-ro", StringComparison.Ordinal) || name.EndsWith("-pooler", StringComparison.Ordinal)))
        {
            // etcd role and user names are pgwarden-<cluster>, -<cluster>-ro and -<cluster>-pooler (EtcdAuthNames):
            // a cluster "sales-ro" sharing an etcd with "sales" would get the read-only role of "sales" read-write.
            root.Report("cluster", $"'{name}' may not end in '-ro' or '-pooler': another cluster's etcd role or user has that name");
        }
        var postgres = ReadPostgres(root.OptMap("postgres"));
        var hardware = ReadHardware(root.OptMap("hardware"));
        var database = ReadDatabase(root.OptMap("database"));
        var nodes = ReadNodes(root, baseDir);
        var poolers = ReadPoolers(root);
        var tls = ReadTls(root, baseDir);
        var dcs = ReadDcs(root.OptMap("dcs"), nodes.Length > 0 ? nodes[0].Address : "127.0.0.1", baseDir, tls, nodes.Length > 0 ? nodes[0].Name : null);
        var backup = ReadBackup(root.OptMap("backup"), baseDir);
        var api = ReadApi(root.OptMap("api"), tls);
        root.RejectUnknownKeys();
        CheckEndpointsUnique(nodes, poolers, dcs, diagnostics);
        CheckHostNamesUnique(nodes, poolers, dcs, diagnostics);
        diagnostics.ThrowIfAny();

        return new ClusterConfig(name, baseDir, postgres, hardware, database, [.. nodes.Select(n => n with { ApiTls = tls.Enabled })], poolers, dcs)
        {
            ConfigFile = fileName,
            Backup = backup,
            Tls = tls,
            Api = api,
        };
    }

    private static PostgresSettings ReadPostgres(YamlMap? map)
    {
        if (map is null)
        {
            return new PostgresSettings(15, "/usr/lib/postgresql/15/bin", "postgres", 200, []);
        }
        var version = map.Int("version", 15, 13, 18);
        var bin = map.String("bin_dir", $"/usr/lib/postgresql/{version}/bin");
        var user = map.String("os_user", "postgres");
        var maxConn = map.Int("max_connections", 200, 10, 10000);
        var parameters = map.OptMap("parameters")?.FreeForm() ?? [];
        foreach (var (key, _) in parameters)
        {
            if (!IdentifierPattern().IsMatch(key.Replace(".", "_")))
            {
                map.Report($"parameters.{key}", "is not a valid PostgreSQL parameter name");
            }
            else if (ManagedParameters.Contains(key))
            {
                map.Report($"parameters.{key}", "is managed by PgWarden and cannot be overridden here");
            }
        }
        map.RejectUnknownKeys();
        return new PostgresSettings(version, bin, user, maxConn, [.. parameters.Where(p => !map.Failed($"parameters.{p.Key}"))]);
    }

    /// <summary>Parameters PgWarden owns: overriding them would break replication, sockets or failover.</summary>
    public static readonly ImmutableHashSet<string> ManagedParameters =
    [
        "port", "listen_addresses", "unix_socket_directories", "cluster_name", "primary_conninfo",
        "primary_slot_name", "hba_file", "ident_file", "data_directory", "config_file", "hot_standby",
        "wal_level", "max_connections", "archive_mode", "archive_command", "archive_library", "restore_command",
        "ssl", "ssl_cert_file", "ssl_key_file", "ssl_ca_file",
    ];

    private static HardwareHints? ReadHardware(YamlMap? map)
    {
        if (map is null)
        {
            return null;
        }
        var ramText = map.String("ram");
        var ram = ByteSize.GB;
        if (!map.Failed("ram") && (!ByteSize.TryParse(ramText, out ram) || ram < 256 * ByteSize.MB || ram > 64 * ByteSize.TB))
        {
            map.Report("ram", $"'{ramText}' is not a memory size between 256MB and 64TB (e.g. 16GB)");
            ram = ByteSize.GB;
        }
        var cpus = map.Int("cpus", null, 1, 1024);
        var storageText = map.String("storage", "ssd");
        var storage = ParseStorage(storageText) ?? StorageKind.Ssd;
        if (ParseStorage(storageText) is null)
        {
            map.Report("storage", $"'{storageText}' must be one of ssd, hdd, san");
        }
        map.RejectUnknownKeys();
        return new HardwareHints(ram, cpus, storage);
    }

    /// <summary>ssd, hdd or san (any case); null for anything else, numbers included.</summary>
    public static StorageKind? ParseStorage(string text) => text.Trim().ToLowerInvariant() switch
    {
        "ssd" => StorageKind.Ssd,
        "hdd" => StorageKind.Hdd,
        "san" => StorageKind.San,
        _ => null,
    };

    private static DatabaseSettings ReadDatabase(YamlMap? map)
    {
        string Ident(YamlMap? m, string key, string fallback)
        {
            var value = m?.String(key, fallback) ?? fallback;
            if (m is not null && !m.Failed(key) && !IdentifierPattern().IsMatch(value))
            {
                m.Report(key, $"'{value}' must be a lower-case SQL identifier (a-z, 0-9, '_')");
            }
            return value;
        }
        var name = Ident(map, "name", "bookreader");
        var app = Ident(map, "app_user", "bookreader_app");
        var repl = Ident(map, "replication_user", "replicator");
        var admin = Ident(map, "pooler_admin_user", "pgbouncer_admin");
        var networks = map?.StringList("app_networks") ?? [];
        foreach (var net in networks)
        {
            if (!IPNetwork.TryParse(net, out _))
            {
                map!.Report("app_networks", $"'{net}' is not a network in CIDR form (e.g. 10.0.0.0/16)");
            }
        }
        map?.RejectUnknownKeys();
        var distinct = new[] { app, repl, admin, "postgres" }.Distinct().Count();
        if (distinct != 4)
        {
            map!.Report("app_user", "the app, replication and pooler admin roles must be different from each other and from 'postgres'");
        }
        return new DatabaseSettings(name, app, repl, "postgres", admin,
            networks.Count == 0 ? ["127.0.0.1/32"] : [.. networks]);
    }

    private static ImmutableArray<NodeConfig> ReadNodes(YamlMap root, string baseDir)
    {
        var list = root.MapList("nodes");
        if (list.Count == 0)
        {
            root.Report("nodes", "at least one node is required");
            return [];
        }
        var nodes = ImmutableArray.CreateBuilder<NodeConfig>();
        var names = new HashSet<string>();
        foreach (var m in list)
        {
            var name = m.String("name");
            if (!m.Failed("name") && !NamePattern().IsMatch(name))
            {
                m.Report("name", $"'{name}' must start with a letter and use only a-z, 0-9, '_' and '-'");
            }
            if (!m.Failed("name") && !names.Add(name))
            {
                m.Report("name", $"duplicate node name '{name}'");
            }
            var address = ReadAddress(m, "address");
            var port = m.Int("port", null, 1, 65535);
            var apiPort = m.Int("api_port", null, 1, 65535);
            var dataDir = m.String("data_dir", System.IO.Path.Combine("nodes", name, "data"));
            var priority = m.Int("priority", 100, 0, 1000);
            var noFailover = m.Bool("nofailover", false);
            m.RejectUnknownKeys();
            var node = new NodeConfig(name, address, port, apiPort, System.IO.Path.GetFullPath(dataDir, baseDir), priority, noFailover);
            var clash = nodes.FirstOrDefault(n => n.SlotName == node.SlotName);
            if (clash is not null && !m.Failed("name"))
            {
                m.Report("name", $"'{name}' and '{clash.Name}' would share the replication slot {node.SlotName}; rename one");
            }
            nodes.Add(node);
        }
        return nodes.ToImmutable();
    }

    /// <summary>
    /// The dcs section. Without one (or with embedded: true) `pgwarden up` runs a single-member etcd
    /// on the first node's address, client port 2479, peer port 2480.
    /// </summary>
    private static DcsSettings ReadDcs(YamlMap? map, string firstAddress, string baseDir, TlsSettings tls, string? firstName = null)
    {
        var defaults = new Dcs.DcsConfig();
        var endpoints = map?.StringList("endpoints") ?? [];
        var embedded = map?.Bool("embedded", endpoints.Count == 0) ?? true;
        foreach (var e in endpoints)
        {
            if (!Uri.TryCreate(e, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                map!.Report("endpoints", $"'{e}' is not an etcd client URL (e.g. http://10.0.0.5:2379)");
            }
        }
        if (embedded && endpoints.Count > 1)
        {
            map!.Report("embedded", "an embedded etcd has one endpoint; list your own etcd cluster's endpoints with embedded: false");
        }
        var host = firstAddress.Contains(':') ? $"[{firstAddress}]" : firstAddress;
        // 2479/2480, not etcd's 2379/2380: a Debian etcd-server package may already run on those.
        // The embedded etcd speaks TLS whenever the cluster does (the first node's certificate).
        var scheme = tls.Enabled ? "https" : "http";
        var clientUrls = endpoints.Count > 0 ? endpoints : [$"{scheme}://{host}:2479"];
        var peer = embedded ? map?.OptString("peer_url") ?? $"{(endpoints.Count > 0 && Uri.TryCreate(endpoints[0], UriKind.Absolute, out var given) ? given.Scheme : scheme)}://{host}:2480" : null;
        var ttl = map?.Int("ttl", defaults.Ttl, 2, 300) ?? defaults.Ttl;
        var loopWait = map?.Int("loop_wait", defaults.LoopWait, 1, 60) ?? defaults.LoopWait;
        if (Dcs.DcsConfigRules.WhyLoopTooSlow(ttl, loopWait) is { } why)
        {
            map!.Report(map.OptString("loop_wait") is not null ? "loop_wait" : "ttl", $"loop_wait {loopWait} s {why}");
        }
        var lagText = map?.OptString("maximum_lag_on_failover");
        var maxLag = defaults.MaximumLagOnFailover;
        if (lagText is not null && !ByteSize.TryParse(lagText, out maxLag))
        {
            maxLag = defaults.MaximumLagOnFailover;
            map!.Report("maximum_lag_on_failover", $"'{lagText}' is not a size (e.g. 1MB)");
        }
        var sync = map?.Bool("synchronous_mode", false) ?? false;
        var credentials = map?.OptString("credentials_file");
        var dcsTls = ReadDcsTls(map, clientUrls, embedded ? peer : null, tls, baseDir);
        if (dcsTls is not null && embedded && tls.Mode == TlsMode.Generated && endpoints.Count > 0
            && Uri.TryCreate(endpoints[0], UriKind.Absolute, out var served)
            && !new[] { PgWarden.Core.Tls.ClusterCertificates.Canonical(firstAddress), firstName }.Contains(PgWarden.Core.Tls.ClusterCertificates.Canonical(served.Host.Trim('[', ']')), StringComparer.OrdinalIgnoreCase))
        {
            // The embedded etcd serves the first node's generated certificate, which names only that node and its address.
            map!.Report("endpoints", $"the embedded etcd serves the first node's certificate ({firstName} / {firstAddress}), which does not name '{served.Host}': clients would refuse it; use https://{(firstAddress.Contains(':') ? $"[{firstAddress}]" : firstAddress)}:{served.Port}");
        }
        map?.RejectUnknownKeys();
        return new DcsSettings([.. clientUrls], embedded, peer,
            new Dcs.DcsConfig { Ttl = ttl, LoopWait = loopWait, MaximumLagOnFailover = maxLag, SynchronousMode = sync })
        {
            CredentialsFile = credentials is null ? null : System.IO.Path.GetFullPath(credentials, baseDir),
            Tls = dcsTls,
        };
    }

    /// <summary>
    /// TLS to etcd: https endpoints (all or none) are verified against <c>dcs.ca_file</c>, else the
    /// cluster's CA; <c>dcs.cert_file</c> / <c>key_file</c> (together; <c>{name}</c> is the host's
    /// name) are the client certificate for an etcd with <c>--client-cert-auth</c>. An embedded etcd
    /// serves https exactly when the cluster's TLS is on.
    /// </summary>
    private static DcsTlsSettings? ReadDcsTls(YamlMap? map, IReadOnlyList<string> clientUrls, string? embeddedPeer, TlsSettings tls, string baseDir)
    {
        string? PathOf(string key) => map?.OptString(key) is { } p ? System.IO.Path.GetFullPath(p, baseDir) : null;
        var ca = PathOf("ca_file");
        var cert = PathOf("cert_file");
        var key = PathOf("key_file");
        var urls = clientUrls.Concat(embeddedPeer is null ? [] : [embeddedPeer]).ToList();
        var https = urls.Count(u => u.StartsWith("https://", StringComparison.OrdinalIgnoreCase));
        if (https > 0 && https < urls.Count)
        {
            map!.Report("endpoints", "mixes http:// and https:// URLs; etcd is reached either over TLS or not");
            return null;
        }
        if ((cert is null) != (key is null))
        {
            map!.Report(cert is null ? "cert_file" : "key_file", "cert_file and key_file go together (etcd's client certificate)");
        }
        if (https == 0)
        {
            if ((ca ?? cert ?? key) is not null)
            {
                map!.Report(ca is not null ? "ca_file" : "cert_file", "is only used with https:// endpoints");
            }
            return null;
        }
        if (embeddedPeer is not null && cert is not null)
        {
            map!.Report("cert_file", "the embedded etcd does not require client certificates (no --client-cert-auth): cert_file / key_file are for your own etcd (embedded: false)");
            return null;
        }
        if (embeddedPeer is not null && !tls.Enabled)
        {
            map!.Report("endpoints", "an embedded etcd serves https only with the cluster's TLS on (tls: is disabled)");
            return null;
        }
        if (tls.Mode == TlsMode.Generated && cert is not null && (cert == tls.CertFileTemplate || key == tls.KeyFileTemplate))
        {
            // A generated pooler certificate is a server certificate only (no clientAuth): etcd would refuse it as a client's.
            map!.Report("cert_file", $"names the hosts' own certificates ({tls.CertFileTemplate}), but a generated pooler certificate has no clientAuth usage (it only serves the applications): give the etcd client certificates files of their own, e.g. cert_file: 'tls/{{name}}-etcd.crt' and key_file: 'tls/{{name}}-etcd.key' (`pgwarden up` issues them)");
            return null;
        }
        var caFile = ca ?? (tls.Enabled ? tls.CaFile : null);
        if (caFile is null)
        {
            map!.Report("ca_file", "is required for https:// endpoints when the cluster's tls: is disabled (the CA that signed etcd's certificates)");
            return null;
        }
        return new DcsTlsSettings(caFile, cert, key);
    }

    private static ImmutableArray<PoolerConfig> ReadPoolers(YamlMap root)
    {
        var poolers = ImmutableArray.CreateBuilder<PoolerConfig>();
        var names = new HashSet<string>();
        foreach (var m in root.MapList("poolers"))
        {
            var name = m.String("name");
            if (!m.Failed("name") && !NamePattern().IsMatch(name))
            {
                m.Report("name", $"'{name}' must start with a letter and use only a-z, 0-9, '_' and '-'");
            }
            if (!m.Failed("name") && !names.Add(name))
            {
                m.Report("name", $"duplicate pooler name '{name}'");
            }
            var address = ReadAddress(m, "address");
            var port = m.Int("port", null, 1, 65535);
            var settingsMap = m.OptMap("settings");
            var settings = settingsMap?.FreeForm() ?? [];
            foreach (var (key, _) in settings)
            {
                if (!Rendering.PgBouncerIniRenderer.TunableSettings.Contains(key))
                {
                    settingsMap!.Report(key, "is not a PgBouncer setting PgWarden lets you override (pool sizes, timeouts, logging)");
                }
            }
            m.RejectUnknownKeys();
            poolers.Add(new PoolerConfig(name, address, port, [.. settings]));
        }
        return poolers.ToImmutable();
    }

    private static BackupSettings? ReadBackup(YamlMap? map, string baseDir)
    {
        if (map is null)
        {
            return null;
        }
        var repo = map.OptMap("repository");
        if (repo is null)
        {
            if (!map.Failed("repository"))
            {
                map.Report("repository", "is required (type: fs with a path, or type: s3 with a bucket)");
            }
            return null;
        }
        var typeText = repo.String("type");
        RepositoryKind? parsedKind = typeText switch
        {
            "fs" => RepositoryKind.Fs,
            "s3" => RepositoryKind.S3,
            _ => null,
        };
        if (parsedKind is null && !repo.Failed("type"))
        {
            repo.Report("type", $"'{typeText}' must be fs or s3");
        }
        var kind = parsedKind ?? RepositoryKind.Fs;
        string? path = null;
        S3Settings? s3 = null;
        // The repository's other keys depend on its type: with a wrong type only the type is reported.
        if (parsedKind == RepositoryKind.Fs)
        {
            var pathText = repo.String("path");
            path = pathText.Length == 0 ? baseDir : System.IO.Path.GetFullPath(pathText, baseDir);
        }
        else if (parsedKind == RepositoryKind.S3)
        {
            var endpoint = repo.OptString("endpoint");
            if (endpoint is not null && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https")))
            {
                repo.Report("endpoint", $"'{endpoint}' must be an http:// or https:// URL");
            }
            var bucket = repo.String("bucket");
            if (!repo.Failed("bucket") && !BucketPattern().IsMatch(bucket))
            {
                repo.Report("bucket", $"'{bucket}' is not a valid bucket name (3-63 characters: a-z, 0-9, '.', '-')");
            }
            var region = repo.String("region", "us-east-1");
            var prefix = repo.String("prefix", "").Trim('/');
            if (prefix.Contains("..", StringComparison.Ordinal) || prefix.Contains('\\'))
            {
                repo.Report("prefix", $"'{prefix}' must be a plain key prefix (no '..', no backslashes)");
            }
            var credentials = repo.OptString("credentials_file") is { } c ? System.IO.Path.GetFullPath(c, baseDir) : null;
            s3 = new S3Settings(endpoint, bucket, region, prefix, credentials);
        }
        if (parsedKind is not null)
        {
            repo.RejectUnknownKeys();
        }

        var days = map.Int("retention_days", 30, 1, 3650);
        int? count = map.OptString("retention_count") is null ? null : map.Int("retention_count", null, 1, 1000);
        var schedules = map.OptMap("schedule");
        string Cron(string key, string fallback)
        {
            var text = schedules?.String(key, fallback) ?? fallback;
            if (text is CronSchedule.Off)
            {
                return text;
            }
            try
            {
                CronSchedule.Parse(text);
            }
            catch (Cronos.CronFormatException e)
            {
                schedules!.Report(key, $"'{text}' is not a cron expression (minute hour day month weekday, optionally seconds first; or off): {e.Message}");
            }
            return text;
        }
        var logical = Cron("logical", "0 2 * * *");
        var physical = Cron("physical", "0 3 * * 0");
        var verify = Cron("verify", "0 5 * * 0");
        schedules?.RejectUnknownKeys();
        var archiveTimeout = map.Int("archive_timeout", 300, 0, 86400);
        var encryption = ReadEncryption(map, baseDir, path);
        map.RejectUnknownKeys();
        if (parsedKind is null)
        {
            return null;
        }
        return new BackupSettings(kind, path, s3, days, count, logical, physical, archiveTimeout) { VerifySchedule = verify, Encryption = encryption };
    }

    /// <summary>
    /// <c>encryption: none</c>, <c>encryption: { key_file: PATH }</c>, or absent (the key file next to the
    /// cluster's secrets, used when it exists: <c>pgwarden up</c> creates it for a new cluster).
    /// </summary>
    private static BackupEncryptionSettings ReadEncryption(YamlMap map, string baseDir, string? fsRepository)
    {
        var section = map.OptMapOrScalar("encryption", out var scalar);
        BackupEncryptionSettings settings;
        if (section is null)
        {
            if (scalar is not (null or "none"))
            {
                map.Report("encryption", $"'{scalar}' must be none or a mapping with key_file");
            }
            settings = scalar == "none"
                ? new BackupEncryptionSettings(BackupEncryptionMode.None, null)
                : new BackupEncryptionSettings(BackupEncryptionMode.Default, System.IO.Path.Combine(baseDir, BackupEncryptionSettings.DefaultKeyFileName));
        }
        else
        {
            var keyText = section.String("key_file");
            var keyFile = System.IO.Path.GetFullPath(keyText.Length == 0 ? BackupEncryptionSettings.DefaultKeyFileName : keyText, baseDir);
            section.RejectUnknownKeys();
            settings = new BackupEncryptionSettings(BackupEncryptionMode.KeyFile, keyFile);
        }
        if (settings.KeyFile is { } key && fsRepository is not null
            && (key + "/").StartsWith(fsRepository.TrimEnd('/') + "/", StringComparison.Ordinal))
        {
            map.Report("encryption", $"the key file {key} is inside the repository {fsRepository}; keep it outside (whoever reads the repository must not find the key there)");
        }
        return settings;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketPattern();

    private static string ReadAddress(YamlMap m, string key)
    {
        var address = m.String(key);
        if (!m.Failed(key) && !IPAddress.TryParse(address, out _) && Uri.CheckHostName(address) != UriHostNameType.Dns)
        {
            m.Report(key, $"'{address}' is not an IP address or host name");
        }
        return address;
    }

    /// <summary>
    /// Every host has a name of its own: a host's name picks its certificate and key (<c>tls/{name}.crt</c>),
    /// its etcd client pair and what `secrets export --name` hands out, so a pooler named like a node, or a node
    /// or pooler named like an etcd member on another host (etcdN, by position in dcs.endpoints), would share —
    /// and be exported with — another host's private key.
    /// </summary>
    private static void CheckHostNamesUnique(ImmutableArray<NodeConfig> nodes, ImmutableArray<PoolerConfig> poolers, DcsSettings dcs, ConfigDiagnostics diagnostics)
    {
        for (var i = 0; i < poolers.Length; i++)
        {
            if (!diagnostics.Failed($"poolers[{i}].name") && nodes.Any(n => n.Name == poolers[i].Name))
            {
                diagnostics.Report($"poolers[{i}].name", $"pooler name '{poolers[i].Name}' is also a node's: a host's name picks its certificate and key (tls/{{name}}.crt), so every node and pooler needs a name of its own");
            }
        }
        if (dcs.Embedded)
        {
            return;
        }
        for (var i = 0; i < dcs.Endpoints.Length; i++)
        {
            // As Install.EtcdMember names them: the node at the endpoint's host, else etcdN by position.
            if (!Uri.TryCreate(dcs.Endpoints[i], UriKind.Absolute, out var uri) || nodes.Any(n => n.Address == uri.Host.Trim('[', ']')))
            {
                continue;
            }
            var member = $"etcd{i + 1}";
            var host = nodes.Select(n => $"node '{n.Name}'").Concat(poolers.Select(p => $"pooler '{p.Name}'"))
                .FirstOrDefault(h => h.EndsWith($"'{member}'", StringComparison.Ordinal));
            if (host is not null)
            {
                diagnostics.Report("dcs.endpoints", $"the etcd member at {uri.Authority} is named {member} (its position in dcs.endpoints), which is also the name of {host} on another host: "
                    + $"the member's certificate and key (tls/{member}.crt) would be that host's; rename the {host.Split(' ')[0]}");
            }
        }
    }

    /// <summary>No two listeners (PostgreSQL, agent API, PgBouncer) may share an address and port.</summary>
    private static void CheckEndpointsUnique(ImmutableArray<NodeConfig> nodes, ImmutableArray<PoolerConfig> poolers, DcsSettings dcs, ConfigDiagnostics diagnostics)
    {
        var seen = new List<(string Address, int Port, string Owner)>();
        static bool Wildcard(string a) => a is "0.0.0.0" or "::" or "*";
        void Claim(string address, int port, string owner)
        {
            if (diagnostics.Failed(owner))
            {
                return; // its value is a placeholder, already reported
            }
            // A wildcard address listens on every address, so it clashes with any listener on the same port.
            var other = seen.FirstOrDefault(s => s.Port == port && (s.Address == address || Wildcard(s.Address) || Wildcard(address)));
            if (other.Owner is not null)
            {
                diagnostics.Report(owner, $"duplicate port {port} on {address} (already used by {other.Owner} on {other.Address})");
                return;
            }
            seen.Add((address, port, owner));
        }
        for (var i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            Claim(n.Address, n.Port, $"nodes[{i}].port");
            Claim(n.Address, n.ApiPort, $"nodes[{i}].api_port");
        }
        for (var i = 0; i < poolers.Length; i++)
        {
            var p = poolers[i];
            Claim(p.Address, p.Port, $"poolers[{i}].port");
        }
        var portsKnown = Enumerable.Range(0, nodes.Length).All(i => !diagnostics.Failed($"nodes[{i}].port"));
        if (poolers.Length > 0 && portsKnown && nodes.Select(n => n.Port).Distinct().Count() > 1)
        {
            diagnostics.Report("nodes", "with poolers, every node needs the same port (PgBouncer's read-only host list shares one port); give the nodes different addresses instead (e.g. 127.0.0.1, 127.0.0.2, 127.0.0.3 on one machine)");
        }
        if (dcs.Embedded)
        {
            foreach (var url in dcs.Endpoints.Append(dcs.EmbeddedPeerUrl!))
            {
                if (Uri.TryCreate(url, UriKind.Absolute, out var uri))
                {
                    Claim(uri.Host.Trim('[', ']'), uri.Port, "dcs (embedded etcd)");
                }
            }
        }
        for (var i = 0; i < nodes.Length; i++)
        {
            // A node whose name is already wrong would also clash through its default data_dir (nodes/<name>/data).
            if (!diagnostics.Failed($"nodes[{i}].name") && nodes.Take(i).FirstOrDefault(n => n.DataDir == nodes[i].DataDir) is { } first)
            {
                diagnostics.Report($"nodes[{i}].data_dir", $"{nodes[i].DataDir} is also the data_dir of node {first.Name}; every node needs its own");
            }
        }
    }
}
