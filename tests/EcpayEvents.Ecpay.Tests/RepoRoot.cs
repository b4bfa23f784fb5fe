using System.Diagnostics;

namespace EcpayEvents.Ecpay.Tests;

/// <summary>Finds the repository (the folder holding EcpayEvents.sln) and runs processes for tests.</summary>
internal static class RepoRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "EcpayEvents.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No EcpayEvents.sln above {AppContext.BaseDirectory}.");
    }

    public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr);

    public static Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> args, string? stdin = null, IDictionary<string, string?>? env = null, TimeSpan? timeout = null)
        => RunAsync(fileName, args, stdin is null ? null : new System.Text.UTF8Encoding(false).GetBytes(stdin), env, timeout);

    /// <summary>Runs a process with exactly these bytes on stdin (no encoding, no BOM added).</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> args, byte[]? stdin, IDictionary<string, string?>? env = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            psi.Environment[k] = v;
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin);
            await process.StandardInput.BaseStream.FlushAsync();
        }
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', psi.ArgumentList)} did not finish in time.");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }
}
