using System.Net.Sockets;
using dotnet_etcd;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client.Configuration;
using PgWarden.Core.Dcs;

namespace PgWarden.Dcs;

/// <summary>
/// One gRPC client per etcd endpoint, and the rule for calling them: start with the endpoint that
/// answered last, move on to the next when one does not answer, never past the operation's
/// deadline, and turn every failure into one <see cref="DcsUnavailableException"/> line.
/// </summary>
internal sealed class EtcdEndpoints : IDisposable
{
    private readonly string[] _urls;
    private readonly EtcdClient[] _clients;
    private readonly EtcdAuthSession?[] _sessions;
    private int _preferred;

    /// <param name="tls">The CA (and client certificate) for https endpoints; required when any endpoint is https.</param>
    /// <exception cref="ArgumentException">an endpoint is not http(s)://host:port, or an https endpoint has no <paramref name="tls"/>.</exception>
    /// <exception cref="PgWarden.Core.Errors.ConfigException">the CA or client certificate files cannot be read.</exception>
    public EtcdEndpoints(IReadOnlyList<string> endpoints, TimeSpan timeout, System.Net.IPAddress? localAddress = null, DcsCredentials? credentials = null, DcsTls? tls = null)
    {
        if (endpoints.Count == 0)
        {
            throw new ArgumentException("at least one etcd endpoint is needed", nameof(endpoints));
        }
        foreach (var url in endpoints)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https") || uri.AbsolutePath != "/")
            {
                throw new ArgumentException($"etcd endpoint '{url}' is not of the form http://host:port", nameof(endpoints));
            }
            if (uri.Scheme == "https" && tls is null)
            {
                throw new ArgumentException($"etcd endpoint '{url}' uses TLS but no CA to verify it was given", nameof(tls));
            }
        }
        _tls = tls is null ? null : EtcdTlsOptions.Load(tls);
        _urls = endpoints.Select(u => u.TrimEnd('/')).ToArray();
        // One login per endpoint: a token lives in the member that issued it until etcd forgets it.
        _sessions = _urls.Select(u => credentials is null ? null : new EtcdAuthSession(u, credentials)).ToArray();
        _clients = _urls.Select((u, i) => CreateClient(u, timeout, localAddress, _sessions[i])).ToArray();
    }

    public string Describe() => string.Join(",", _urls);

    /// <summary>The endpoint that answered last, for long-lived calls (watches); <see cref="Rotate"/> moves on after a failure.</summary>
    public EtcdClient Preferred => _clients[Volatile.Read(ref _preferred) % _clients.Length];

    public void Rotate() => Interlocked.Exchange(ref _preferred, (Volatile.Read(ref _preferred) + 1) % _clients.Length);

    /// <summary>The preferred endpoint, logged in (for a watch, which carries its token from its start).</summary>
    public async Task<EtcdClient> PreferredLoggedInAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var index = Volatile.Read(ref _preferred) % _clients.Length;
        if (_sessions[index] is { } session)
        {
            await session.EnsureAsync(_clients[index], DateTime.UtcNow + timeout, cancellationToken).ConfigureAwait(false);
        }
        return _clients[index];
    }

    /// <summary>Forgets the preferred endpoint's token (etcd cancelled a watch for want of a valid one).</summary>
    public void ForgetPreferredToken() => _sessions[Volatile.Read(ref _preferred) % _clients.Length]?.Forget();

    private readonly List<Grpc.Net.Client.GrpcChannel> _ownChannels = [];
    private readonly System.Net.Security.SslClientAuthenticationOptions? _tls;

    private EtcdClient CreateClient(string url, TimeSpan timeout, System.Net.IPAddress? localAddress, EtcdAuthSession? session)
    {
        var https = url.StartsWith("https://", StringComparison.Ordinal);
        if (localAddress is not null || https)
        {
            // Our own handler: for TLS (the CA as the only trust, a client certificate when
            // configured), and to connect from the node's own address: firewalls (and the partition
            // tests) then see which node talks to etcd, also when all nodes share one machine.
            // gRPC's client-side balancing cannot use a custom connect callback, so this channel
            // has none (one address per client anyway) and no retry policy either.
            var handler = new SocketsHttpHandler
            {
                ConnectTimeout = timeout,
                KeepAlivePingDelay = TimeSpan.FromSeconds(10),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
                EnableMultipleHttp2Connections = true,
                UseProxy = false,
            };
            if (https)
            {
                handler.SslOptions = EtcdTlsOptions.Copy(_tls!);
            }
            if (localAddress is not null)
            {
                handler.ConnectCallback = async (context, ct) =>
                {
                    var socket = new System.Net.Sockets.Socket(localAddress.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                    try
                    {
                        socket.Bind(new System.Net.IPEndPoint(localAddress, 0));
                        await socket.ConnectAsync(context.DnsEndPoint, ct);
                        return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                };
            }
            var channel = Grpc.Net.Client.GrpcChannel.ForAddress(url, new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
            _ownChannels.Add(channel);
            return new EtcdClient(session is null ? channel.CreateCallInvoker() : channel.Intercept(session));
        }
        return new EtcdClient(url, configureChannelOptions: options =>
        {
            // The library's default policy retries Unavailable 5 times with backoff from 1 s; the
            // HA loop wants an answer (or a failure) within its deadline, and we move to the next
            // endpoint ourselves. Pick-first: one address per client.
            options.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new PickFirstConfig() } };
            // After an etcd restart, reconnect within a second rather than the default up to 120 s.
            options.InitialReconnectBackoff = TimeSpan.FromMilliseconds(200);
            options.MaxReconnectBackoff = TimeSpan.FromSeconds(1);
            if (options.HttpHandler is SocketsHttpHandler handler)
            {
                handler.ConnectTimeout = timeout;
                // Find a dead connection (a partition) in seconds; etcd accepts pings every 5 s or more.
                handler.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
                handler.KeepAlivePingTimeout = TimeSpan.FromSeconds(5);
            }
        }, interceptors: session is null ? null : [session]);
    }

    /// <summary>
    /// Runs <paramref name="call"/> against one endpoint after the other until one answers or
    /// <paramref name="deadlineUtc"/> passes. Each attempt gets an equal share of the time left, so
    /// a hung endpoint cannot eat the time of the ones after it.
    /// </summary>
    public async Task<T> CallAsync<T>(string doing, DateTime deadlineUtc, Func<EtcdClient, DateTime, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        var start = Volatile.Read(ref _preferred);
        for (var i = 0; i < _clients.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var remaining = deadlineUtc - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }
            var index = (start + i) % _clients.Length;
            var share = remaining / (_clients.Length - i);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // The gRPC deadline ends the call; the token is a safety net should a step not honour it.
            attempt.CancelAfter(share + TimeSpan.FromMilliseconds(100));
            try
            {
                var result = await AttemptAsync(index, call, DateTime.UtcNow + share, attempt.Token).ConfigureAwait(false);
                if (index != start)
                {
                    Volatile.Write(ref _preferred, index);
                }
                return result;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (RpcException e) when (!IsTransient(e.StatusCode))
            {
                throw new DcsUnavailableException($"etcd at {_urls[index]} refused {doing}: {Describe(e)}", e);
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or HttpRequestException or IOException or SocketException or InvalidOperationException)
            {
                errors.Add($"{_urls[index]}: {Describe(e)}");
            }
        }
        if (errors.Count == 0)
        {
            errors.Add($"{Describe()}: out of time");
        }
        throw new DcsUnavailableException($"etcd did not answer while {doing} ({string.Join("; ", errors)})");
    }

    /// <summary>
    /// One call to one endpoint, logged in first when the endpoint needs credentials; when etcd no
    /// longer knows the token (it expired after --auth-token-ttl idle seconds, or etcd restarted) it
    /// logs in again and repeats the call once — etcd refused the first one, so nothing was applied.
    /// </summary>
    private async Task<T> AttemptAsync<T>(int index, Func<EtcdClient, DateTime, CancellationToken, Task<T>> call, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        var session = _sessions[index];
        if (session is null)
        {
            return await call(_clients[index], deadlineUtc, cancellationToken).ConfigureAwait(false);
        }
        await session.EnsureAsync(_clients[index], deadlineUtc, cancellationToken).ConfigureAwait(false);
        try
        {
            return await call(_clients[index], deadlineUtc, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (EtcdAuthSession.NeedsAuthentication(e))
        {
            session.Forget();
            await session.EnsureAsync(_clients[index], deadlineUtc, cancellationToken).ConfigureAwait(false);
            return await call(_clients[index], deadlineUtc, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Failures another endpoint (or a later try) may not have; the rest are etcd's answer.</summary>
    private static bool IsTransient(StatusCode code) => code is StatusCode.Unavailable or StatusCode.DeadlineExceeded
        or StatusCode.Cancelled or StatusCode.Internal or StatusCode.Unknown or StatusCode.ResourceExhausted or StatusCode.Aborted;

    private static string Describe(Exception e)
    {
        var text = e switch
        {
            RpcException r when r.StatusCode == StatusCode.DeadlineExceeded => "no answer in time",
            RpcException r => $"{r.StatusCode}: {r.Status.Detail}{Cause(r.Status.DebugException)}",
            OperationCanceledException => "no answer in time",
            _ => e.Message,
        };
        text = string.Join(' ', (text ?? "").Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
        return text.Length > 200 ? text[..200] + "…" : text;
    }

    /// <summary>The innermost error behind a gRPC status ("Connection refused"), which its detail often hides.</summary>
    private static string Cause(Exception? debug)
    {
        while (debug?.InnerException is not null)
        {
            debug = debug.InnerException;
        }
        return debug is null ? "" : $" ({debug.Message})";
    }

    public void Dispose()
    {
        foreach (var channel in _ownChannels)
        {
            channel.Dispose();
        }
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }
}
