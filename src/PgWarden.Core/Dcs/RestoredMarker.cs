namespace PgWarden.Core.Dcs;

/// <summary>The file `restore --cluster` writes into a node's home directory; its agent then clears the old leadership from the DCS once.</summary>
public static class RestoredMarker
{
    public const string FileName = "restored-from-backup";
}
