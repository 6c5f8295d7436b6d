using System.Text;
using System.Text.Json;
using PgWarden.Backup.Repository;
using PgWarden.Core.Errors;
using PgWarden.Core.Processes;

namespace PgWarden.Backup.Catalog;

/// <summary>
/// One running backup of a kind at a time per database system: an object
/// <c>&lt;cluster&gt;/&lt;system-id&gt;/locks/&lt;name&gt;.json</c> created with put-if-absent (so two
/// backups racing for it cannot both win), naming the backup id, host and PID; deleted when the
/// backup ends, however it ends. A lock whose process is gone (same host) or older than
/// <see cref="MaxAge"/> is stale and taken over.
/// </summary>
public sealed class RepositoryLock : IAsyncDisposable
{
    /// <summary>Longer than any backup may run (the tools' 24 h limit).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromHours(25);

    private readonly IBackupRepository _repository;

    private RepositoryLock(IBackupRepository repository, string key, Holder holder)
    {
        _repository = repository;
        Key = key;
        Owner = holder;
    }

    public string Key { get; }

    public Holder Owner { get; }

    /// <summary>Who holds a lock: the backup id, host name, PID and start time.</summary>
    public sealed record Holder(string Id, string Host, int Pid, DateTimeOffset Started);

    public static string KeyOf(RepositoryLayout layout, string name) => $"{layout.Root}/locks/{name}.json";

    /// <summary>Takes the lock <paramref name="name"/> for backup <paramref name="id"/>; throws (exit 4) naming the holder when another live backup has it.</summary>
    public static async Task<RepositoryLock> AcquireAsync(IBackupRepository repository, RepositoryLayout layout, string name, string id, Action<string> output, CancellationToken ct)
    {
        var key = KeyOf(layout, name);
        var me = new Holder(id, Environment.MachineName, Environment.ProcessId, DateTimeOffset.UtcNow);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var body = new MemoryStream(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(me, BackupManifest.Json)));
            if (await repository.PutIfAbsentAsync(key, body, new Dictionary<string, string>(), ct))
            {
                return new RepositoryLock(repository, key, me);
            }
            var holder = await ReadAsync(repository, key, ct);
            if (holder is not null && !IsStale(holder, DateTimeOffset.UtcNow))
            {
                throw new PgWardenException(ExitCodes.AlreadyRunning,
                    $"another {name} backup ({holder.Id}, PID {holder.Pid} on {holder.Host}, since {holder.Started:yyyy-MM-dd HH:mm:ss}Z) is running in {repository.Description}; wait for it to finish (if that process is gone, delete {key})");
            }
            output($"taking over the stale lock {key} ({(holder is null ? "unreadable" : $"backup {holder.Id}, PID {holder.Pid} on {holder.Host} is gone")})");
            await repository.DeleteAsync(key, ct);
        }
        throw new PgWardenException(ExitCodes.AlreadyRunning, $"could not take the lock {key} in {repository.Description}: another backup took it meanwhile");
    }

    /// <summary>The holder of a lock; null when there is none or it cannot be parsed.</summary>
    public static async Task<Holder?> ReadAsync(IBackupRepository repository, string key, CancellationToken ct)
    {
        try
        {
            await using var stream = await repository.GetAsync(key, ct);
            return await JsonSerializer.DeserializeAsync<Holder>(stream, BackupManifest.Json, ct);
        }
        catch (Exception e) when (e is FileNotFoundException or JsonException)
        {
            return null;
        }
    }

    /// <summary>True when the holder cannot be running any more: its PID is gone on this host, or it is older than <see cref="MaxAge"/>.</summary>
    public static bool IsStale(Holder holder, DateTimeOffset now) =>
        now - holder.Started > MaxAge || (holder.Host == Environment.MachineName && !Libc.IsAlive(holder.Pid));

    /// <summary>Releases the lock if it is still this one's (never another backup's).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (await ReadAsync(_repository, Key, CancellationToken.None) is { } holder && holder.Id == Owner.Id)
            {
                await _repository.DeleteAsync(Key, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is IOException or PgWardenException or UnauthorizedAccessException)
        {
            // A lock left behind is stale once this process is gone; the next backup takes it over.
        }
    }
}
