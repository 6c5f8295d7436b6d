namespace PgWarden.Backup.Verify;

/// <summary>
/// What one `backup verify` found: the checks that passed, notes (things not checked and why) and
/// problems. The backup is ok only without problems; the first problem is the one-line error.
/// </summary>
public sealed class VerifyReport
{
    private readonly List<string> _passed = [];
    private readonly List<string> _notes = [];
    private readonly List<string> _problems = [];

    public IReadOnlyList<string> Passed => _passed;
    public IReadOnlyList<string> Notes => _notes;
    public IReadOnlyList<string> Problems => _problems;

    public bool Ok => _problems.Count == 0;

    /// <summary>True once a restore test ran to its end (passed or failed).</summary>
    public bool RestoreTested { get; set; }

    public void Pass(string what) => _passed.Add(what);

    public void Note(string what) => _notes.Add(what);

    public void Fail(string problem) => _problems.Add(problem);

    /// <summary>The text recorded in the catalog: every problem, or what passed (and the notes).</summary>
    public string Detail => Ok ? string.Join("; ", _passed.Concat(_notes)) : string.Join("; ", _problems);

    /// <summary>The one line the command fails with: the first problem, naming the broken file.</summary>
    public string ErrorLine(string backupId) => Ok
        ? throw new InvalidOperationException("the backup passed verification")
        : $"backup {backupId} FAILED verification: {_problems[0]}" + (_problems.Count > 1 ? $" (and {_problems.Count - 1} more problem{(_problems.Count > 2 ? "s" : "")}, listed above)" : "");
}
