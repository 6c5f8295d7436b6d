using PgWarden.Core.Errors;
using PgWarden.Postgres.Os;

namespace PgWarden.Backup.Repository.Encryption;

/// <summary>
/// <c>pgwarden backup rotate-key</c>: moves every data key of a repository from the master key in
/// <c>KEY_FILE</c> to a new one by re-wrapping — adding a wrapping under the new key, then deleting the old —
/// never touching the encrypted data. Each step leaves every file readable, and running it again resumes:
/// <list type="number">
/// <item><c>KEY_FILE.new</c> is created (0600). From now on writers wrap new data keys under both keys.</item>
/// <item>Every data key lacking a wrapping under the new key gets one.</item>
/// <item>The old key is copied to <c>KEY_FILE.old</c>, then <c>KEY_FILE.new</c> is renamed over <c>KEY_FILE</c>
///   (atomic): the new key is current; the old one is still accepted for reading.</item>
/// <item>A second pass wraps what writers stored meanwhile, then every wrapping under another key is deleted
///   (only where the new key's wrapping exists), then <c>KEY_FILE.old</c>.</item>
/// </list>
/// Readers accept all three files while they exist, so an interruption at any point leaves nothing unreadable.
/// Several hosts share one repository, and each has its own key files: <paramref name="end"/> stops the run
/// after step 1 (<see cref="RotationEnd.NewKeyWritten"/>: copy <c>KEY_FILE.new</c> to every host before any
/// data key loses its old wrapping) or after step 3 and the second pass (<see cref="RotationEnd.Switched"/>:
/// the old wrappings and <c>KEY_FILE.old</c> stay, so hosts still on the old key keep reading, until a run
/// without it completes step 4) — the procedure of docs/backup-encryption.md, "Several hosts".
/// With <paramref name="cluster"/>, only that cluster's data keys (objects under <c>&lt;cluster&gt;/</c>) lose their old
/// wrappings and count as unknown: a repository may hold other clusters, each with a master key of its own (or this
/// one, shared), which are none of its business. Data keys elsewhere that the old key opens get a wrapping under the new one too.
/// </summary>
public sealed class KeyRotation(IBackupRepository raw, string keyFile, OsUser? owner, Action<string> output, RotationEnd end = RotationEnd.Complete, string? cluster = null)
{
    /// <param name="Completed">True when the old key's wrappings and <c>KEY_FILE.old</c> are gone (step 4 done).</param>
    public sealed record Outcome(string OldKeyId, string NewKeyId, int Rewrapped, int Removed, int Unknown, bool Completed = true);

    public async Task<Outcome> RunAsync(CancellationToken ct)
    {
        var newPath = KeyRing.NewPath(keyFile);
        var oldPath = KeyRing.OldPath(keyFile);
        MasterKey oldKey;
        MasterKey newKey;
        var rewrapped = 0;
        if (File.Exists(oldPath) && !File.Exists(newPath))
        {
            oldKey = MasterKey.Load(oldPath);
            newKey = MasterKey.Load(keyFile);
            if (end == RotationEnd.NewKeyWritten)
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused,
                    $"the rotation from master key {oldKey.Id} to {newKey.Id} is not finished ({oldPath} exists): complete it with `backup rotate-key` (once every host uses {newKey.Id}) before preparing another");
            }
            output($"resuming the rotation from master key {oldKey.Id} to {newKey.Id} (the new key is already in {keyFile})");
        }
        else
        {
            oldKey = MasterKey.Load(keyFile);
            if (File.Exists(newPath))
            {
                newKey = MasterKey.Load(newPath);
                output($"resuming the rotation from master key {oldKey.Id} to {newKey.Id} ({newPath})");
            }
            else
            {
                newKey = MasterKey.Generate();
                newKey.Save(newPath, owner);
                output($"rotating from master key {oldKey.Id} to the new key {newKey.Id} ({newPath}, mode 0600)");
            }
            if (newKey.Id == oldKey.Id)
            {
                throw new PgWardenException(ExitCodes.ConfigError, $"{newPath} holds the same key as {keyFile}; delete {newPath} and run rotate-key again");
            }
            if (end == RotationEnd.NewKeyWritten)
            {
                output($"prepared: copy {newPath} (key {newKey.Id}) to the same path on every host that reads or writes this repository (0600, owned by the postgres user); "
                    + $"from then on each wraps new files under both keys. Then run `backup rotate-key --keep-old` here");
                return new Outcome(oldKey.Id, newKey.Id, 0, 0, 0, Completed: false);
            }
            rewrapped += await RewrapAsync(oldKey, newKey, ct);
            oldKey.Save(oldPath, owner);
            File.Move(newPath, keyFile, overwrite: true);
            output($"{keyFile} now holds the new key {newKey.Id}; the old key stays in {oldPath} until its wrappings are gone");
        }
        rewrapped += await RewrapAsync(oldKey, newKey, ct);
        if (end == RotationEnd.Switched)
        {
            output($"{rewrapped} data key(s) re-wrapped under {newKey.Id}; the old key's wrappings and {oldPath} are kept (--keep-old). "
                + $"Now make {newKey.Id} current on every other host (`mv {newPath} {keyFile}` there), then run `backup rotate-key` here to retire {oldKey.Id}");
            return new Outcome(oldKey.Id, newKey.Id, rewrapped, 0, 0, Completed: false);
        }
        var (removed, unknown) = await RemoveOtherWrappingsAsync(newKey, ct);
        if (unknown > 0)
        {
            throw new PgWardenException(ExitCodes.OperationFailed,
                $"{unknown} data key(s){(cluster is null ? "" : $" of cluster {cluster}")} in {raw.Description} are wrapped only under master keys that are neither {oldKey.Id} nor {newKey.Id}; they were left as they are, and {oldPath} is kept (were they written with another key file?)");
        }
        File.Delete(oldPath);
        output($"rotation complete: {rewrapped} data key(s) re-wrapped under {newKey.Id}, {removed} old wrapping(s) deleted, {oldPath} removed; no data file was rewritten");
        return new Outcome(oldKey.Id, newKey.Id, rewrapped, removed, unknown);
    }

    /// <param name="ownOnly">Only the cluster's own data keys (deleting wrappings, counting unknown ones); otherwise the
    /// whole repository (adding a wrapping under the new key is harmless to another cluster, and keeps a file of this key
    /// stored under another cluster name — an earlier name, a copy — readable once the old key is gone).</param>
    private async Task<List<(string Key, string Object, string DataKeyId, string MasterKeyId)>> WrappingsAsync(bool ownOnly, CancellationToken ct) =>
        [.. (await raw.ListAsync(WrappedDataKey.Root + (cluster is null || !ownOnly ? "" : cluster + "/"), ct))
            .Select(o => (o.Key, Parsed: WrappedDataKey.ParseKey(o.Key)))
            .Where(x => x.Parsed is not null)
            .Select(x => (x.Key, x.Parsed!.Value.Object, x.Parsed.Value.DataKeyId, x.Parsed.Value.MasterKeyId))];

    /// <summary>Adds a wrapping under <paramref name="to"/> to every data key that has one under <paramref name="from"/> only; the count added.</summary>
    private async Task<int> RewrapAsync(MasterKey from, MasterKey to, CancellationToken ct)
    {
        var count = 0;
        foreach (var group in (await WrappingsAsync(ownOnly: false, ct)).GroupBy(w => (w.Object, w.DataKeyId)))
        {
            if (group.Any(w => w.MasterKeyId == to.Id) || group.FirstOrDefault(w => w.MasterKeyId == from.Id) is not { Key: not null } old)
            {
                continue;
            }
            byte[] blob;
            try
            {
                await using var s = await raw.GetAsync(old.Key, ct);
                using var buffer = new MemoryStream();
                await s.CopyToAsync(buffer, ct);
                blob = buffer.ToArray();
            }
            catch (FileNotFoundException)
            {
                continue; // deleted with its object meanwhile (prune)
            }
            var dataKeyId = Convert.FromHexString(group.Key.DataKeyId);
            var dataKey = WrappedDataKey.Unwrap(from, blob, dataKeyId, group.Key.Object)
                ?? throw new EncryptedObjectException($"{old.Key} in {raw.Description} fails authentication under master key {from.Id}: the wrapping of {group.Key.Object}'s data key was altered; rotation stopped (nothing was deleted)");
            try
            {
                using var body = new MemoryStream(WrappedDataKey.Wrap(to, dataKeyId, dataKey, group.Key.Object));
                await raw.PutIfAbsentAsync(WrappedDataKey.ObjectKey(group.Key.Object, group.Key.DataKeyId, to.Id), body, new Dictionary<string, string>(), ct);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(dataKey);
            }
            count++;
            if (count % 1000 == 0)
            {
                output($"  {count} data keys re-wrapped");
            }
        }
        return count;
    }

    /// <summary>Deletes every wrapping under a key other than <paramref name="keep"/> whose data key has a wrapping under <paramref name="keep"/>; (deleted, data keys with no such wrapping).</summary>
    private async Task<(int Removed, int Unknown)> RemoveOtherWrappingsAsync(MasterKey keep, CancellationToken ct)
    {
        var removed = 0;
        var unknown = 0;
        foreach (var group in (await WrappingsAsync(ownOnly: true, ct)).GroupBy(w => (w.Object, w.DataKeyId)))
        {
            if (!group.Any(w => w.MasterKeyId == keep.Id))
            {
                unknown++;
                continue;
            }
            foreach (var w in group.Where(w => w.MasterKeyId != keep.Id))
            {
                await raw.DeleteAsync(w.Key, ct);
                removed++;
            }
        }
        return (removed, unknown);
    }
}
