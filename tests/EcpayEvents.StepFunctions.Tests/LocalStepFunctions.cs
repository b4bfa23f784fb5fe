using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Testing;

[assembly: AssemblyFixture(typeof(EcpayEvents.StepFunctions.Tests.LocalStepFunctions))]

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>
/// The shared <see cref="LocalStepFunctionsServer"/> running the real statemachine/payment-timeout.asl.json,
/// with its Reconcile task pointed at a <see cref="FakeTimeoutsService"/>. One per test assembly; tests use
/// distinct execution names.
/// </summary>
public sealed class LocalStepFunctions : IAsyncLifetime
{
    private LocalStepFunctionsServer? server;

    public FakeTimeoutsService Timeouts { get; } = new();
    public Uri Endpoint => Server.Endpoint;
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    private LocalStepFunctionsServer Server => server ?? throw new InvalidOperationException("not started");

    public StepFunctionsClient CreateClient() => CreateClient(Http, Endpoint);

    public static StepFunctionsClient CreateClient(HttpClient http, Uri endpoint) => new(http, new StepFunctionsClientOptions
    {
        ServiceUrl = endpoint,
        Region = "us-east-1",
        StateMachineArn = LocalStepFunctionsServer.PaymentTimeoutArn,
        Credentials = new Amazon.Runtime.BasicAWSCredentials("local", "local"),
    });

    public async ValueTask InitializeAsync()
    {
        Timeouts.Start();
        server = await LocalStepFunctionsServer.StartAsync(new Uri(Timeouts.Url));
    }

    public async ValueTask DisposeAsync()
    {
        if (server is not null) await server.DisposeAsync();
        Timeouts.Dispose();
        Http.Dispose();
    }

    /// <summary>Polls DescribeExecution until the execution leaves RUNNING.</summary>
    public Task<DescribeExecutionResponse> WaitUntilClosedAsync(string executionArn, TimeSpan? timeout = null)
    {
        var client = CreateClient();
        return Poll.UntilAsync(() => client.DescribeExecutionAsync(executionArn), e => e.Status != ExecutionStatus.Running, $"{executionArn} to end",
            timeout ?? TimeSpan.FromSeconds(40), _ => $"still RUNNING; server log:\n{Server.Output}");
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
