using PgWarden.Core.Install;

namespace PgWarden.Core.Tests.Install;

public sealed class SystemdQuotingTests
{
    [Theory]
    [InlineData("/opt/pgwarden/pgwarden", "/opt/pgwarden/pgwarden")]
    [InlineData("--config", "--config")]
    [InlineData("/srv/pg warden/cluster.yaml", "\"/srv/pg warden/cluster.yaml\"")]
    [InlineData("50%", "\"50%%\"")]
    [InlineData("a$HOME", "\"a$$HOME\"")]
    [InlineData("say \"hi\"", "\"say \\\"hi\\\"\"")]
    [InlineData("back\\slash", "\"back\\\\slash\"")]
    [InlineData("", "\"\"")]
    public void CommandWords(string word, string quoted) => Assert.Equal(quoted, SystemdQuoting.CommandWord(word));

    [Fact]
    public void PathListEntriesKeepTheOptionalPrefixInsideTheQuotes()
    {
        Assert.Equal("-/etc/pgdata", SystemdQuoting.PathListEntry("/etc/pgdata", optional: true));
        Assert.Equal("\"-/etc/pg data\"", SystemdQuoting.PathListEntry("/etc/pg data", optional: true));
        Assert.Equal("\"/etc/pg$x\"", SystemdQuoting.PathListEntry("/etc/pg$x", optional: false));
    }

    [Fact]
    public void ALineBreakCannotBeSmuggledIntoAUnit()
    {
        Assert.Throws<ArgumentException>(() => SystemdQuoting.CommandWord("x\nExecStartPre=/bin/rm"));
        Assert.Throws<ArgumentException>(() => SystemdQuoting.Text("a\rb"));
    }
}
