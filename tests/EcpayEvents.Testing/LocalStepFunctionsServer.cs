using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace EcpayEvents.Testing;

/// <summary>
/// The real local Step Functions server (infrastructure/local/stepfunctions-server.mjs on Node 22,
/// running statemachine/payment-timeout.asl.json with aws-local-stepfunctions) on a free loopback port,
/// its Reconcile task pointed at <c>reconcileUrl</c> (a Timeouts service's /events). Killed on dispose;
/// <see cref="Output"/> keeps its log for failure messages.
/// </summary>
public sealed partial class LocalStepFunctionsServer : IAsyncDisposable
{
    /// <summary>The ARN the server gives the default payment-timeout state machine.</summary>
    public const string PaymentTimeoutArn = "arn:aws:states:us-east-1:000000000000:stateMachine:payment-timeout";

    private readonly Process process;
    private readonly StringBuilder output;

    public Uri Endpoint { get; }

    private LocalStepFunctionsServer(Process process, Uri endpoint, StringBuilder output)
    {
        this.process = process;
        Endpoint = endpoint;
        this.output = output;
    }

    /// <summary>What the server printed so far (stdout and stderr).</summary>
    public string Output
    {
        get { lock (output) return output.ToString(); }
    }

    public static async Task<LocalStepFunctionsServer> StartAsync(Uri reconcileUrl)
    {
        RepoPaths.EnsureNpmPackages();
        var psi = new ProcessStartInfo(RepoPaths.Node)
        {
            WorkingDirectory = RepoPaths.LocalStack,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // the server exits when this pipe closes (the test process died)
        };
        foreach (var a in new[] { "--no-warnings", "stepfunctions-server.mjs", "--port", "0", "--lambda", $"ReconcileFunctionArn={reconcileUrl}", "--exit-with-stdin" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var output = new StringBuilder();
        var firstLine = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.OutputDataReceived += (_, e) =>
        {
            firstLine.TrySetResult(e.Data); // null: it exited
            if (e.Data is not null) lock (output) output.AppendLine(e.Data);
        };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        var line = await firstLine.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var match = line is null ? null : Listening().Match(line);
        if (match is not { Success: true })
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            throw new InvalidOperationException($"stepfunctions-server did not start: {line} {output}");
        }
        return new LocalStepFunctionsServer(p, new Uri(match.Groups[1].Value + "/"), output);
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}
