namespace PgWarden.Monitoring.Checks;

public enum CheckStatus
{
    Ok,
    Warn,
    Fail,
}
