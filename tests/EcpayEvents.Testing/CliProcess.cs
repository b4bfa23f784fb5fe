using System.Diagnostics;

namespace EcpayEvents.Testing;

/// <summary>
/// `ecpay-events` (the CLI, copied next to a test assembly that references its project) run as a real process:
/// stdin closed, the given environment changes applied (a null value removes the variable), killed after 2 minutes.
/// </summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string All => Stdout + Stderr;
    }

    public static async Task<Result> RunAsync(IDictionary<string, string?>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ecpay-events.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        // Never a developer's running stack (.local/run/stack.json): only what the test gives.
        psi.Environment["ECPAY_EVENTS_STACK"] = "off";
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"ecpay-events {string.Join(' ', args)} did not exit within 2 minutes");
        }
        return new Result(p.ExitCode, await stdout, await stderr);
    }
}
