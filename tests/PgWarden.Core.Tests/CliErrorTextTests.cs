using System.CommandLine;
using Npgsql;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Tests;

/// <summary>The CLI's one-line errors: parse errors in words, library errors translated, one meaning per exit code.</summary>
public sealed class CliErrorTextTests
{
    private static ParseResult Parse(params string[] args)
    {
        var port = new Option<int?>("--port");
        var storage = new Option<string>("--storage");
        storage.AcceptOnlyFromAmong("ssd", "hdd", "san");
        var status = new Command("status") { new Option<bool>("--json") };
        var restore = new Command("restore") { port, storage };
        return new RootCommand("test") { status, restore }.Parse(args);
    }

    [Fact]
    public void AValueOfTheWrongTypeIsNamedInWords()
    {
        var text = ParseErrorText.Describe(Parse("restore", "--port", "abc"));
        Assert.StartsWith("--port: 'abc' is not a whole number", text, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
    }

    [Fact]
    public void AllowedValuesAreOneLine()
    {
        var text = ParseErrorText.Describe(Parse("restore", "--storage", "floppy"));
        Assert.StartsWith("--storage: 'floppy' is not one of ssd, hdd, san", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', text);
    }

    [Fact]
    public void ATypoGetsSystemCommandLinesSuggestion()
    {
        Assert.StartsWith("unknown command 'stauts'; did you mean `status`?", ParseErrorText.Describe(Parse("stauts")), StringComparison.Ordinal);
        Assert.StartsWith("unknown option '--jsno' for `pgwarden status`; did you mean `--json`?", ParseErrorText.Describe(Parse("status", "--jsno")), StringComparison.Ordinal);
        Assert.StartsWith("unknown command 'frobnicate' (see `pgwarden --help`)", ParseErrorText.Describe(Parse("frobnicate")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(typeof(int), "a whole number")]
    [InlineData(typeof(long?), "a whole number")]
    [InlineData(typeof(double), "a number")]
    [InlineData(typeof(bool), "true or false")]
    [InlineData(typeof(int[]), "a whole number")]
    public void ValueTypesInWords(Type type, string words) => Assert.Equal(words, ParseErrorText.Describe(type));

    [Fact]
    public void PgWardenErrorsKeepTheirCodeAndBecomeOneLine()
    {
        var (code, message) = ErrorTranslator.Translate(new PgWardenException(ExitCodes.UnsafeRefused, "refused:\n  first reason\n  second reason"));
        Assert.Equal(ExitCodes.UnsafeRefused, code);
        Assert.Equal("refused:; first reason; second reason", message);
    }

    [Fact]
    public void APostgresErrorIsItsMessageText()
    {
        var missing = new PostgresException("database \"x\" does not exist", "FATAL", "FATAL", "3D000");
        var (code, message) = ErrorTranslator.Translate(missing);
        Assert.Equal(ExitCodes.NotFound, code);
        Assert.Equal("database \"x\" does not exist", message);
        Assert.Equal(ExitCodes.OperationFailed, ErrorTranslator.Translate(new PostgresException("division by zero", "ERROR", "ERROR", "22012")).ExitCode);
        Assert.Equal(ExitCodes.NotRunning, ErrorTranslator.Translate(new PostgresException("the database system is starting up", "FATAL", "FATAL", "57P03")).ExitCode);
    }

    [Fact]
    public void AWrappedLibraryErrorIsTranslatedInsideItsContext()
    {
        var wrapped = PgWardenException.While("restoring into bookreader_copy", new PostgresException("database \"x\" does not exist", "FATAL", "FATAL", "3D000"));
        var (code, message) = ErrorTranslator.Translate(wrapped);
        Assert.Equal(ExitCodes.OperationFailed, code);
        Assert.Equal("while restoring into bookreader_copy: database \"x\" does not exist", message);
    }

    [Fact]
    public void AFullDiskNamesThePathAndWhatToDo()
    {
        var full = new IOException("No space left on device : '/var/lib/pgwarden/backups/x.tar.zst'", 28);
        var (code, message) = ErrorTranslator.Translate(full);
        Assert.Equal(ExitCodes.OperationFailed, code);
        Assert.Contains("no space left on device writing /var/lib/pgwarden/backups/x.tar.zst", message, StringComparison.Ordinal);
        Assert.Contains("free space on the filesystem of /var/lib/pgwarden/backups", message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnexpectedErrorHasNoTypeName()
    {
        var (code, message) = ErrorTranslator.Translate(new AggregateException(new InvalidOperationException("Sequence contains no elements")));
        Assert.Equal(ExitCodes.OperationFailed, code);
        Assert.Equal("unexpected error: Sequence contains no elements (set PGWARDEN_DEBUG=1 for details)", message);
        Assert.DoesNotContain("Exception", message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFilesAreNotFoundAndTimeoutsAreTimeouts()
    {
        Assert.Equal(ExitCodes.NotFound, ErrorTranslator.Translate(new FileNotFoundException("gone", "/x/y")).ExitCode);
        Assert.Equal(ExitCodes.Timeout, ErrorTranslator.Translate(new TimeoutException("took too long")).ExitCode);
        Assert.Equal(ExitCodes.NotRunning, ErrorTranslator.Translate(new HttpRequestException("Connection refused")).ExitCode);
    }

    [Fact]
    public void EveryExitCodeHasOneName()
    {
        var values = typeof(ExitCodes).GetFields().Select(f => (int)f.GetValue(null)!).ToList();
        Assert.Equal(values.Count, values.Distinct().Count());
        Assert.Equal(2, ExitCodes.Usage);
        Assert.Equal(8, ExitCodes.NotRunning);
        Assert.Equal(11, ExitCodes.NotFound);
        Assert.Equal(126, ExitCodes.AbortRecovery);
    }
}
