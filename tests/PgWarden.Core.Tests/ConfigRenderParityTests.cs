using PgWarden.Agent;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Config;
using PgWarden.Core.Security;
using PgWarden.Postgres.Os;

namespace PgWarden.Core.Tests;

/// <summary>
/// Issue 13 item 6: `config render` prints exactly what the agent writes. The preview (the CLI's
/// <see cref="ConfigPreview"/>) is compared with the files the agent's own path — <see cref="AgentContext.RenderContext"/>
/// then <c>PostgresNode.WriteConfiguration</c> — writes into a data directory, for the same configuration.
/// </summary>
public sealed class ConfigRenderParityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-render-").FullName;

    private ClusterConfig Cluster() => ConfigLoader.Parse($"""
        cluster: parity
        postgres: {"{"} max_connections: 150, parameters: {"{"} work_mem: 8MB {"}"} {"}"}
        hardware: {"{"} ram: 8GB, cpus: 2, storage: hdd {"}"}
        tls: disabled
        nodes:
          - {"{"} name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 {"}"}
          - {"{"} name: pg2, address: 127.0.0.2, port: 5532, api_port: 8008 {"}"}
        backup:
          repository: {"{"} type: fs, path: {_dir}/repo {"}"}
        """, Path.Combine(_dir, "cluster.yaml"), _dir);

    [Theory]
    [InlineData("pg1", null)]
    [InlineData("pg2", "pg1")]
    public async Task PreviewEqualsWhatTheAgentWrites(string nodeName, string? upstreamName)
    {
        var cluster = Cluster();
        var node = cluster.Node(nodeName);
        var upstream = upstreamName is null ? null : cluster.Node(upstreamName);

        await using (var agent = new AgentContext(cluster, node, ClusterSecrets.Generate(), dcs: null!))
        {
            Directory.CreateDirectory(node.DataDir);
            agent.Postgres.WriteConfiguration(agent.RenderContext(upstream), standby: upstream is not null);
        }
        var preview = ConfigPreview.NodeFiles(cluster, node, upstream);

        Assert.Equal(["postgresql.conf", "pg_hba.conf", "pg_ident.conf"], preview.Select(f => f.Name));
        foreach (var file in preview)
        {
            Assert.Equal(File.ReadAllText(Path.Combine(node.DataDir, file.Name)), file.Content);
        }
        var conf = preview[0].Content;
        Assert.Contains("archive_command = ", conf);
        Assert.Contains("max_connections = 150", conf);
        Assert.Contains(OsUser.ServerUser(cluster.Postgres.OsUser).Name, preview[2].Content);
    }

    [Fact]
    public void PreviewNamesTheCopyTheAgentMakesOfAProgramTheServerUserCannotReach()
    {
        var hidden = Path.Combine(_dir, "private");
        Directory.CreateDirectory(hidden);
        File.SetUnixFileMode(hidden, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var program = Path.Combine(hidden, "pgwarden");
        File.WriteAllText(program, "#!/bin/sh\n");
        var postgres = OsUser.Lookup("postgres");
        if (OsUser.Current().Uid == postgres.Uid)
        {
            return; // the server user owns the directory: nothing to copy, nothing to compare
        }

        var previewed = ServerReachableTool.Where(program, postgres, _dir);
        Assert.False(File.Exists(previewed), "the preview must not copy anything");
        var resolved = ServerReachableTool.Resolve(program, postgres, _dir);

        Assert.Equal(Path.Combine(_dir, "tool", "pgwarden"), previewed);
        Assert.Equal(resolved, previewed);
        Assert.True(File.Exists(resolved));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
