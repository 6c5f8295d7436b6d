using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Core.Interceptors;
using PgWarden.Core.Dcs;

namespace PgWarden.Dcs;

/// <summary>
/// etcd v3 authentication for one endpoint: logs in with the user's password (Authenticate RPC),
/// keeps the token it gets and adds it to every call as the gRPC metadata header <c>token</c> (what
/// etcd 3.4 reads). etcd forgets a simple token after <c>--auth-token-ttl</c> (300 s) without use and
/// on a restart; the caller then sees <see cref="NeedsAuthentication"/> and calls <see cref="Forget"/>
/// and <see cref="EnsureAsync"/> again. dotnet-etcd's own automatic authentication caches a token
/// for a fixed time, cannot be attached to a client built on a CallInvoker (the one that binds the
/// node's source address), and does not log in again when etcd forgets a token — hence this class.
/// </summary>
internal sealed class EtcdAuthSession(string url, DcsCredentials credentials) : Interceptor
{
    private const string TokenHeader = "token";
    private const string AuthenticateMethod = "/etcdserverpb.Auth/Authenticate";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile string? _token;
    private volatile bool _authDisabled;

    public DcsCredentials Credentials => credentials;

    /// <summary>
    /// Logs in unless a token is in hand (or etcd said authentication is off). Throws
    /// <see cref="DcsUnavailableException"/> when etcd refuses the user or password, and lets a
    /// transport failure (<see cref="RpcException"/>) through for the caller's retry rules.
    /// </summary>
    public async Task EnsureAsync(EtcdClient client, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        if (_token is not null || _authDisabled)
        {
            return;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is not null || _authDisabled)
            {
                return;
            }
            try
            {
                var response = await client.AuthenticateAsync(
                    new AuthenticateRequest { Name = credentials.User, Password = credentials.Password }, null, deadlineUtc, cancellationToken).ConfigureAwait(false);
                _token = response.Token;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition && e.Status.Detail.Contains("authentication is not enabled", StringComparison.Ordinal))
            {
                // An etcd without authentication (a cluster from before, or a user's own etcd): go on
                // without a token; a "user name is empty" answer later means it was switched on.
                _authDisabled = true;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.FailedPrecondition)
            {
                throw new DcsUnavailableException($"etcd at {url} refused the login of etcd user {credentials.User}: {e.Status.Detail}", e);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Drops the token (etcd no longer knows it) so the next <see cref="EnsureAsync"/> logs in again.</summary>
    public void Forget()
    {
        _token = null;
        _authDisabled = false;
    }

    /// <summary>
    /// True for etcd's answers to a call whose token it does not know: "invalid auth token"
    /// (Unauthenticated: expired or etcd restarted) and "user name is empty" (no token, but
    /// authentication is on).
    /// </summary>
    public static bool NeedsAuthentication(RpcException e) =>
        e.StatusCode == StatusCode.Unauthenticated
        || (e.StatusCode == StatusCode.InvalidArgument && e.Status.Detail.Contains("user name is empty", StringComparison.Ordinal));

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest2, TResponse>(TRequest2 request,
        ClientInterceptorContext<TRequest2, TResponse> context, AsyncUnaryCallContinuation<TRequest2, TResponse> continuation) =>
        continuation(request, WithToken(context));

    public override TResponse BlockingUnaryCall<TRequest2, TResponse>(TRequest2 request,
        ClientInterceptorContext<TRequest2, TResponse> context, BlockingUnaryCallContinuation<TRequest2, TResponse> continuation) =>
        continuation(request, WithToken(context));

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest2, TResponse>(TRequest2 request,
        ClientInterceptorContext<TRequest2, TResponse> context, AsyncServerStreamingCallContinuation<TRequest2, TResponse> continuation) =>
        continuation(request, WithToken(context));

    public override AsyncClientStreamingCall<TRequest2, TResponse> AsyncClientStreamingCall<TRequest2, TResponse>(
        ClientInterceptorContext<TRequest2, TResponse> context, AsyncClientStreamingCallContinuation<TRequest2, TResponse> continuation) =>
        continuation(WithToken(context));

    public override AsyncDuplexStreamingCall<TRequest2, TResponse> AsyncDuplexStreamingCall<TRequest2, TResponse>(
        ClientInterceptorContext<TRequest2, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest2, TResponse> continuation) =>
        continuation(WithToken(context));

    private ClientInterceptorContext<TRequest2, TResponse> WithToken<TRequest2, TResponse>(ClientInterceptorContext<TRequest2, TResponse> context)
        where TRequest2 : class
        where TResponse : class
    {
        var token = _token;
        // Authenticate goes without a token: etcd 3.4 rejects a login that carries a stale one.
        if (token is null || context.Method.FullName == AuthenticateMethod)
        {
            return context;
        }
        var headers = new Metadata();
        foreach (var entry in context.Options.Headers ?? [])
        {
            if (!string.Equals(entry.Key, TokenHeader, StringComparison.OrdinalIgnoreCase))
            {
                headers.Add(entry);
            }
        }
        headers.Add(TokenHeader, token);
        return new ClientInterceptorContext<TRequest2, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
    }
}
