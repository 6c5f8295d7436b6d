using PgWarden.Core.Errors;

namespace PgWarden.Backup.Repository.Encryption;

/// <summary>An object that cannot be decrypted and authenticated (wrong key, altered, truncated, swapped, or plain where encryption is on); the message is one line naming it.</summary>
public sealed class EncryptedObjectException(string message) : PgWardenException(ExitCodes.OperationFailed, message);
