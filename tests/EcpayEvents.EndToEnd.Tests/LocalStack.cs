using EcpayEvents.Ecpay;
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
    private LocalStackParts parts = null!;

    public TestDatabase Db => parts.Db;
    public LocalSqsServer Sqs => parts.Sqs;
    public Uri PaymentsApi { get; private set; } = null!;
    public Uri Sandbox { get; private set; } = null!;
    public LocalCognito Cognito { get; private set; } = null!;
    public StringWriter RunnerLog { get; } = new();

    public static async Task<LocalStack> StartAsync()
    {
        var stack = new LocalStack();
        var started = new LocalStackBuilder().WithDatabase("endtoend").WithSqs(maxReceiveCount: 5, visibilityTimeoutSeconds: 5).StartAsync(Credentials);
        stack.Cognito = await LocalCognito.SharedAsync();
        var parts = stack.parts = await started;
        string[] common = [.. LocalStackParts.ServiceArgs, .. parts.EcpayArgs];

        var notifications = await parts.StartServiceAsync(NotificationsApp.Build([.. common, .. parts.SqsArgs]));
        var settlement = await parts.StartServiceAsync(SettlementApp.Build([.. common, parts.DatabaseArg]));
        stack.Sandbox = await parts.StartServiceAsync(SandboxApp.Build([.. LocalStackParts.ServiceArgs, "--Sandbox:RetryInterval=00:00:01"]));

        // PaymentsApi must know its own public URL (OrderResultURL, ClientBackURL) before it starts.
        var apiPort = FreePort.Next();
        stack.PaymentsApi = await parts.StartServiceAsync(PaymentsApiApp.Build([
            $"--urls=http://127.0.0.1:{apiPort}", "--Logging:LogLevel:Default=Warning",
            parts.DatabaseArg,
            "--Ecpay:Environment=Sandbox", $"--Ecpay:BaseUrl={stack.Sandbox}",
            .. parts.EcpayArgs,
            $"--Ecpay:ReturnUrl={new Uri(notifications, "/ecpay/return")}", $"--Ecpay:PaymentInfoUrl={new Uri(notifications, "/ecpay/payment-info")}",
            $"--PaymentsApi:PublicBaseUrl=http://127.0.0.1:{apiPort}",
            "--StepFunctions:Disabled=true", // no local Step Functions in this stack (dev/test-only opt-out)
            // One browser on one loopback address plays every user: no per-address limit on starting deposits here.
            "--PaymentsApi:Http:MoneyRequestsPerMinute=1000", "--PaymentsApi:Http:OpenRequestsPerMinute=1000",
            $"--PaymentsApi:LinkSigningKey={Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))}",
            .. stack.Cognito.PaymentsApiArgs,
        ]));

        parts.StartEventSource(new Uri(settlement, "/events"), stack.RunnerLog);
        return stack;
    }

    public async ValueTask DisposeAsync()
    {
        if (parts is not null) await parts.DisposeAsync();
    }
}
