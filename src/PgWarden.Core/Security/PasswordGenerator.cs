using System.Security.Cryptography;

namespace PgWarden.Core.Security;

public static class PasswordGenerator
{
    private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    /// <summary>A random password of 32 characters (about 186 bits), safe in URLs, conninfo and YAML.</summary>
    public static string Generate(int length = 32) => RandomNumberGenerator.GetString(Alphabet, length);
}
