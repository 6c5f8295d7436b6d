using System.Security.Cryptography;
using System.Text;

namespace PgWarden.Core.Security;

/// <summary>
/// Computes a PostgreSQL SCRAM-SHA-256 verifier ("SCRAM-SHA-256$iter:salt$StoredKey:ServerKey").
/// PgWarden sets role passwords with these pre-hashed secrets, so the plaintext never reaches the
/// server (or its DDL log), and PgBouncer's userlist holds the same secret for SCRAM pass-through.
/// </summary>
public static class ScramSecret
{
    public const int DefaultIterations = 4096;

    public static string Compute(string password, byte[]? salt = null, int iterations = DefaultIterations)
    {
        salt ??= RandomNumberGenerator.GetBytes(16);
        // PostgreSQL applies SASLprep; generated passwords are plain ASCII, for which it is the identity.
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
    }

    /// <summary>
    /// The secret PgWarden gives a role: the salt is derived from the role and its password, so every
    /// agent and pooler computes the same verifier without sharing it — which PgBouncer's SCRAM
    /// pass-through needs (its userlist secret must equal the server's).
    /// </summary>
    public static string ForRole(string role, string password)
    {
        var salt = HMACSHA256.HashData(Encoding.UTF8.GetBytes(password), Encoding.UTF8.GetBytes("pgwarden-scram-salt:" + role))[..16];
        return Compute(password, salt);
    }

    /// <summary>True when <paramref name="password"/> matches <paramref name="secret"/>.</summary>
    public static bool Verify(string password, string secret)
    {
        var parts = secret.Split('$', ':');
        if (parts.Length != 5 || parts[0] != "SCRAM-SHA-256" || !int.TryParse(parts[1], out var iterations))
        {
            return false;
        }
        return Compute(password, Convert.FromBase64String(parts[2]), iterations) == secret;
    }
}
