using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace EcpayEvents.Testing;

/// <summary>
/// The real local Step Functions server (infrastructure/local/stepfunctions-server.mjs on Node 22,
/// running statemachine/payment-timeout.asl.json with aws-local-stepfunctions) on a free loopback port,
/// its Reconcile task pointed at <c>reconcileUrl</c> (a Timeouts service's /events, or a fake). Killed on
/// dispose, and it exits by itself when the test process dies (its stdin pipe closes); <see cref="Output"/>
/// keeps its log for failure messages. To restart it, dispose it and start another with the same <c>--data</c> file.
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

    /// <summary>
    /// What the tests shorten by default: the Reconcile retries (60 s doubling up to 15 min on AWS) wait 100 ms, and
    /// WaitForSettlement (120 s on AWS) 500 ms. Later options win, so a test can pass its own.
    /// </summary>
    public static readonly IReadOnlyList<string> FastTimers =
        ["--retry-interval-override", "Reconcile=100", "--wait-override", "WaitForSettlement=500"];

    /// <summary>The errorType Lambda reports when Lambda Web Adapter fails an invocation (what the server imitates; see stepfunctions-server.mjs).</summary>
    public const string LambdaWebAdapterErrorType = "&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>";

    /// <param name="extraArguments">More server options, e.g. <c>--data FILE</c> to keep executions across a restart; after <see cref="FastTimers"/>.</param>
    public static Task<LocalStepFunctionsServer> StartAsync(Uri reconcileUrl, params string[] extraArguments) =>
        StartAsync(["--lambda", $"ReconcileFunctionArn={reconcileUrl}", .. FastTimers, .. extraArguments]);

    /// <summary>Starts the server with exactly these options (and port 0); throws with its output if it does not listen.</summary>
    public static async Task<LocalStepFunctionsServer> StartAsync(IEnumerable<string> arguments)
    {
        RepoPaths.EnsureNpmPackages();
        var psi = new ProcessStartInfo(RepoPaths.Node)
        {
            WorkingDirectory = RepoPaths.LocalStack,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // the server exits when this pipe closes (the test process died)
        };
        foreach (var a in new[] { "--no-warnings", "stepfunctions-server.mjs", "--port", "0", "--exit-with-stdin" }.Concat(arguments))
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Both streams are drained for the server's whole life, or its logging would block on a full pipe.
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("it exited"));
                return;
            }
            lock (output) output.AppendLine(e.Data);
            if (Listening().Match(e.Data) is { Success: true } match) listening.TrySetResult(new Uri(match.Groups[1].Value + "/"));
        };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        try
        {
            var endpoint = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return new LocalStepFunctionsServer(p, endpoint, output);
        }
        catch (Exception e)
        {
            await StopAsync(p); // also waits until both streams are read to the end
            p.Dispose();
            string text;
            lock (output) text = output.ToString();
            throw new InvalidOperationException($"the local Step Functions server did not start ({e.Message}):\n{text}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(process);
        process.Dispose();
    }

    private static async Task StopAsync(Process p)
    {
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        await p.WaitForExitAsync();
    }

    // The server logs JSON lines: {"Timestamp":…,"LogLevel":…,"Message":"listening on http://127.0.0.1:PORT"}.
    [GeneratedRegex(@"""Message"":""listening on (http://127\.0\.0\.1:\d+)""")]
    private static partial Regex Listening();
}
