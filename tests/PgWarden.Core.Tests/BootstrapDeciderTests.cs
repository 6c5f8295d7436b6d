using PgWarden.Core.Ha;

namespace PgWarden.Core.Tests;

public class BootstrapDeciderTests
{
    private static PeerView Up(string name, NodeRole role) => new(name, true, role);

    private static PeerView Down(string name, NodeRole role) => new(name, false, role);

    private static T Decide<T>(string self, LocalDataState data, PeerView[] peers, string? upstream = null)
        where T : RoleDecision
    {
        var decision = BootstrapDecider.Decide(self, "pg1", data, peers, upstream);
        var typed = Assert.IsType<T>(decision);
        // The reason is shown in `status` and the log: a complete clause, not a code.
        Assert.Matches(@"^[a-z].{20,}[a-z0-9)]$", typed.Reason);
        Assert.Contains(' ', typed.Reason);
        return typed;
    }

    [Fact]
    public void EmptyBootstrapNodeWithoutPeersInitialises()
    {
        var d = Decide<RoleDecision.InitializePrimary>("pg1", LocalDataState.Empty, []);
        Assert.Contains("bootstrap node", d.Reason);
    }

    [Fact]
    public void EmptyBootstrapNodeWithPeersStoppedOrStartingInitialises()
    {
        Decide<RoleDecision.InitializePrimary>("pg1", LocalDataState.Empty,
            [Up("pg2", NodeRole.Starting), Up("pg3", NodeRole.Stopped), Up("pg1", NodeRole.Replica)]);
    }

    [Fact]
    public void EmptyNodeClonesTheOnePrimary()
    {
        var d = Decide<RoleDecision.CloneFrom>("pg2", LocalDataState.Empty, [Up("pg1", NodeRole.Replica), Up("pg3", NodeRole.Primary)]);
        Assert.Equal("pg3", d.Source);
        Assert.Contains("pg3", d.Reason);
    }

    [Fact]
    public void EmptyBootstrapNodeClonesAnExistingPrimaryInsteadOfInitialising()
    {
        var d = Decide<RoleDecision.CloneFrom>("pg1", LocalDataState.Empty, [Up("pg2", NodeRole.Primary)]);
        Assert.Equal("pg2", d.Source);
    }

    [Fact]
    public void EmptyNodeWaitsWhenTwoNodesClaimPrimary()
    {
        var d = Decide<RoleDecision.Wait>("pg3", LocalDataState.Empty, [Up("pg2", NodeRole.Primary), Up("pg1", NodeRole.Primary)]);
        Assert.Contains("pg1, pg2", d.Reason);
    }

    [Fact]
    public void EmptyNonBootstrapNodeWaitsForAPrimary()
    {
        var d = Decide<RoleDecision.Wait>("pg2", LocalDataState.Empty, [Up("pg1", NodeRole.Starting), Up("pg3", NodeRole.Replica)]);
        Assert.Contains("pg1", d.Reason);
    }

    [Fact]
    public void EmptyBootstrapNodeRefusesANewClusterWhileReplicasExist()
    {
        var d = Decide<RoleDecision.Wait>("pg1", LocalDataState.Empty, [Up("pg2", NodeRole.Replica), Up("pg3", NodeRole.Stopped)]);
        Assert.Contains("refusing", d.Reason);
    }

    [Fact]
    public void PrimaryDataWaitsWhileAnotherPrimaryRuns()
    {
        var d = Decide<RoleDecision.Wait>("pg1", LocalDataState.Primary, [Up("pg2", NodeRole.Primary), Up("pg3", NodeRole.Replica)]);
        Assert.Contains("pg2", d.Reason);
        Assert.Contains("second primary", d.Reason);
    }

    [Fact]
    public void PrimaryDataAloneStartsAsPrimary()
    {
        Decide<RoleDecision.StartPrimary>("pg2", LocalDataState.Primary, [Up("pg1", NodeRole.Replica), Up("pg3", NodeRole.Stopped)]);
        Decide<RoleDecision.StartPrimary>("pg2", LocalDataState.Primary, []);
    }

    [Fact]
    public void StandbyFollowsThePrimaryItSees()
    {
        var d = Decide<RoleDecision.StartReplica>("pg2", LocalDataState.Standby, [Up("pg1", NodeRole.Replica), Up("pg3", NodeRole.Primary)], "pg1");
        Assert.Equal("pg3", d.Upstream);
    }

    [Fact]
    public void StandbyWithoutAPrimaryFollowsItsConfiguredUpstream()
    {
        var d = Decide<RoleDecision.StartReplica>("pg2", LocalDataState.Standby, [Up("pg3", NodeRole.Replica)], "pg3");
        Assert.Equal("pg3", d.Upstream);
        Assert.Contains("as before", d.Reason);
    }

    [Fact]
    public void StandbyWithoutAPrimaryOrUpstreamFollowsTheBootstrapNode()
    {
        var d = Decide<RoleDecision.StartReplica>("pg2", LocalDataState.Standby, [Up("pg3", NodeRole.Replica)]);
        Assert.Equal("pg1", d.Upstream);
    }

    [Fact]
    public void UnreachablePeersClaimingPrimaryAreIgnored()
    {
        Decide<RoleDecision.InitializePrimary>("pg1", LocalDataState.Empty, [Down("pg2", NodeRole.Primary)]);
        Decide<RoleDecision.StartPrimary>("pg1", LocalDataState.Primary, [Down("pg2", NodeRole.Primary)]);
        Decide<RoleDecision.Wait>("pg2", LocalDataState.Empty, [Down("pg3", NodeRole.Primary)]);
        var clone = Decide<RoleDecision.CloneFrom>("pg3", LocalDataState.Empty, [Down("pg2", NodeRole.Primary), Up("pg1", NodeRole.Primary)]);
        Assert.Equal("pg1", clone.Source);
        var replica = Decide<RoleDecision.StartReplica>("pg2", LocalDataState.Standby, [Down("pg3", NodeRole.Primary)], "pg1");
        Assert.Equal("pg1", replica.Upstream);
    }

    [Fact]
    public void UnreachableReplicasDoNotBlockBootstrap()
    {
        Decide<RoleDecision.InitializePrimary>("pg1", LocalDataState.Empty, [Down("pg2", NodeRole.Replica)]);
    }

    [Fact]
    public void ANodeIgnoresItselfInThePeerList()
    {
        Decide<RoleDecision.StartPrimary>("pg1", LocalDataState.Primary, [Up("pg1", NodeRole.Primary), Up("pg2", NodeRole.Replica)]);
        Decide<RoleDecision.InitializePrimary>("pg1", LocalDataState.Empty, [Up("pg1", NodeRole.Primary)]);
    }

    [Fact]
    public void BootstrapNodeDoesNotInitialiseWhileAPeerAgentIsSilent()
    {
        // A wiped bootstrap node that cannot ask every peer must not create a second, separate cluster.
        var silent = new PeerView("pg2", false, NodeRole.Unknown, AgentAnswered: false);
        var d = Decide<RoleDecision.Wait>("pg1", LocalDataState.Empty, [silent, Up("pg3", NodeRole.Starting)]);
        Assert.Contains("pg2", d.Reason);
    }
}
