using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Tls;

namespace PgWarden.Agent;

/// <summary>
/// Where and how the agent's REST API listens: HTTPS with the node's certificate when the cluster's
/// TLS is on (plain HTTP only with tls: disabled), client certificates signed by the cluster CA when
/// <c>api.require_client_cert</c> is set (others fail the TLS handshake), and the <c>api.allowlist</c>
/// (403 for any other address).
/// </summary>
public static class ApiEndpoint
{
    public static void Configure(WebApplicationBuilder builder, ClusterConfig cluster, NodeConfig node)
    {
        var host = node.Address.Contains(':') ? $"[{node.Address}]" : node.Address;
        if (!cluster.Tls.Enabled)
        {
            builder.WebHost.UseUrls($"http://{host}:{node.ApiPort}");
            return;
        }
        var certificate = PemFiles.ReadWithKey(cluster.Tls.CertFile(node.Name), cluster.Tls.KeyFile(node.Name));
        // Also refuses what a PgBouncer or etcd host holds (its etcd client pair, a member's certificate): same CA, clientAuth.
        var trust = CaTrust.ForApi(cluster);
        // The slim builder leaves out Kestrel's HTTPS wiring; https:// addresses need it.
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls($"https://{host}:{node.ApiPort}");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
        {
            https.ServerCertificate = certificate;
            https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            if (cluster.Api.RequireClientCert)
            {
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                // The system's roots and the chain .NET built against them do not count: only the cluster CA.
                // A certificate must be issued for clients (clientAuth named in its EKU): a pooler's or etcd's server certificate is refused.
                https.ClientCertificateValidation = (certificate, _, _) => trust.VerifiesClient(certificate);
            }
        }));
    }

    /// <summary>Answers 403 to a caller outside the allowlist, before any endpoint runs.</summary>
    public static void UseAllowlist(WebApplication app, ClusterConfig cluster)
    {
        if (ApiAllowlist.For(cluster) is not { } allowlist)
        {
            return;
        }
        app.Use(async (HttpContext http, RequestDelegate next) =>
        {
            if (!allowlist.Allows(http.Connection.RemoteIpAddress))
            {
                http.Response.StatusCode = StatusCodes.Status403Forbidden;
                await http.Response.WriteAsJsonAsync(new { error = $"{http.Connection.RemoteIpAddress} is not in the API allowlist (api.allowlist)" }, http.RequestAborted);
                return;
            }
            await next(http);
        });
    }
}
