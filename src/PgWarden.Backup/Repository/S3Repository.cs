using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Repository;

/// <summary>
/// A repository in an S3-compatible bucket (path-style, custom endpoint). Objects are single PUTs
/// (atomic by S3's semantics); put-if-absent is a HEAD then a PUT with <c>If-None-Match: *</c>.
/// Metadata is stored as <c>x-amz-meta-*</c>. Bodies are sent unchunked and without trailing
/// checksums (some S3-compatible servers store aws-chunked bodies verbatim); PgWarden checks its
/// own SHA-256 of every object instead.
/// </summary>
public sealed class S3Repository : IBackupRepository, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly S3Settings _settings;

    public S3Repository(S3Settings settings)
    {
        _settings = settings;
        var (accessKey, secretKey) = S3Credentials.Load(settings);
        var config = new AmazonS3Config
        {
            ForcePathStyle = true,
            AuthenticationRegion = settings.Region,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 3,
            Timeout = TimeSpan.FromMinutes(5),
        };
        if (settings.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(settings.Region);
        }
        _client = new AmazonS3Client(new BasicAWSCredentials(accessKey, secretKey), config);
    }

    public string Description => $"s3://{_settings.Bucket}/{_settings.Prefix}";

    private string FullKey(string key) => _settings.Prefix.Length == 0 ? key : $"{_settings.Prefix}/{key}";

    private string RelativeKey(string fullKey) => _settings.Prefix.Length == 0 ? fullKey : fullKey[(_settings.Prefix.Length + 1)..];

    public async Task<bool> PutIfAbsentAsync(string key, Stream content, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        if (await ExistsAsync(key, cancellationToken))
        {
            return false;
        }
        // An unchunked PUT needs the length up front: spool a non-seekable stream to a temp file.
        string? spool = null;
        var body = content;
        try
        {
            if (!content.CanSeek)
            {
                spool = LocalStaging.NewPath(Path.GetTempPath(), LocalStaging.S3Spool);
                var file = new FileStream(spool, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20, FileOptions.DeleteOnClose);
                await content.CopyToAsync(file, 1 << 20, cancellationToken);
                file.Position = 0;
                body = file;
            }
            var request = new PutObjectRequest
            {
                BucketName = _settings.Bucket,
                Key = FullKey(key),
                InputStream = body,
                AutoCloseStream = false,
                UseChunkEncoding = false,
                IfNoneMatch = "*",
            };
            foreach (var (k, v) in metadata)
            {
                request.Metadata[k.ToLowerInvariant()] = v;
            }
            try
            {
                await _client.PutObjectAsync(request, cancellationToken);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                return false;
            }
            return true;
        }
        catch (AmazonServiceException e)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"S3 upload of {key} to {Description} failed: {e.Message}");
        }
        finally
        {
            if (spool is not null)
            {
                await body.DisposeAsync();
            }
        }
    }

    public async Task<Stream> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _client.GetObjectAsync(_settings.Bucket, FullKey(key), cancellationToken);
            return response.ResponseStream;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new FileNotFoundException($"{key} is not in {Description}", key);
        }
        catch (AmazonServiceException e)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"S3 download of {key} from {Description} failed: {e.Message}");
        }
    }

    public async Task<RepositoryObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var head = await _client.GetObjectMetadataAsync(_settings.Bucket, FullKey(key), cancellationToken);
            var meta = new Dictionary<string, string>();
            foreach (var k in head.Metadata.Keys)
            {
                var name = k.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase) ? k["x-amz-meta-".Length..] : k;
                meta[name.ToLowerInvariant()] = head.Metadata[k];
            }
            return new RepositoryObject(key, head.ContentLength, head.LastModified ?? DateTime.UtcNow, meta);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (AmazonServiceException e)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"S3 request for {key} in {Description} failed: {e.Message}");
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) =>
        await StatAsync(key, cancellationToken) is not null;

    public async Task<IReadOnlyList<RepositoryObject>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var result = new List<RepositoryObject>();
        var request = new ListObjectsV2Request { BucketName = _settings.Bucket, Prefix = FullKey(prefix) };
        try
        {
            while (true)
            {
                var response = await _client.ListObjectsV2Async(request, cancellationToken);
                foreach (var o in response.S3Objects ?? [])
                {
                    result.Add(new RepositoryObject(RelativeKey(o.Key), o.Size ?? 0, o.LastModified ?? DateTime.UtcNow, new Dictionary<string, string>()));
                }
                if (response.IsTruncated != true)
                {
                    break;
                }
                request.ContinuationToken = response.NextContinuationToken;
            }
        }
        catch (AmazonServiceException e)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"S3 listing of {prefix} in {Description} failed: {e.Message}");
        }
        result.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return result;
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await _client.DeleteObjectAsync(_settings.Bucket, FullKey(key), cancellationToken);
        }
        catch (AmazonServiceException e)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"S3 delete of {key} in {Description} failed: {e.Message}");
        }
    }

    public async Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        foreach (var o in await ListAsync(prefix, cancellationToken))
        {
            await DeleteAsync(o.Key, cancellationToken);
        }
    }

    public void Dispose() => _client.Dispose();
}
