using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using PgWarden.Core.Security;

namespace PgWarden.Core.Tests;

public class ScramSecretTests
{
    private const string SecretPattern = @"^SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$";

    // RFC 7677 section 3: user "user", password "pencil", this salt and 4096 iterations.
    private const string RfcSalt = "W22ZaJ0SNY7soEsUEjb6gQ==";
    private const string RfcNonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private const string RfcClientProof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private const string RfcServerSignature = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    private static (byte[] Salt, byte[] StoredKey, byte[] ServerKey) Split(string secret)
    {
        var m = Regex.Match(secret, SecretPattern);
        Assert.True(m.Success, secret);
        return (Convert.FromBase64String(m.Groups[1].Value), Convert.FromBase64String(m.Groups[2].Value),
            Convert.FromBase64String(m.Groups[3].Value));
    }

    [Fact]
    public void HasPostgresVerifierFormat()
    {
        var (salt, storedKey, serverKey) = Split(ScramSecret.Compute("s3cret"));

        Assert.Equal(16, salt.Length);
        Assert.Equal(32, storedKey.Length);
        Assert.Equal(32, serverKey.Length);
    }

    [Fact]
    public void RandomSaltDiffersEachTime()
    {
        Assert.NotEqual(Split(ScramSecret.Compute("s3cret")).Salt, Split(ScramSecret.Compute("s3cret")).Salt);
    }

    [Fact]
    public void VerifiesOnlyTheRightPassword()
    {
        var secret = ScramSecret.Compute("correct horse");

        Assert.True(ScramSecret.Verify("correct horse", secret));
        Assert.False(ScramSecret.Verify("correct horse ", secret));
        Assert.False(ScramSecret.Verify("Correct horse", secret));
        Assert.False(ScramSecret.Verify("", secret));
    }

    [Theory]
    [InlineData("")]
    [InlineData("md5abc")]
    [InlineData("SCRAM-SHA-1$4096:c2FsdA==$YQ==:Yg==")]
    [InlineData("SCRAM-SHA-256$many:c2FsdA==$YQ==:Yg==")]
    [InlineData("SCRAM-SHA-256$4096:c2FsdA==$YQ==")]
    public void MalformedSecretsDoNotVerify(string secret)
    {
        Assert.False(ScramSecret.Verify("pencil", secret));
    }

    [Fact]
    public void ForRoleIsDeterministicPerRoleAndPassword()
    {
        var a = ScramSecret.ForRole("bookreader_app", "pw-1");

        Assert.Equal(a, ScramSecret.ForRole("bookreader_app", "pw-1"));
        Assert.NotEqual(a, ScramSecret.ForRole("replicator", "pw-1"));
        Assert.NotEqual(a, ScramSecret.ForRole("bookreader_app", "pw-2"));
        Assert.NotEqual(Split(a).Salt, Split(ScramSecret.ForRole("replicator", "pw-1")).Salt);
        Assert.True(ScramSecret.Verify("pw-1", a));
        Assert.Matches(SecretPattern, a);
    }

    [Fact]
    public void ForRoleSaltIsTheDocumentedHmac()
    {
        var expectedSalt = HMACSHA256.HashData("pw-1"u8.ToArray(), "pgwarden-scram-salt:replicator"u8.ToArray())[..16];

        Assert.Equal(expectedSalt, Split(ScramSecret.ForRole("replicator", "pw-1")).Salt);
    }

    [Fact]
    public void KeysFollowRfc5802Definitions()
    {
        var salt = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");
        var salted = Rfc2898DeriveBytes.Pbkdf2("pencil"u8, salt, 4096, HashAlgorithmName.SHA256, 32);
        var storedKey = SHA256.HashData(HMACSHA256.HashData(salted, Encoding.ASCII.GetBytes("Client Key")));
        var serverKey = HMACSHA256.HashData(salted, Encoding.ASCII.GetBytes("Server Key"));

        Assert.Equal(
            $"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}",
            ScramSecret.Compute("pencil", salt));
    }

    [Fact]
    public void MatchesTheRfc7677Exchange()
    {
        // The verifier for "pencil" must accept the RFC's client proof and produce its server signature.
        var (salt, storedKey, serverKey) = Split(ScramSecret.Compute("pencil", Convert.FromBase64String(RfcSalt)));
        Assert.Equal(RfcSalt, Convert.ToBase64String(salt));
        var authMessage = Encoding.ASCII.GetBytes(
            $"n=user,r=rOprNGfwEbeRWgbNEkqO,r={RfcNonce},s={RfcSalt},i=4096,c=biws,r={RfcNonce}");

        Assert.Equal(RfcServerSignature, Convert.ToBase64String(HMACSHA256.HashData(serverKey, authMessage)));

        var clientSignature = HMACSHA256.HashData(storedKey, authMessage);
        var proof = Convert.FromBase64String(RfcClientProof);
        var clientKey = proof.Select((b, i) => (byte)(b ^ clientSignature[i])).ToArray();
        Assert.Equal(storedKey, SHA256.HashData(clientKey));
    }

    [Fact]
    public void IterationsAreRecorded()
    {
        var secret = ScramSecret.Compute("pencil", Convert.FromBase64String(RfcSalt), 1000);

        Assert.StartsWith($"SCRAM-SHA-256$1000:{RfcSalt}$", secret);
        Assert.True(ScramSecret.Verify("pencil", secret));
        Assert.NotEqual(ScramSecret.Compute("pencil", Convert.FromBase64String(RfcSalt)), secret);
    }
}
