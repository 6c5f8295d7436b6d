namespace PgWarden.Dcs;

/// <summary>The key layout of one cluster in etcd, all under <c>/pgwarden/&lt;cluster&gt;/</c>.</summary>
internal sealed class EtcdKeys
{
    public EtcdKeys(string cluster)
    {
        Prefix = $"/pgwarden/{cluster}/";
        // The smallest key greater than every key with the prefix: its last byte plus one ('/' + 1 = '0').
        PrefixEnd = Prefix[..^1] + (char)(Prefix[^1] + 1);
    }

    public string Prefix { get; }

    public string PrefixEnd { get; }

    public string Leader => Prefix + "leader";

    public string MembersPrefix => Prefix + "members/";

    public string Initialize => Prefix + "initialize";

    public string Config => Prefix + "config";

    public string Failover => Prefix + "failover";

    public string History => Prefix + "history";

    public string Sync => Prefix + "sync";

    /// <summary>The leader's last WAL position; no lease, so it outlives a crashed leader.</summary>
    public string Optime => Prefix + "optime";

    public string Member(string node) => MembersPrefix + node;

    public string BackupsPrefix => Prefix + "backups/";

    /// <summary>The last scheduled backup of <paramref name="kind"/>; no lease, so a new leader sees it.</summary>
    public string ScheduledBackup(string kind) => BackupsPrefix + kind;
}
