namespace PgWarden.Core.Config;

/// <summary>
/// An S3-compatible bucket. Credentials come from <see cref="CredentialsFile"/> (a 0640 file with
/// <c>access_key_id</c> and <c>secret_access_key</c> lines, readable by the postgres OS user) or, when
/// it is null, from the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables.
/// </summary>
public sealed record S3Settings(string? Endpoint, string Bucket, string Region, string Prefix, string? CredentialsFile);
