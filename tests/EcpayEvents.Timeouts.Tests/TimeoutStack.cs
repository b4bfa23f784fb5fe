using System.Text.Json;
using Amazon.Runtime;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Notifications;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Settlement;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>
/// The whole timeout path, for real: MariaDB (TestDatabase), fauxqs (LocalSqsServer) with the SQS
/// event-source runner feeding the in-process Settlement service, the in-process Notifications service
/// (ReturnURL / PaymentInfoURL), the in-process Timeouts service, a signed QueryTradeInfo stand-in, and
/// the local Step Functions server running statemachine/payment-timeout.asl.json with its Reconcile task
/// pointed at the Timeouts service.
/// </summary>
public class TimeoutStack : IAsyncLifetime
{
    public static readonly EcpayCredentials Credentials = EcpayCredentials.Stage;

    private LocalStackParts parts = null!;

    public TestDatabase Database => parts.Db;
    public LocalSqsServer Sqs => parts.Sqs;
    public FakeEcpayQuery Ecpay { get; private set; } = null!;
    public LocalStepFunctionsServer StepFunctions { get; private set; } = null!;
    public StepFunctionsClient Client { get; private set; } = null!;
    public StepFunctionsTimeoutScheduler Scheduler { get; private set; } = null!;
    public Uri Notifications { get; private set; } = null!;
    public Uri Timeouts { get; private set; } = null!;
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask InitializeAsync()
    {
        var started = new LocalStackBuilder().WithDatabase("timeouts").WithSqs(maxReceiveCount: 5, visibilityTimeoutSeconds: 2).StartAsync(Credentials);
        var ecpay = await StartEcpayAsync();
        parts = await started;

        string[] common =
        [
            .. LocalStackParts.ServiceArgs,
            parts.DatabaseArg,
            .. parts.EcpayArgs,
            .. parts.SqsArgs,
            "--Sqs:Region=us-east-1",
            "--Logging:LogLevel:EcpayEvents=Information",
        ];
        var settlement = await StartAsync(SettlementApp.Build(common));
        Notifications = await StartAsync(NotificationsApp.Build(common));
        string[] timeouts =
        [
            .. common,
            $"--Ecpay:BaseUrl={ecpay}",
            // The state machine's own retries are what is tested; long enough for an answer held back in a race test.
            "--Ecpay:Query:MaxRetries=1",
            "--Ecpay:Query:AttemptTimeoutSeconds=15",
            "--Ecpay:Query:TotalTimeoutSeconds=15",
            // A credit is confirmed no earlier than 3 s after it (10 min on AWS); an "unpaid" answer is asked again
            // 12 s after the credit (40 min): later than the 8 s expiries of the tests that pay before the timer fires.
            "--Reconcile:ConfirmCreditAfterSeconds=3",
            "--Reconcile:ConfirmUnpaidAgainAfterSeconds=12",
            .. MoreTimeoutsArgs,
        ];
        Timeouts = await StartAsync(TimeoutsApp.Build(timeouts));
        await AfterStartAsync(timeouts);

        parts.StartEventSource(new Uri(settlement, "/events"), TextWriter.Null);

        // Settlement works from the queue (1 s long polls): 2 s between the checks after a paid answer (120 s on AWS).
        StepFunctions = await parts.StartStepFunctionsAsync(new Uri(Timeouts, "/events"), "--wait-override", "WaitForSettlement=2000");
        Client = new StepFunctionsClient(new HttpClient { Timeout = TimeSpan.FromSeconds(10) }, new StepFunctionsClientOptions
        {
            ServiceUrl = StepFunctions.Endpoint,
            Region = "us-east-1",
            Credentials = new BasicAWSCredentials("local", "local"),
            StateMachineArn = LocalStepFunctionsServer.PaymentTimeoutArn,
        });
        Scheduler = new StepFunctionsTimeoutScheduler(Client, NullLogger<StepFunctionsTimeoutScheduler>.Instance);
    }

    /// <summary>Starts ECPay's stand-in: its base URL (Ecpay:BaseUrl). By default the QueryTradeInfo fake (<see cref="Ecpay"/>).</summary>
    protected virtual async Task<Uri> StartEcpayAsync()
    {
        Ecpay = await FakeEcpayQuery.StartAsync(Credentials);
        return Ecpay.BaseUrl;
    }

    /// <summary>Settings the Timeouts service gets on top of the defaults.</summary>
    protected virtual IEnumerable<string> MoreTimeoutsArgs => [];

    /// <summary>Runs once everything is up, with the Timeouts service's arguments (to start another instance).</summary>
    protected virtual Task AfterStartAsync(string[] timeoutsArgs) => Task.CompletedTask;

    protected Task<Uri> StartAsync(WebApplication app) => parts.StartServiceAsync(app);

    // ---------------------------------------------------------------- the ledger

    public async Task<long> CreateUserAsync()
    {
        await using var c = Database.Open();
        await using var cmd = new MySqlConnector.MySqlCommand(
            "INSERT INTO users (username, email, balance) VALUES (@u, 'timeouts@example.com', 0); SELECT LAST_INSERT_ID();", c);
        cmd.Parameters.AddWithValue("@u", "u" + Guid.NewGuid().ToString("N")[..12]);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    /// <summary>A pending deposit as PaymentsApi writes it, expiring <paramref name="expiresIn"/> from now, and its timeout scheduled.</summary>
    /// <param name="ecpay">What QueryTradeInfo answers about it, set before its timer starts (a short timer may fire before the caller could set it).</param>
    /// <param name="startTimer">False: the test starts it with <see cref="StartTimerAsync"/> once what must come first has happened.</param>
    public async Task<Deposit> CreateDepositAsync(long amount, TimeSpan expiresIn, string method = "Credit", EcpayTrade? ecpay = null, bool startTimer = true)
    {
        var userId = await CreateUserAsync();
        var merchantTradeNo = "TO" + Guid.NewGuid().ToString("N")[..18].ToUpperInvariant();
        var expiresAt = DateTimeOffset.UtcNow + expiresIn;
        expiresAt = new DateTimeOffset(expiresAt.UtcTicks - expiresAt.UtcTicks % 10, TimeSpan.Zero); // DATETIME(6)
        await using var c = Database.Open();
        await using var cmd = new MySqlConnector.MySqlCommand("""
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method, item_name, expires_at)
            VALUES (@user, 'deposit', @amount, 'pending', @no, @method, 'Deposit', @expires); SELECT LAST_INSERT_ID();
            """, c);
        cmd.Parameters.AddWithValue("@user", userId);
        cmd.Parameters.AddWithValue("@amount", amount);
        cmd.Parameters.AddWithValue("@no", merchantTradeNo);
        cmd.Parameters.AddWithValue("@method", method);
        cmd.Parameters.AddWithValue("@expires", expiresAt.UtcDateTime);
        var id = Convert.ToInt64(await cmd.ExecuteScalarAsync());
        var deposit = new Deposit(id, userId, merchantTradeNo, amount, expiresAt);
        if (ecpay is not null) Ecpay.Set(merchantTradeNo, ecpay);
        if (startTimer) await Scheduler.ScheduleAsync(new PaymentTimeoutInput(id, merchantTradeNo, expiresAt), CancellationToken.None);
        return deposit;
    }

    /// <summary>
    /// Starts the timer of a deposit created without one (a credited deposit, whatever the machine's speed): it fires at
    /// the deposit's expiry, or later than the 3 s confirmation delay after now, so the credit is asked about at once.
    /// </summary>
    public Task StartTimerAsync(Deposit deposit)
    {
        var firesAt = DateTimeOffset.UtcNow.AddSeconds(4);
        firesAt = new DateTimeOffset(firesAt.UtcTicks - firesAt.UtcTicks % 10, TimeSpan.Zero);
        var expiresAt = deposit.ExpiresAt > firesAt ? deposit.ExpiresAt : firesAt;
        return Scheduler.ScheduleAsync(new PaymentTimeoutInput(deposit.Id, deposit.MerchantTradeNo, expiresAt), CancellationToken.None);
    }

    public async Task<LedgerRow> TransactionAsync(long id)
    {
        await using var c = Database.Open();
        await using var cmd = new MySqlConnector.MySqlCommand("""
            SELECT t.status, t.review_reason, u.balance,
                   (SELECT COUNT(*) FROM ledger_entries l WHERE l.transaction_id = t.id),
                   (SELECT COALESCE(SUM(l.amount), 0) FROM ledger_entries l WHERE l.transaction_id = t.id),
                   t.expires_at, t.confirmed_at
            FROM transactions t JOIN users u ON u.id = t.user_id WHERE t.id = @id
            """, c);
        cmd.Parameters.AddWithValue("@id", id);
        await using var r = await cmd.ExecuteReaderAsync();
        if (!await r.ReadAsync()) throw new InvalidOperationException($"no transaction {id}");
        return new LedgerRow(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4),
            r.IsDBNull(5) ? null : new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(5), DateTimeKind.Utc)),
            r.IsDBNull(6) ? null : new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(6), DateTimeKind.Utc)));
    }

    /// <summary>Polls until the transaction has <paramref name="status"/> (Settlement works from the queue, asynchronously).</summary>
    public Task<LedgerRow> WaitForStatusAsync(long id, string status, TimeSpan? timeout = null) =>
        Poll.UntilAsync(() => TransactionAsync(id), row => row.Status == status, $"transaction {id} to be {status}", timeout,
            row => $"it is {row.Status}\n{StepFunctions.Output}");

    // ---------------------------------------------------------------- ECPay's posts, through Notifications

    /// <summary>ECPay's ReturnURL post (RtnCode 1, paid) to the Notifications service; true when it answered 1|OK.</summary>
    /// <param name="simulated">SimulatePaid=1: a payment simulated from ECPay's back office (no money moved).</param>
    public Task PostPaidAsync(Deposit deposit, string tradeNo, bool simulated = false) => PostAsync("/ecpay/return", PaidFields(deposit, tradeNo, simulated));

    /// <summary>ECPay's ReturnURL post for a payment that failed (RtnCode 10100058, the card was declined).</summary>
    public Task PostFailedAsync(Deposit deposit, string tradeNo) =>
        PostAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(deposit.MerchantTradeNo, deposit.Amount, rtnCode: "10100058", rtnMsg: "付款失敗", tradeNo: tradeNo,
            tradeDate: TaiwanTime.Format(DateTimeOffset.UtcNow.AddMinutes(-1)), credentials: Credentials));

    /// <summary>A genuine paid ReturnURL post with one more field than ECPay documents (say ECPay added one): the status and answer.</summary>
    public async Task<(int Status, string Body)> PostPaidWithAnExtraFieldAsync(Deposit deposit, string tradeNo, string name, string value)
    {
        var fields = PaidFields(deposit, tradeNo, simulated: false);
        fields[name] = value;
        using var response = await Http.PostAsync(new Uri(Notifications, "/ecpay/return"), new FormUrlEncodedContent(SignedEcpayPost.Sign(fields, Credentials)));
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public static Dictionary<string, string> PaidFields(Deposit deposit, string tradeNo, bool simulated) =>
        SignedEcpayPost.ReturnUrl(deposit.MerchantTradeNo, deposit.Amount, simulatePaid: simulated ? "1" : "0", tradeNo: tradeNo,
            paymentDate: TaiwanTime.Format(DateTimeOffset.UtcNow), tradeDate: TaiwanTime.Format(DateTimeOffset.UtcNow.AddMinutes(-1)), paymentTypeChargeFee: "0",
            credentials: Credentials);

    /// <summary>ECPay's PaymentInfoURL post: an ATM virtual account issued, payable until <paramref name="expireDate"/> (whole seconds).</summary>
    public Task PostAtmNumberIssuedAsync(Deposit deposit, string tradeNo, DateTimeOffset expireDate) => PostAsync("/ecpay/payment-info",
        SignedEcpayPost.AtmIssued(deposit.MerchantTradeNo, deposit.Amount, tradeNo: tradeNo, expireDate: TaiwanTime.Format(expireDate),
            tradeDate: TaiwanTime.Format(DateTimeOffset.UtcNow.AddMinutes(-1))));

    private async Task PostAsync(string path, IEnumerable<KeyValuePair<string, string>> signedFields)
    {
        using var response = await Http.PostAsync(new Uri(Notifications, path), new FormUrlEncodedContent(signedFields));
        var body = await response.Content.ReadAsStringAsync();
        if (body != "1|OK") throw new InvalidOperationException($"Notifications answered {(int)response.StatusCode} {body}");
    }

    // ---------------------------------------------------------------- Step Functions

    public string ExecutionArn(Deposit deposit) => StepFunctionsClient.ExecutionArnOf(LocalStepFunctionsServer.PaymentTimeoutArn, deposit.MerchantTradeNo);

    /// <summary>Polls DescribeExecution until the execution is no longer RUNNING.</summary>
    public Task<DescribeExecutionResponse> WaitForExecutionAsync(Deposit deposit, TimeSpan? timeout = null) =>
        Poll.UntilAsync(() => Client.DescribeExecutionAsync(ExecutionArn(deposit)), e => e.Status != ExecutionStatus.Running,
            $"execution {deposit.MerchantTradeNo} to end", timeout, _ => $"still RUNNING\n{StepFunctions.Output}");

    /// <summary>The names of the states entered, in order.</summary>
    public async Task<List<string>> StatesEnteredAsync(Deposit deposit) =>
        (await Client.GetFullExecutionHistoryAsync(ExecutionArn(deposit)))
            .Where(e => e.Type.EndsWith("StateEntered", StringComparison.Ordinal))
            .Select(e => e.StateName!)
            .ToList();

    public static string? Outcome(DescribeExecutionResponse execution)
    {
        if (execution.Output is null) return null;
        using var doc = JsonDocument.Parse(execution.Output);
        return doc.RootElement.TryGetProperty("reconcile", out var r) && r.TryGetProperty("outcome", out var o) ? o.GetString() : null;
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (parts is not null) await parts.DisposeAsync();
        if (Ecpay is not null) await Ecpay.DisposeAsync();
        Http.Dispose();
    }
}

public sealed record Deposit(long Id, long UserId, string MerchantTradeNo, long Amount, DateTimeOffset ExpiresAt);

public sealed record LedgerRow(string Status, string? ReviewReason, long Balance, long LedgerEntries, long Credited, DateTimeOffset? ExpiresAt, DateTimeOffset? ConfirmedAt);
