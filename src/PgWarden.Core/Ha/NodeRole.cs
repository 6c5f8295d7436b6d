namespace PgWarden.Core.Ha;

public enum NodeRole
{
    Unknown,
    Starting,
    Primary,
    Replica,
    Stopped,
}
