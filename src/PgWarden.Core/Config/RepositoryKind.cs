namespace PgWarden.Core.Config;

public enum RepositoryKind
{
    Fs,
    S3,
}
