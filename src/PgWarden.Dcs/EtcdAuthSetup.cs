using Authpb;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using PgWarden.Core.Dcs;
using PgWarden.Core.Security;

namespace PgWarden.Dcs;

/// <summary>
/// Switches etcd v3 authentication on for one cluster, the way etcd's guide does it
/// (https://etcd.io/docs/v3.4/op-guide/authentication/): the user <c>root</c> with the role
/// <c>root</c>, a role with readwrite permission on the cluster's prefix only and its user (agents,
/// watchdogs, CLI), a role with read permission and its user (poolers), then AuthEnable. Idempotent:
/// run again (every start of the embedded etcd) it sets the passwords from the secrets and changes
/// nothing else. Passwords go to etcd in the request body only, never on a command line.
/// </summary>
public static class EtcdAuthSetup
{
    /// <summary>The passwords of etcd's root and of the two PgWarden users.</summary>
    public sealed record Passwords(string Root, string Agent, string Pooler)
    {
        public override string ToString() => "Passwords(…)";
    }

    /// <summary>
    /// Creates the roles and users of <paramref name="cluster"/> and enables authentication on the
    /// etcd at <paramref name="endpoint"/>. Throws <see cref="DcsUnavailableException"/> when etcd does
    /// not answer within <paramref name="timeout"/> per step, or refuses (e.g. an enabled etcd whose root
    /// password is not the one given).
    /// </summary>
    public static async Task EnableAsync(string endpoint, string cluster, Passwords passwords, TimeSpan timeout, CancellationToken cancellationToken, DcsTls? tls = null)
    {
        using var etcd = new EtcdEndpoints([endpoint], timeout, credentials: new DcsCredentials(EtcdAuthNames.RootUser, passwords.Root), tls: tls);
        Task Step<T>(string doing, Func<dotnet_etcd.EtcdClient, DateTime, CancellationToken, Task<T>> call) =>
            etcd.CallAsync(doing, DateTime.UtcNow + timeout, call, cancellationToken);

        await AddRoleAsync(etcd, EtcdAuthNames.RootRole, timeout, cancellationToken).ConfigureAwait(false);
        await SetUserAsync(etcd, EtcdAuthNames.RootUser, passwords.Root, EtcdAuthNames.RootRole, timeout, cancellationToken).ConfigureAwait(false);

        var prefix = ByteString.CopyFromUtf8(EtcdAuthNames.Prefix(cluster));
        var keys = new EtcdKeys(cluster);
        var prefixEnd = ByteString.CopyFromUtf8(keys.PrefixEnd);
        foreach (var (role, type) in new[]
        {
            (EtcdAuthNames.ReadWriteRole(cluster), Permission.Types.Type.Readwrite),
            (EtcdAuthNames.ReadOnlyRole(cluster), Permission.Types.Type.Read),
        })
        {
            await AddRoleAsync(etcd, role, timeout, cancellationToken).ConfigureAwait(false);
            await Step($"granting role {role} its permission on {EtcdAuthNames.Prefix(cluster)}", (c, d, t) => c.RoleGrantPermissionAsync(new AuthRoleGrantPermissionRequest
            {
                Name = role,
                Perm = new Permission { Key = prefix, RangeEnd = prefixEnd, PermType = type },
            }, null, d, t)).ConfigureAwait(false);
        }
        await SetUserAsync(etcd, EtcdAuthNames.AgentUser(cluster), passwords.Agent, EtcdAuthNames.ReadWriteRole(cluster), timeout, cancellationToken).ConfigureAwait(false);
        await SetUserAsync(etcd, EtcdAuthNames.PoolerUser(cluster), passwords.Pooler, EtcdAuthNames.ReadOnlyRole(cluster), timeout, cancellationToken).ConfigureAwait(false);
        await Step("enabling authentication", (c, d, t) => c.AuthEnableAsync(new AuthEnableRequest(), null, d, t)).ConfigureAwait(false);
    }

    private static async Task AddRoleAsync(EtcdEndpoints etcd, string role, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await etcd.CallAsync($"adding role {role}", DateTime.UtcNow + timeout, async (c, d, t) =>
        {
            try
            {
                await c.RoleAddAsync(new AuthRoleAddRequest { Name = role }, null, d, t).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.Status.Detail.Contains("role name already exists", StringComparison.Ordinal))
            {
            }
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task SetUserAsync(EtcdEndpoints etcd, string user, string password, string role, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var existed = await etcd.CallAsync($"adding etcd user {user}", DateTime.UtcNow + timeout, async (c, d, t) =>
        {
            try
            {
                await c.UserAddAsync(new AuthUserAddRequest { Name = user, Password = password }, null, d, t).ConfigureAwait(false);
                return false;
            }
            catch (RpcException e) when (e.Status.Detail.Contains("user name already exists", StringComparison.Ordinal))
            {
                return true;
            }
        }, cancellationToken).ConfigureAwait(false);
        // A password change ends every token of that user (root's included, which this setup runs
        // with): change it only when the one in the secrets does not log in.
        if (existed && !await LogsInAsync(etcd, user, password, timeout, cancellationToken).ConfigureAwait(false))
        {
            await etcd.CallAsync($"setting the password of etcd user {user}", DateTime.UtcNow + timeout,
                (c, d, t) => c.UserChangePasswordAsync(new AuthUserChangePasswordRequest { Name = user, Password = password }, null, d, t), cancellationToken).ConfigureAwait(false);
        }
        await etcd.CallAsync($"granting etcd user {user} the role {role}", DateTime.UtcNow + timeout,
            (c, d, t) => c.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = user, Role = role }, null, d, t), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True when etcd accepts the password (false also while authentication is off: nothing to compare then).</summary>
    private static Task<bool> LogsInAsync(EtcdEndpoints etcd, string user, string password, TimeSpan timeout, CancellationToken cancellationToken) =>
        etcd.CallAsync($"checking the password of etcd user {user}", DateTime.UtcNow + timeout, async (c, d, t) =>
        {
            try
            {
                await c.AuthenticateAsync(new AuthenticateRequest { Name = user, Password = password }, null, d, t).ConfigureAwait(false);
                return true;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition)
            {
                return false;
            }
        }, cancellationToken);
}
