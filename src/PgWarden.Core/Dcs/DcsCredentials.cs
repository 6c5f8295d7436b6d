namespace PgWarden.Core.Dcs;

/// <summary>
/// An etcd user and its password, for etcd v3 authentication (etcd's Authenticate RPC). The password
/// never appears in <see cref="ToString"/>, so a logged record cannot leak it.
/// </summary>
public sealed record DcsCredentials(string User, string Password)
{
    public override string ToString() => $"etcd user {User}";
}
