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

    /// <summary>A fixed test key (base64 of 32 bytes) for checkout links.</summary>
    public const string LinkSigningKey = "dGVzdC1vbmx5LWxpbmstc2lnbmluZy1rZXktMzJieXQ=";

    private readonly Dictionary<string, CognitoUser> usersBySub = [];

    private PaymentsApiHost(TestDatabase database, WebApplication app, LocalCognito cognito, LogCapture logs)
    {
        Logs = logs;
        Database = database;
        App = app;
        Cognito = cognito;
        Client = new HttpClient(new ActAsOwner(this) { InnerHandler = new HttpClientHandler() }) { BaseAddress = app.BoundAddress() };
        Client.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        Anonymous = new HttpClient { BaseAddress = app.BoundAddress() };
        Anonymous.DefaultRequestHeaders.Accept.ParseAdd("application/json");
    }

    public TestDatabase Database { get; }
    public WebApplication App { get; }
    public LocalCognito Cognito { get; }

    /// <summary>
    /// Signed in as the owner of whatever the request names (/users/{id}…, /transactions/{id}), else as the
    /// user created last: the contract tests below are about other things than ownership (that is AccessTests).
    /// A request that carries its own Authorization header keeps it.
    /// </summary>
    public HttpClient Client { get; }
    /// <summary>Every log entry the API wrote (at the level the test asked for).</summary>
    public LogCapture Logs { get; }

    /// <summary>No token at all.</summary>
    public HttpClient Anonymous { get; }

    /// <summary>The user created last (POST /users and /me act as them).</summary>
    public CognitoUser? Current { get; set; }
    public Uri BaseAddress => Client.BaseAddress!;

    public static async Task<PaymentsApiHost> StartAsync(string prefix, Action<IServiceCollection>? services = null, params string[] extraArgs)
    {
        var cognito = await LocalCognito.SharedAsync();
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
            $"--PaymentsApi:LinkSigningKey={LinkSigningKey}",
            .. cognito.PaymentsApiArgs,
            "--Logging:LogLevel:Default=Warning",
            // Every test client is one loopback address: the rate limits are tested where a test sets them lower.
            "--PaymentsApi:Http:MoneyRequestsPerMinute=1000000",
            "--PaymentsApi:Http:OpenRequestsPerMinute=1000000",
            // Tests replace the scheduler; no state machine here (dev/test-only opt-out).
            .. (extraArgs.Any(a => a.Contains("StepFunctions:", StringComparison.Ordinal)) ? [] : new[] { "--StepFunctions:Disabled=true" }),
            .. extraArgs,
        ];
        var logs = new LogCapture();
        var app = PaymentsApiApp.Build(args, b => { logs.AddTo(b); services?.Invoke(b.Services); });
        await app.StartAsync();
        var host = new PaymentsApiHost(db, app, cognito, logs);
        await host.SignUpAsync("visitor"); // signed in, no user yet: requests that name nobody act as them
        return host;
    }

    /// <summary>A checkout link as the deposit response carries it (signed, 15 minutes), relative to this host.</summary>
    public string CheckoutPath(long transactionId)
    {
        var absolute = new Uri(App.Services.GetRequiredService<SignedLinks>().Create(SignedLinks.CheckoutPurpose, $"/checkout/{transactionId}"));
        return absolute.PathAndQuery;
    }

    /// <summary>Signs a new person up (their own identity) and creates their user; they become <see cref="Current"/>.</summary>
    public async Task<long> CreateUserAsync(string username = "alice", string email = "alice@example.com")
    {
        await SignUpAsync(username);
        var response = await Client.PostAsJsonAsync("/users", new { username, email });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    /// <summary>A new identity without a user row yet; it becomes <see cref="Current"/>.</summary>
    public async Task<CognitoUser> SignUpAsync(string name = "user", string? group = null)
    {
        var identity = await Cognito.CreateUserAsync(name, group);
        lock (usersBySub) usersBySub[identity.Sub] = identity;
        Current = identity;
        return identity;
    }

    private sealed class ActAsOwner(PaymentsApiHost host) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (request.Headers.Authorization is null)
            {
                var identity = await OwnerAsync(request.RequestUri!.AbsolutePath) ?? host.Current;
                if (identity is not null) request.Headers.Authorization = new("Bearer", identity.AccessToken);
            }
            return await base.SendAsync(request, ct);
        }

        private async Task<CognitoUser?> OwnerAsync(string path)
        {
            var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || !long.TryParse(parts[1], out var id)) return null;
            var sql = parts[0] switch
            {
                "users" => "SELECT sub FROM users WHERE id = @id",
                "transactions" => "SELECT u.sub FROM transactions t JOIN users u ON u.id = t.user_id WHERE t.id = @id",
                _ => null,
            };
            if (sql is null) return null;
            var sub = await host.Database.ScalarAsync<string?>(sql, ("@id", id));
            lock (host.usersBySub) return sub is not null && host.usersBySub.TryGetValue(sub, out var user) ? user : null;
        }
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
        Anonymous.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Database.DisposeAsync();
        SecretScan.AssertNone("PaymentsApi", Logs.Entries.Select(e => e.Text));
    }
}
