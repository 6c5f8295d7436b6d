using System.Diagnostics;
using PgWarden.Core.Errors;

namespace PgWarden.Postgres.Tools;

/// <summary>Runs a program to completion and captures its output; kills it on timeout or cancellation.</summary>
public sealed class ToolRunner(ProcessLauncher launcher) : IToolRunner
{
    public async Task<ToolResult> RunAsync(ToolCommand command, CancellationToken cancellationToken)
    {
        if (!File.Exists(command.FileName))
        {
            throw new PgWardenException(ExitCodes.MissingDependency, $"{command.FileName} is not installed");
        }
        using var process = new Process { StartInfo = launcher.StartInfo(command, redirect: true) };
        if (command.ParentDeathSignal is null)
        {
            process.Start();
        }
        else
        {
            // The signal follows the forking thread's exit, so fork from the one that lives as long as we do.
            PgWarden.Core.Processes.DedicatedLauncherThread.Run(process.Start);
        }
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(command.Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            throw new PgWardenException(ExitCodes.Timeout, $"{command} did not finish within {command.Timeout.TotalSeconds:0} s");
        }
        return new ToolResult(process.ExitCode, await stdout, await stderr);
    }
}
