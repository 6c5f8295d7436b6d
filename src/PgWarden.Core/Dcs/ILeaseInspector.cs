namespace PgWarden.Core.Dcs;

/// <summary>A DCS that can describe a lease, for diagnosis only (the HA loop never decides on it).</summary>
public interface ILeaseInspector
{
    /// <summary>
    /// What the store says of <paramref name="lease"/> now — its seconds left and its keys, or that it is
    /// gone (revoked or expired) — or null when the store cannot tell. Throws <see cref="DcsUnavailableException"/>
    /// when the store cannot be reached.
    /// </summary>
    Task<string?> DescribeLeaseAsync(long lease, CancellationToken cancellationToken);
}
