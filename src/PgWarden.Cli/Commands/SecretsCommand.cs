using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden secrets export --role node|pooler|etcd [--name NAME] --output DIR`: writes the files one
/// host needs, cut from the cluster's full secrets (<see cref="SecretsExport"/>, docs/secrets.md).
/// </summary>
public static class SecretsCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var role = new Option<string>("--role") { Description = "the host the files are for: node, pooler or etcd", Required = true };
        role.AcceptOnlyFromAmong("node", "pooler", "etcd");
        var name = new Option<string?>("--name") { Description = "the node (--role node), pooler (--role pooler) or etcd member (--role etcd, as `install --role etcd` names it) the files are for" };
        var output = new Option<string>("--output", "-o") { Description = "directory to write the files into (created 0700; files 0600)", Required = true };
        var export = new Command("export", "write the secrets one host needs (node, pooler or etcd) into a directory") { config, dir, role, name, output };
        CommandAction.Set(export, (p, _) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var target = Path.GetFullPath(p.GetValue(output)!);
            if (Path.GetFullPath(Path.Combine(target, "secrets.yaml")) == Path.GetFullPath(cluster.SecretsFile))
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused,
                    $"--output {target} is the cluster's own directory: the export would replace the full {cluster.SecretsFile}; choose another directory");
            }
            var hostRole = Enum.Parse<SecretsRole>(p.GetValue(role)!, ignoreCase: true);
            var full = ClusterSecrets.Load(cluster.SecretsFile);
            var serverUser = PgWarden.Postgres.Os.OsUser.ServerUser(cluster.Postgres.OsUser);
            var files = SecretsExport.Write(cluster, full, hostRole, p.GetValue(name), target, (serverUser.Uid, serverUser.Gid));
            var host = hostRole == SecretsRole.Etcd
                ? p.GetValue(name) is { } member ? $"the host of etcd member {member}" : "each etcd host"
                : $"the host of {hostRole.ToString().ToLowerInvariant()} {p.GetValue(name)}";
            Console.WriteLine($"wrote {files.Count} files for {host} (secrets and private keys mode 0600):");
            foreach (var file in files)
            {
                Console.WriteLine(file.PlaceAt is null ? $"  {file.Path}" : $"  {file.Path}  (the configuration names it {file.PlaceAt}: put it there)");
            }
            Console.WriteLine("copy them to that host's configuration directory (next to cluster.yaml); see docs/secrets.md");
            return Task.FromResult(0);
        });
        return new Command("secrets", "the cluster's secrets, per host role (docs/secrets.md)") { export };
    }
}
