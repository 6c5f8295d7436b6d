namespace PgWarden.Core.Dcs;

/// <summary>The DCS did not answer in time or refused; the caller treats it as "cannot know".</summary>
public sealed class DcsUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
