using System.Net.Http.Json;
using System.Text.Json;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Testing;

namespace EcpayEvents.PaymentsApi.Tests;

/// <summary>The real PaymentsApi on Kestrel (port 0) over a fresh migrated database.</summary>
public sealed class PaymentsApiHost : IAsyncDisposable
{
    public const string SandboxBaseUrl = "http://127.0.0.1:5999";
    public const string ReturnUrl = "http://127.0.0.1:5081/ecpay/return";
    public const string PaymentInfoUrl = "http://127.0.0.1:5081/ecpay/payment-info";

    private PaymentsApiHost(TestDatabase database, WebApplication app, HttpClient client, LogCapture logs)
    {
        Logs = logs;
        Database = database;
        App = app;
        Client = client;
    }

    public TestDatabase Database { get; }
    public WebApplication App { get; }
    public HttpClient Client { get; }
    /// <summary>Every log entry the API wrote (at the level the test asked for).</summary>
    public LogCapture Logs { get; }
    public Uri BaseAddress => Client.BaseAddress!;

    public static async Task<PaymentsApiHost> StartAsync(string prefix, Action<IServiceCollection>? services = null, params string[] extraArgs)
    {
        var db = await TestDatabase.CreateAsync(prefix);
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            $"--Database:ConnectionString={db.ConnectionString}",
            "--Ecpay:Environment=Sandbox",
            $"--Ecpay:BaseUrl={SandboxBaseUrl}",
            $"--Ecpay:MerchantId={EcpayCredentials.Stage.MerchantId}",
            $"--Ecpay:HashKey={EcpayCredentials.Stage.HashKey}",
            $"--Ecpay:HashIv={EcpayCredentials.Stage.HashIv}",
            $"--Ecpay:ReturnUrl={ReturnUrl}",
            $"--Ecpay:PaymentInfoUrl={PaymentInfoUrl}",
            "--PaymentsApi:PublicBaseUrl=http://127.0.0.1:5080",
            "--Logging:LogLevel:Default=Warning",
            // Every test client is one loopback address: the rate limits are tested where a test sets them lower.
            "--PaymentsApi:Http:MoneyRequestsPerMinute=1000000",
            "--PaymentsApi:Http:OpenRequestsPerMinute=1000000",
            // Tests replace the scheduler; no state machine here (dev/test-only opt-out).
            .. (extraArgs.Any(a => a.Contains("StepFunctions:", StringComparison.Ordinal)) ? [] : new[] { "--StepFunctions:Disabled=true" }),
            .. extraArgs,
        ];
        var logs = new LogCapture();
        var app = PaymentsApiApp.Build(args, s => { logs.AddTo(s); services?.Invoke(s); });
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = app.BoundAddress() };
        client.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        return new PaymentsApiHost(db, app, client, logs);
    }

    public async Task<long> CreateUserAsync(string username = "alice", string email = "alice@example.com")
    {
        var response = await Client.PostAsJsonAsync("/users", new { username, email });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    /// <summary>Credits a user as Settlement would (a completed deposit + its ledger entry + the balance), for withdrawal tests.</summary>
    public async Task CreditAsync(long userId, long amount)
    {
        // One batch on one connection, so LAST_INSERT_ID() is the deposit just inserted.
        await Database.ExecuteAsync("""
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method) VALUES (@u, 'deposit', @a, 'completed', @m, 'Credit');
            INSERT INTO ledger_entries (user_id, transaction_id, amount) VALUES (@u, LAST_INSERT_ID(), @a);
            UPDATE users SET balance = balance + @a WHERE id = @u;
            """, ("@u", userId), ("@a", amount), ("@m", "T" + Guid.NewGuid().ToString("N")[..19]));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Database.DisposeAsync();
        SecretScan.AssertNone("PaymentsApi", Logs.Entries.Select(e => e.Text));
    }
}
