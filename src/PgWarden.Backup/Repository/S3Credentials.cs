using PgWarden.Core.Config;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Repository;

/// <summary>
/// Reads S3 keys from the configured credentials file (lines <c>access_key_id = …</c> and
/// <c>secret_access_key = …</c>; '#' comments) or from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
/// The values are never logged or put in messages.
/// </summary>
public static class S3Credentials
{
    public static (string AccessKey, string SecretKey) Load(S3Settings settings)
    {
        if (settings.CredentialsFile is { } file)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PgWardenException(ExitCodes.ConfigError,
                    $"cannot read the S3 credentials file {file} ({e.GetType().Name}); it must exist and be readable by the postgres OS user (chown root:postgres, chmod 0640)");
            }
            var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var raw in lines)
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }
                var sep = line.IndexOfAny(['=', ':']);
                if (sep > 0)
                {
                    values[line[..sep].Trim()] = line[(sep + 1)..].Trim().Trim('"');
                }
            }
            if (!values.TryGetValue("access_key_id", out var access) || !values.TryGetValue("secret_access_key", out var secret) || access.Length == 0 || secret.Length == 0)
            {
                throw new PgWardenException(ExitCodes.ConfigError, $"S3 credentials file {file} must have access_key_id and secret_access_key lines");
            }
            return (access, secret);
        }
        var envAccess = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID");
        var envSecret = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY");
        if (string.IsNullOrEmpty(envAccess) || string.IsNullOrEmpty(envSecret))
        {
            throw new PgWardenException(ExitCodes.ConfigError,
                "backup.repository has no credentials_file and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set (archive_command runs without your environment: use credentials_file)");
        }
        return (envAccess, envSecret);
    }
}
