using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Testing;

[assembly: AssemblyFixture(typeof(EcpayEvents.StepFunctions.Tests.LocalStepFunctions))]

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>
/// The real local Step Functions server (infrastructure/local/stepfunctions-server.mjs on Node 22)
/// running the real statemachine/payment-timeout.asl.json, with its Reconcile task pointed at a
/// <see cref="FakeTimeoutsService"/>. One per test assembly; tests use distinct execution names.
/// </summary>
public sealed class LocalStepFunctions : IAsyncLifetime
{
    public const string StateMachineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:payment-timeout";

    private Process? process;
    private readonly StringBuilder log = new();

    public FakeTimeoutsService Timeouts { get; } = new();
    public Uri Endpoint { get; private set; } = null!;
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public string Log { get { lock (log) return log.ToString(); } }

    public StepFunctionsClient CreateClient() => new(Http, new StepFunctionsClientOptions
    {
        ServiceUrl = Endpoint,
        Region = "us-east-1",
        StateMachineArn = StateMachineArn,
        Credentials = new Amazon.Runtime.BasicAWSCredentials("local", "local"),
    });

    public async ValueTask InitializeAsync()
    {
        Timeouts.Start();
        process = await StartServerAsync(["--lambda", $"ReconcileFunctionArn={Timeouts.Url}"], log);
        Endpoint = ParseEndpoint(Log);
    }

    /// <summary>Starts the server with <paramref name="arguments"/> (port 0) and returns once it listens.</summary>
    public static async Task<Process> StartServerAsync(IEnumerable<string> arguments, StringBuilder log)
    {
        RepoPaths.EnsureNpmPackages();
        var psi = new ProcessStartInfo(RepoPaths.Node)
        {
            WorkingDirectory = RepoPaths.LocalStack,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "stepfunctions-server.mjs", "--port", "0" }.Concat(arguments))
        {
            psi.ArgumentList.Add(a);
        }
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        // Both streams are drained for the server's whole life, or its logging would block on a full pipe.
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.AppendLine(e.Data);
            if (e.Data.StartsWith("listening on ", StringComparison.Ordinal)) listening.TrySetResult();
        };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        p.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("stepfunctions-server exited"));
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e)
        {
            Stop(p);
            await Task.Delay(100);
            string text;
            lock (log) text = log.ToString();
            throw new InvalidOperationException($"the local Step Functions server did not start ({e.Message}):\n{text}");
        }
        return p;
    }

    public static Uri ParseEndpoint(string log)
    {
        var line = log.Split('\n').First(l => l.StartsWith("listening on ", StringComparison.Ordinal));
        return new Uri(line["listening on ".Length..].Trim());
    }

    public static void Stop(Process p)
    {
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (process is not null)
        {
            Stop(process);
            await process.WaitForExitAsync();
            process.Dispose();
        }
        Timeouts.Dispose();
        Http.Dispose();
    }

    /// <summary>Polls DescribeExecution until the execution leaves RUNNING.</summary>
    public async Task<DescribeExecutionResponse> WaitUntilClosedAsync(string executionArn, TimeSpan? timeout = null)
    {
        var client = CreateClient();
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(40));
        while (true)
        {
            var execution = await client.DescribeExecutionAsync(executionArn);
            if (execution.Status != ExecutionStatus.Running) return execution;
            if (DateTimeOffset.UtcNow > deadline)
                throw new TimeoutException($"{executionArn} still RUNNING after {timeout}; server log:\n{Log}");
            await Task.Delay(100);
        }
    }
}

/// <summary>
/// Stands in for the Timeouts service's /events endpoint (what Lambda Web Adapter would POST to):
/// answers each MerchantTradeNo with its script and records every call.
/// </summary>
public sealed class FakeTimeoutsService : IDisposable
{
    public sealed record Call(DateTimeOffset At, string MerchantTradeNo, string Body);
    public delegate (int Status, string Body) Script(int attempt, JsonElement input);

    private readonly HttpListener listener = new();
    private readonly ConcurrentDictionary<string, Script> scripts = new();
    private readonly ConcurrentQueue<Call> calls = new();

    public string Url { get; private set; } = "";

    public void Answer(string merchantTradeNo, Script script) => scripts[merchantTradeNo] = script;

    public IReadOnlyList<Call> CallsFor(string merchantTradeNo) => calls.Where(c => c.MerchantTradeNo == merchantTradeNo).ToList();

    public static (int, string) Json(object outcome) => (200, JsonSerializer.Serialize(outcome));

    public void Start()
    {
        for (var tries = 0; ; tries++)
        {
            var port = FreePort.Next();
            try
            {
                listener.Prefixes.Clear();
                listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                listener.Start();
                Url = $"http://127.0.0.1:{port}/events";
                break;
            }
            catch (HttpListenerException) when (tries < 5)
            {
                // Someone took the port in between: pick another.
            }
        }
        _ = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception) when (!listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException)
            {
                continue;
            }
            _ = Task.Run(() => Handle(context));
        }
    }

    private void Handle(HttpListenerContext context)
    {
        string body;
        using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
            body = reader.ReadToEnd();
        int status;
        string answer;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var tradeNo = doc.RootElement.GetProperty("merchantTradeNo").GetString()!;
            calls.Enqueue(new Call(DateTimeOffset.UtcNow, tradeNo, body));
            var attempt = calls.Count(c => c.MerchantTradeNo == tradeNo);
            (status, answer) = scripts.TryGetValue(tradeNo, out var script)
                ? script(attempt, doc.RootElement.Clone())
                : (500, $"no script for {tradeNo}");
        }
        catch (Exception e)
        {
            (status, answer) = (500, e.Message);
        }
        var bytes = Encoding.UTF8.GetBytes(answer);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.OutputStream.Write(bytes);
        context.Response.Close();
    }

    public void Dispose()
    {
        if (listener.IsListening) listener.Stop();
        listener.Close();
    }
}
