using EcpayEvents.Cli.EventSource;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Notifications;
using EcpayEvents.PaymentsApi;
using EcpayEvents.Sandbox;
using EcpayEvents.Settlement;
using EcpayEvents.Testing;

namespace EcpayEvents.EndToEnd.Tests;

/// <summary>
/// Everything a payment goes through, for real, on loopback: PaymentsApi, the ECPay sandbox,
/// Notifications → fauxqs → the event-source runner → Settlement → MariaDB.
/// </summary>
public sealed class LocalStack : IAsyncDisposable
{
    private static readonly EcpayCredentials Credentials = EcpayCredentials.Stage;
    private readonly List<WebApplication> apps = [];
    private readonly CancellationTokenSource runnerStop = new();
    private Task? runner;
    private HttpClient? runnerHttp;
    private Amazon.SQS.AmazonSQSClient? sqsClient;

    public TestDatabase Db { get; private set; } = null!;
    public LocalSqsServer Sqs { get; private set; } = null!;
    public Uri PaymentsApi { get; private set; } = null!;
    public Uri Sandbox { get; private set; } = null!;
    public LocalCognito Cognito { get; private set; } = null!;
    public StringWriter RunnerLog { get; } = new();

    public static async Task<LocalStack> StartAsync()
    {
        var stack = new LocalStack();
        var dbTask = TestDatabase.CreateAsync("endtoend");
        stack.Cognito = await LocalCognito.SharedAsync();
        stack.Sqs = await LocalSqsServer.StartAsync(maxReceiveCount: 5, visibilityTimeoutSeconds: 5);
        stack.Db = await dbTask;
        string[] common = ["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning",
            $"--Ecpay:MerchantId={Credentials.MerchantId}", $"--Ecpay:HashKey={Credentials.HashKey}", $"--Ecpay:HashIv={Credentials.HashIv}"];

        var notifications = await stack.StartAsync(NotificationsApp.Build([.. common, $"--Sqs:QueueUrl={stack.Sqs.QueueUrl}", $"--Sqs:ServiceUrl={stack.Sqs.Endpoint}"]));
        var settlement = await stack.StartAsync(SettlementApp.Build([.. common, $"--Database:ConnectionString={stack.Db.ConnectionString}"]));
        stack.Sandbox = await stack.StartAsync(SandboxApp.Build(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", "--Sandbox:RetryInterval=00:00:01"]));

        // PaymentsApi must know its own public URL (OrderResultURL, ClientBackURL) before it starts.
        var apiPort = FreePort.Next();
        stack.PaymentsApi = await stack.StartAsync(PaymentsApiApp.Build([
            $"--urls=http://127.0.0.1:{apiPort}", "--Logging:LogLevel:Default=Warning",
            $"--Database:ConnectionString={stack.Db.ConnectionString}",
            "--Ecpay:Environment=Sandbox", $"--Ecpay:BaseUrl={stack.Sandbox}",
            $"--Ecpay:MerchantId={Credentials.MerchantId}", $"--Ecpay:HashKey={Credentials.HashKey}", $"--Ecpay:HashIv={Credentials.HashIv}",
            $"--Ecpay:ReturnUrl={new Uri(notifications, "/ecpay/return")}", $"--Ecpay:PaymentInfoUrl={new Uri(notifications, "/ecpay/payment-info")}",
            $"--PaymentsApi:PublicBaseUrl=http://127.0.0.1:{apiPort}",
            "--StepFunctions:Disabled=true", // no local Step Functions in this stack (dev/test-only opt-out)
            // One browser on one loopback address plays every user: no per-address limit on starting deposits here.
            "--PaymentsApi:Http:MoneyRequestsPerMinute=1000", "--PaymentsApi:Http:OpenRequestsPerMinute=1000",
            $"--PaymentsApi:LinkSigningKey={Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))}",
            .. stack.Cognito.PaymentsApiArgs,
        ]));

        stack.sqsClient = stack.Sqs.CreateClient();
        stack.runnerHttp = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var r = new SqsEventSourceRunner(stack.sqsClient, stack.runnerHttp, new SqsEventSourceOptions(stack.Sqs.QueueUrl, new Uri(settlement, "/events"), 10, WaitSeconds: 1), stack.RunnerLog);
        stack.runner = Task.Run(() => r.RunAsync(stack.runnerStop.Token));
        return stack;
    }

    private async Task<Uri> StartAsync(WebApplication app)
    {
        apps.Add(app);
        await app.StartAsync();
        return app.BoundAddress();
    }

    public async ValueTask DisposeAsync()
    {
        await runnerStop.CancelAsync();
        if (runner is not null) await runner;
        foreach (var app in Enumerable.Reverse(apps))
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        runnerHttp?.Dispose();
        sqsClient?.Dispose();
        if (Sqs is not null) await Sqs.DisposeAsync();
        if (Db is not null) await Db.DisposeAsync();
    }
}
