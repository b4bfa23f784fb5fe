using System.Net;
using System.Text;
using Amazon.SQS;
using Amazon.SQS.Model;
using EcpayEvents.Cli.EventSource;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using EcpayEvents.Notifications;
using EcpayEvents.Settlement;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;
using MySqlConnector;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Settlement.Tests;

/// <summary>
/// The whole settlement path, for real: Notifications (Kestrel) → fauxqs → event-source runner →
/// Settlement (Kestrel) → MariaDB. Each stack has its own database and its own SQS server.
/// </summary>
public sealed class SettlementStack : IAsyncDisposable
{
    public static readonly EcpayCredentials Credentials = EcpayCredentials.Stage;

    public TestDatabase Db => parts.Db;
    public LocalSqsServer Sqs => parts.Sqs;
    public AmazonSQSClient SqsClient { get; }
    public WebApplication Notifications { get; }
    public WebApplication Settlement { get; private set; }
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };
    public Uri NotificationsUrl => Notifications.BoundAddress();
    public StringWriter RunnerLog { get; } = new();
    /// <summary>Every log entry of both services.</summary>
    public LogCapture Logs { get; }
    /// <summary>Both services' EMF metric lines and JSON log lines, as they would write them to stdout.</summary>
    public TelemetryCapture Telemetry { get; }

    private readonly LocalStackParts parts;
    private readonly bool allowSimulated;
    private readonly string[] settlementArgs;
    private readonly List<ChildProcess> runnerProcesses = [];

    private SettlementStack(LocalStackParts parts, WebApplication notifications, WebApplication settlement, bool allowSimulated, LogCapture logs, TelemetryCapture telemetry, string[] settlementArgs)
    {
        this.parts = parts;
        Logs = logs;
        Telemetry = telemetry;
        this.settlementArgs = settlementArgs;
        SqsClient = parts.Sqs.CreateClient();
        Notifications = notifications;
        Settlement = settlement;
        this.allowSimulated = allowSimulated;
    }

    public static async Task<SettlementStack> StartAsync(string name, int maxReceiveCount = 3, int visibilityTimeoutSeconds = 1,
        bool allowSimulated = false, string? settlementConnectionString = null, bool startRunner = true, string? sqsServiceUrlForNotifications = null,
        string[]? settlementArgs = null, string[]? notificationsArgs = null, string logLevel = "Warning")
    {
        var logs = new LogCapture();
        var telemetry = new TelemetryCapture();
        settlementArgs ??= [];
        var parts = await new LocalStackBuilder()
            .WithDatabase("settle" + name) // TestDatabase needs a prefix of 7+ characters
            .WithSqs(maxReceiveCount, visibilityTimeoutSeconds)
            .StartAsync(Credentials);

        var notifications = NotificationsApp.Build([
            .. LocalStackParts.ServiceArgs,
            $"--Logging:LogLevel:Default={logLevel}",
            .. parts.EcpayArgs,
            $"--Sqs:QueueUrl={parts.Sqs.QueueUrl}",
            $"--Sqs:ServiceUrl={sqsServiceUrlForNotifications ?? parts.Sqs.Endpoint}",
            .. notificationsArgs ?? [],
        ], builder =>
        {
            logs.AddTo(builder);
            telemetry.AddTo(builder, NotificationsApp.ServiceName);
        });
        await parts.StartServiceAsync(notifications);

        var cs = settlementConnectionString ?? parts.Db.ConnectionString;
        var settlement = BuildSettlement(parts, cs, allowSimulated, logs, telemetry, [$"--Logging:LogLevel:Default={logLevel}", .. settlementArgs]);
        await parts.StartServiceAsync(settlement);

        var stack = new SettlementStack(parts, notifications, settlement, allowSimulated, logs, telemetry, settlementArgs);
        if (startRunner) stack.StartRunner();
        return stack;
    }

    private static WebApplication BuildSettlement(LocalStackParts parts, string connectionString, bool allowSimulated, LogCapture logs, TelemetryCapture telemetry, string[] more) => SettlementApp.Build([
        .. LocalStackParts.ServiceArgs,
        .. parts.EcpayArgs,
        $"--Database:ConnectionString={connectionString}",
        $"--Settlement:AllowSimulatedPayments={allowSimulated}",
        .. more,
    ], builder =>
    {
        logs.AddTo(builder);
        telemetry.AddTo(builder, SettlementApp.ServiceName);
    });

    public Uri SettlementEventsUrl => new(Settlement.BoundAddress(), "/events");

    /// <summary>The runner in this process, with an SQS client made as the event-source command makes it.</summary>
    public SqsEventSourceRunner CreateRunner(int batchSize = 10) => parts.CreateEventSource(SettlementEventsUrl, RunnerLog, batchSize);

    public void StartRunner() => parts.StartEventSource(SettlementEventsUrl, RunnerLog);

    /// <summary>
    /// The runner as the local stack runs it: `ecpay-events event-source` as a process, with the SQS client
    /// that command builds. Waits for its start line; stopped (killed) with the stack.
    /// </summary>
    public async Task<ChildProcess> StartRunnerProcessAsync(params string[] extraArgs)
    {
        var runner = ChildProcess.StartDotnet("event-source", "ecpay-events.dll",
            ["event-source", "--sqs-endpoint", Sqs.Endpoint, "--queue-url", Sqs.QueueUrl, "--target", SettlementEventsUrl.ToString(), .. extraArgs]);
        runnerProcesses.Add(runner);
        await runner.WaitForLineAsync(l => l.Contains("\"event\":\"start\"", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        return runner;
    }

    public Task StopRunnerAsync() => parts.StopEventSourceAsync();

    // ---- seeding (the PaymentsApi is written in parallel: plain SQL) ----

    public async Task<long> SeedUserAsync()
    {
        var name = "u" + Guid.NewGuid().ToString("N")[..12];
        return await Db.ScalarAsync<long>("INSERT INTO users (username, email) VALUES (@n, @e); SELECT LAST_INSERT_ID();", ("@n", name), ("@e", name + "@example.com"));
    }

    public async Task<Deposit> SeedDepositAsync(long amount = 500, string status = "pending", long? userId = null)
    {
        var user = userId ?? await SeedUserAsync();
        var merchantTradeNo = NewMerchantTradeNo();
        var id = await Db.ScalarAsync<long>("""
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method, item_name, expires_at)
            VALUES (@u, 'deposit', @a, @s, @m, 'ALL', 'points', UTC_TIMESTAMP(6) + INTERVAL 1 HOUR);
            SELECT LAST_INSERT_ID();
            """, ("@u", user), ("@a", amount), ("@s", status), ("@m", merchantTradeNo));
        return new Deposit(id, user, amount, merchantTradeNo);
    }

    /// <summary><paramref name="count"/> pending deposits spread over <paramref name="users"/> new users, inserted a few hundred rows at a time.</summary>
    public async Task<IReadOnlyList<Deposit>> SeedDepositsAsync(int count, int users, long amount = 100)
    {
        var userIds = new List<long>();
        for (var u = 0; u < users; u++) userIds.Add(await SeedUserAsync());
        var deposits = new List<Deposit>();
        await using var c = new MySqlConnection(Db.ConnectionString);
        await c.OpenAsync();
        foreach (var chunk in Enumerable.Range(0, count).Chunk(500))
        {
            var rows = chunk.Select(i => (User: userIds[i % users], MerchantTradeNo: NewMerchantTradeNo())).ToList();
            await using var insert = new MySqlCommand(
                "INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method, item_name, expires_at) VALUES " +
                string.Join(',', rows.Select((_, i) => $"(@u{i}, 'deposit', @a, 'pending', @m{i}, 'ALL', 'points', UTC_TIMESTAMP(6) + INTERVAL 1 HOUR)")), c);
            insert.Parameters.AddWithValue("@a", amount);
            for (var i = 0; i < rows.Count; i++)
            {
                insert.Parameters.AddWithValue($"@u{i}", rows[i].User);
                insert.Parameters.AddWithValue($"@m{i}", rows[i].MerchantTradeNo);
            }
            await insert.ExecuteNonQueryAsync();
            await using var ids = new MySqlCommand("SELECT merchant_trade_no, id FROM transactions WHERE merchant_trade_no IN (" + string.Join(',', rows.Select((_, i) => $"@m{i}")) + ")", c);
            for (var i = 0; i < rows.Count; i++) ids.Parameters.AddWithValue($"@m{i}", rows[i].MerchantTradeNo);
            var idOf = new Dictionary<string, long>();
            await using (var reader = await ids.ExecuteReaderAsync())
                while (await reader.ReadAsync()) idOf[reader.GetString(0)] = reader.GetInt64(1);
            deposits.AddRange(rows.Select(r => new Deposit(idOf[r.MerchantTradeNo], r.User, amount, r.MerchantTradeNo)));
        }
        return deposits;
    }

    public static string NewMerchantTradeNo() => "T" + Guid.NewGuid().ToString("N")[..19].ToUpperInvariant();

    public Task<long> BalanceAsync(long userId) => Db.ScalarAsync<long>("SELECT balance FROM users WHERE id = @id", ("@id", userId));

    public Task<string> StatusAsync(long transactionId) => Db.ScalarAsync<string>("SELECT status FROM transactions WHERE id = @id", ("@id", transactionId));

    public Task<long> LedgerEntriesAsync(long transactionId) => Db.ScalarAsync<long>("SELECT COUNT(*) FROM ledger_entries WHERE transaction_id = @id", ("@id", transactionId));

    public Task<long> EventsAsync(string merchantTradeNo, string? outcome = null) => Db.ScalarAsync<long>(
        "SELECT COUNT(*) FROM payment_events WHERE merchant_trade_no = @m AND (@o IS NULL OR outcome = @o)", ("@m", merchantTradeNo), ("@o", outcome));

    public async Task<string?> ColumnAsync(long transactionId, string column)
    {
        var value = await Db.ScalarAsync<object>($"SELECT COALESCE(CAST({column} AS CHAR), '<null>') FROM transactions WHERE id = @id", ("@id", transactionId));
        return value as string is "<null>" ? null : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<(HttpStatusCode Status, string Body, string? ContentType)> PostAsync(string path, string body)
    {
        using var content = new StringContent(body, Encoding.ASCII, "application/x-www-form-urlencoded");
        using var response = await Http.PostAsync(new Uri(NotificationsUrl, path), content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType);
    }

    public async Task PostAcknowledgedAsync(string path, Dictionary<string, string> fields)
    {
        var (status, body, _) = await PostAsync(path, EcpayForm.ToFormBody(fields));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("1|OK", body);
    }

    /// <summary>What Timeouts does with a paid QueryTradeInfo answer: put it on the queue directly.</summary>
    public Task<string> EnqueueAsync(string source, IReadOnlyDictionary<string, string> fields) =>
        new PaymentResultPublisher(SqsClient, Sqs.QueueUrl).PublishAsync(new PaymentResultMessage(source, fields, DateTimeOffset.UtcNow));

    // ---- waiting ----

    /// <summary>Until nothing is left on the queue, visible or in flight.</summary>
    public Task WaitForQueueDrainedAsync(int timeoutSeconds = 30) => Poll.UntilAsync(async () =>
    {
        var attributes = await SqsClient.GetQueueAttributesAsync(new GetQueueAttributesRequest
        {
            QueueUrl = Sqs.QueueUrl,
            AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
        });
        return attributes.Attributes.Values.All(v => v == "0");
    }, "the payment-results queue to drain", TimeSpan.FromSeconds(timeoutSeconds));

    /// <summary>
    /// Messages in the dead-letter queue. A test that saw the queue drain checks this did not grow: "drained"
    /// alone would also count a message that failed until SQS moved it to the dead-letter queue.
    /// </summary>
    public async Task<long> DeadLetteredAsync()
    {
        var attributes = await SqsClient.GetQueueAttributesAsync(new GetQueueAttributesRequest
        {
            QueueUrl = Sqs.DeadLetterQueueUrl,
            AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        });
        return attributes.Attributes.Values.Sum(v => long.Parse(v, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Stops Settlement and starts a new one on another connection string (its port changes).</summary>
    public async Task RestartSettlementAsync(string connectionString)
    {
        await parts.StopServiceAsync(Settlement);
        Settlement = BuildSettlement(parts, connectionString, allowSimulated, Logs, Telemetry, settlementArgs);
        await parts.StartServiceAsync(Settlement);
    }

    public async ValueTask DisposeAsync()
    {
        await StopRunnerAsync();
        foreach (var p in runnerProcesses) await p.DisposeAsync();
        SqsClient.Dispose();
        Http.Dispose();
        await parts.DisposeAsync();
        // Whatever the test did, nothing the services or the runner logged may carry a secret.
        SecretScan.AssertNone("the settlement stack", Logs.Entries.Select(e => e.Text).Append(RunnerLog.ToString()).Concat(Telemetry.LogLines).Concat(Telemetry.MetricLines));
    }
}

public sealed record Deposit(long Id, long UserId, long Amount, string MerchantTradeNo);
