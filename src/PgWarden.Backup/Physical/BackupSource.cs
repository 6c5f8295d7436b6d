using Npgsql;
using PgWarden.Core.Config;

namespace PgWarden.Backup.Physical;

/// <summary>
/// The node a backup is taken from and how to reach it: a superuser SQL connection to it and to the
/// primary (for pg_switch_wal), and the replication passfile pg_basebackup reads.
/// </summary>
public sealed record BackupSource(ClusterConfig Cluster, NodeConfig Node, NpgsqlDataSource NodeSql, NpgsqlDataSource PrimarySql, string PassFile);
