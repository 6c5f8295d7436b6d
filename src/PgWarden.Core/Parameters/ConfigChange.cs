namespace PgWarden.Core.Parameters;

/// <summary>One line of the difference `config apply` shows before it asks: a setting, its value now and after, and how it takes effect.</summary>
/// <param name="From">The value in effect now (the DCS setting, or the parameter as the primary runs it).</param>
/// <param name="To">The new value; null when a parameter is removed from the DCS (the configuration file's or computed value applies again).</param>
public sealed record ConfigChange(string Name, string From, string? To, ParameterEffect Effect)
{
    public string Describe()
    {
        var how = Effect switch
        {
            ParameterEffect.Dcs => "DCS setting",
            ParameterEffect.Reload => "reload",
            _ => "restart needed",
        };
        return $"{Name}: {From} → {To ?? "(removed: the configuration file's or computed value)"}    [{how}]";
    }
}
