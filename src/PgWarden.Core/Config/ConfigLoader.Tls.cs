using System.Net;

namespace PgWarden.Core.Config;

public static partial class ConfigLoader
{
    /// <summary>
    /// The <c>tls:</c> section. Absent: generated certificates under the cluster directory (TLS on).
    /// <c>tls: disabled</c> or <c>mode: disabled</c>: plain text — the only way to get it.
    /// <c>ca_file</c> + <c>cert_file</c> + <c>key_file</c> (mode files, implied): the user's own.
    /// </summary>
    private static TlsSettings ReadTls(YamlMap root, string baseDir)
    {
        // After a problem is reported the value only has to keep later checks quiet (the file is refused as a whole).
        var placeholder = TlsSettings.GeneratedUnder(baseDir);
        var map = root.OptMapOrScalar("tls", out var scalar);
        if (map is null)
        {
            switch (scalar)
            {
                case null or "generated":
                    return TlsSettings.GeneratedUnder(baseDir);
                case "disabled":
                    return TlsSettings.Off;
                default:
                    root.Report("tls", $"'{scalar}' must be disabled, generated, or a mapping (mode, ca_file, cert_file, key_file, …)");
                    return placeholder;
            }
        }
        string? PathOf(string key) => map.OptString(key) is { } p ? System.IO.Path.GetFullPath(p, baseDir) : null;
        var ca = PathOf("ca_file");
        var cert = PathOf("cert_file");
        var key = PathOf("key_file");
        var adminCert = PathOf("admin_cert_file");
        var adminKey = PathOf("admin_key_file");
        var modeText = map.OptString("mode") ?? (ca ?? cert ?? key) switch { null => "generated", _ => "files" };
        var clientModeText = map.String("pooler_client_sslmode", "require");
        PoolerClientTlsMode? parsedClientMode = clientModeText switch
        {
            "require" => PoolerClientTlsMode.Require,
            "verify-ca" => PoolerClientTlsMode.VerifyCa,
            "verify-full" => PoolerClientTlsMode.VerifyFull,
            _ => null,
        };
        if (parsedClientMode is null)
        {
            map.Report("pooler_client_sslmode", $"'{clientModeText}' must be require, verify-ca or verify-full");
        }
        var clientMode = parsedClientMode ?? PoolerClientTlsMode.Require;
        map.RejectUnknownKeys();
        if ((adminCert is null) != (adminKey is null))
        {
            map.Report(adminCert is null ? "admin_cert_file" : "admin_key_file", "admin_cert_file and admin_key_file go together");
        }
        switch (modeText)
        {
            case "disabled":
                if ((ca ?? cert ?? key ?? adminCert) is not null)
                {
                    map.Report("mode", "is disabled, but certificate files are given; remove them or the mode");
                    return placeholder;
                }
                return TlsSettings.Off;
            case "generated":
                if ((ca ?? cert ?? key) is not null)
                {
                    map.Report("mode", "is generated: PgWarden creates ca_file, cert_file and key_file itself; remove them, or use mode: files");
                    return placeholder;
                }
                var generated = TlsSettings.GeneratedUnder(baseDir) with { PoolerClientMode = clientMode };
                return adminCert is null ? generated : generated with { AdminCertFile = adminCert, AdminKeyFile = adminKey };
            case "files":
                foreach (var (k, v) in new[] { ("ca_file", ca), ("cert_file", cert), ("key_file", key) })
                {
                    if (v is null)
                    {
                        map.Report(k, "is required with your own certificates (ca_file, cert_file and key_file; {name} in the last two stands for the node's or pooler's name)");
                    }
                }
                if (ca is null || cert is null || key is null)
                {
                    return placeholder;
                }
                return new TlsSettings(TlsMode.Files, ca!, cert!, key!) { AdminCertFile = adminCert, AdminKeyFile = adminKey, PoolerClientMode = clientMode };
            default:
                map.Report("mode", $"'{modeText}' must be generated, files or disabled");
                return placeholder;
        }
    }

    /// <summary>The <c>api:</c> section: client certificates and an allowlist of networks for the agents' REST API.</summary>
    private static ApiAccessSettings ReadApi(YamlMap? map, TlsSettings tls)
    {
        if (map is null)
        {
            return ApiAccessSettings.Open;
        }
        var requireCert = map.Bool("require_client_cert", false);
        var allowlist = map.StringList("allowlist");
        foreach (var net in allowlist)
        {
            if (!IPNetwork.TryParse(net, out _))
            {
                map.Report("allowlist", $"'{net}' is not a network in CIDR form (e.g. 10.0.0.0/24 or 10.0.0.5/32)");
            }
        }
        map.RejectUnknownKeys();
        if (requireCert && !tls.Enabled)
        {
            map.Report("require_client_cert", "needs TLS, but tls is disabled");
        }
        return new ApiAccessSettings(requireCert, [.. allowlist]);
    }
}
