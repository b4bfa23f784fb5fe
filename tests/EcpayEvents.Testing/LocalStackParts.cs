using Amazon.SQS;
using EcpayEvents.Cli.EventSource;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using Microsoft.AspNetCore.Builder;

namespace EcpayEvents.Testing;

/// <summary>
/// A started local stack (<see cref="LocalStackBuilder"/>): its database and SQS server, the services it hosts on free
/// loopback ports, its Step Functions server and its event-source runner. Disposing stops them in reverse order.
/// </summary>
public sealed class LocalStackParts : IAsyncDisposable
{
    private readonly TestDatabase? db;
    private readonly LocalSqsServer? sqs;
    private readonly List<WebApplication> services = [];
    private readonly HttpClient runnerHttp = new() { Timeout = TimeSpan.FromSeconds(30) };
    private IAmazonSQS? runnerSqs;
    private CancellationTokenSource? runnerStop;
    private Task? runner;

    internal LocalStackParts(EcpayCredentials credentials, TestDatabase? db, LocalSqsServer? sqs)
    {
        Credentials = credentials;
        this.db = db;
        this.sqs = sqs;
    }

    public EcpayCredentials Credentials { get; }
    public TestDatabase Db => db ?? throw new InvalidOperationException("this stack has no database (LocalStackBuilder.WithDatabase)");
    public LocalSqsServer Sqs => sqs ?? throw new InvalidOperationException("this stack has no SQS server (LocalStackBuilder.WithSqs)");
    public LocalStepFunctionsServer? StepFunctions { get; private set; }

    /// <summary>A service listening on a free loopback port, logging warnings and worse.</summary>
    public static readonly string[] ServiceArgs = ["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"];

    /// <summary>The merchant's credentials as every service reads them.</summary>
    public string[] EcpayArgs => [$"--Ecpay:MerchantId={Credentials.MerchantId}", $"--Ecpay:HashKey={Credentials.HashKey}", $"--Ecpay:HashIv={Credentials.HashIv}"];

    public string DatabaseArg => $"--Database:ConnectionString={Db.ConnectionString}";

    /// <summary>The payment-results queue on this stack's SQS server.</summary>
    public string[] SqsArgs => [$"--Sqs:QueueUrl={Sqs.QueueUrl}", $"--Sqs:ServiceUrl={Sqs.Endpoint}"];

    /// <summary>Starts <paramref name="service"/> (built by the fixture) and stops it with the stack: its address.</summary>
    public async Task<Uri> StartServiceAsync(WebApplication service)
    {
        services.Add(service);
        await service.StartAsync();
        return service.BoundAddress();
    }

    /// <summary>Stops one service before the stack (to start another in its place).</summary>
    public async Task StopServiceAsync(WebApplication service)
    {
        services.Remove(service);
        await service.StopAsync();
        await service.DisposeAsync();
    }

    /// <summary>The local Step Functions server running the payment-timeout state machine, its Reconcile task at <paramref name="reconcileUrl"/>.</summary>
    public async Task<LocalStepFunctionsServer> StartStepFunctionsAsync(Uri reconcileUrl, params string[] extraArguments) =>
        StepFunctions = await LocalStepFunctionsServer.StartAsync(reconcileUrl, extraArguments);

    /// <summary>An event-source runner in this process, feeding <paramref name="settlementEvents"/>, with an SQS client made as the event-source command makes it.</summary>
    public SqsEventSourceRunner CreateEventSource(Uri settlementEvents, TextWriter log, int batchSize = 10)
    {
        var options = new SqsEventSourceOptions(Sqs.QueueUrl, settlementEvents, batchSize, WaitSeconds: 1);
        runnerSqs ??= SqsEventSourceRunner.CreateSqsClient(new SqsOptions { QueueUrl = Sqs.QueueUrl, ServiceUrl = Sqs.Endpoint }, options);
        return new(runnerSqs, runnerHttp, options, log);
    }

    /// <summary>Runs an event-source runner (<see cref="CreateEventSource"/>) until <see cref="StopEventSourceAsync"/> or the stack stops.</summary>
    public void StartEventSource(Uri settlementEvents, TextWriter log)
    {
        runnerStop = new CancellationTokenSource();
        var r = CreateEventSource(settlementEvents, log);
        var stop = runnerStop.Token;
        runner = Task.Run(() => r.RunAsync(stop));
    }

    public async Task StopEventSourceAsync()
    {
        if (runnerStop is null) return;
        await runnerStop.CancelAsync();
        await runner!;
        runnerStop.Dispose();
        runnerStop = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopEventSourceAsync();
        if (StepFunctions is not null) await StepFunctions.DisposeAsync();
        foreach (var service in Enumerable.Reverse(services))
        {
            await service.StopAsync();
            await service.DisposeAsync();
        }
        runnerSqs?.Dispose();
        runnerHttp.Dispose();
        if (sqs is not null) await sqs.DisposeAsync();
        if (db is not null) await db.DisposeAsync();
    }
}
