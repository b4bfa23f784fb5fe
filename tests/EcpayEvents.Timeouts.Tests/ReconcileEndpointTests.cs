using System.Net;
using System.Text;
using System.Text.Json;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;
using EcpayEvents.Sandbox;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>
/// POST /events as the state machine calls it, against the project's ECPay sandbox (SandboxApp, in
/// process) and MariaDB: the task input/output contract and its errors.
/// </summary>
public sealed class ReconcileEndpointTests : IAsyncLifetime
{
    private readonly LogCapture logs = new();
    private TestDatabase database = null!;
    private WebApplication sandbox = null!;
    private WebApplication timeouts = null!;
    private HttpClient http = null!;

    public async ValueTask InitializeAsync()
    {
        database = await TestDatabase.CreateAsync("reconcile");
        sandbox = SandboxApp.Build(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]);
        await sandbox.StartAsync();
        var credentials = EcpayCredentials.Stage;
        timeouts = TimeoutsApp.Build([
            "--urls=http://127.0.0.1:0",
            $"--Database:ConnectionString={database.ConnectionString}",
            $"--Ecpay:MerchantId={credentials.MerchantId}", $"--Ecpay:HashKey={credentials.HashKey}", $"--Ecpay:HashIv={credentials.HashIv}",
            $"--Ecpay:BaseUrl={sandbox.BoundAddress()}",
            // Never reached on these paths: nothing here is paid.
            "--Sqs:ServiceUrl=http://127.0.0.1:1", "--Sqs:QueueUrl=http://127.0.0.1:1/000000000000/payment-results",
            "--Logging:LogLevel:Default=Warning",
        ], logs.AddTo);
        await timeouts.StartAsync();
        http = new HttpClient { BaseAddress = timeouts.BoundAddress() };
    }

    private async Task<long> SeedPendingAsync(string merchantTradeNo, DateTimeOffset expiresAt)
    {
        await database.ExecuteAsync("""
            INSERT INTO users (username, email) VALUES ('r', 'r@example.com');
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, expires_at) VALUES (LAST_INSERT_ID(), 'deposit', 100, 'pending', @no, @at)
            """,
            ("@no", merchantTradeNo), ("@at", expiresAt.UtcDateTime));
        return await database.ScalarAsync<long>("SELECT id FROM transactions WHERE merchant_trade_no = @no", ("@no", merchantTradeNo));
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string json)
    {
        using var response = await http.PostAsync("/events", new StringContent(json, Encoding.UTF8, "application/json"));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, doc.RootElement.Clone());
    }

    [Fact]
    public async Task AnOrderTheSandboxNeverSawExpiresAndAnswersTheTaskOutput()
    {
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(-1);
        var id = await SeedPendingAsync("RE" + Guid.NewGuid().ToString("N")[..18], expiresAt);
        var merchantTradeNo = await database.ScalarAsync<string>("SELECT merchant_trade_no FROM transactions WHERE id = @id", ("@id", id));

        var (status, body) = await PostAsync(new PaymentTimeoutInput(id, merchantTradeNo, expiresAt).ToJson());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(ReconcileOutcome.Expired, body.GetProperty("outcome").GetString());
        Assert.False(body.TryGetProperty("expiresAt", out _));
        Assert.Equal("expired", await database.ScalarAsync<string>("SELECT status FROM transactions WHERE id = @id", ("@id", id)));

        // Asked again (a retry after a lost answer): already final.
        (status, body) = await PostAsync(new PaymentTimeoutInput(id, merchantTradeNo, expiresAt).ToJson());
        Assert.Equal((HttpStatusCode.OK, ReconcileOutcome.Settled), (status, body.GetProperty("outcome").GetString()));
    }

    [Fact]
    public async Task AnUnknownTransactionBeforeItsDeadlineIsAFunctionErrorNamedInItsBody()
    {
        var (status, body) = await PostAsync(new PaymentTimeoutInput(999_999, "NOSUCHTRADE", DateTimeOffset.UtcNow.AddHours(1)).ToJson());

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal(["errorType", "errorMessage"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Reconcile.TransactionNotFound", body.GetProperty("errorType").GetString());
        Assert.Contains("999999", body.GetProperty("errorMessage").GetString());
    }

    [Fact]
    public async Task AnUnknownTransactionPastItsDeadlineThatEcpayNeverSawIsAbandoned()
    {
        // The deposit was rolled back after its timer started; the sandbox has never seen the order.
        var (status, body) = await PostAsync(new PaymentTimeoutInput(999_998, "RB" + Guid.NewGuid().ToString("N")[..18], DateTimeOffset.UtcNow.AddSeconds(-1)).ToJson());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(ReconcileOutcome.Abandoned, body.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task TheExecutionNameFromTheTaskInputIsInTheLogScope()
    {
        var merchantTradeNo = "RB" + Guid.NewGuid().ToString("N")[..18];
        var input = new PaymentTimeoutInput(999_997, merchantTradeNo, DateTimeOffset.UtcNow.AddSeconds(-1)).ToJson();

        // Abandoned logs a warning (the level these tests keep).
        var (status, _) = await PostAsync(input[..^1] + ""","executionName":"exec-from-the-state-machine"}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var entry = Assert.Single(logs.Entries, e => e.Message.Contains(merchantTradeNo, StringComparison.Ordinal) && e.Message.Contains("abandoned", StringComparison.Ordinal));
        Assert.Equal("exec-from-the-state-machine", entry.Scope["Execution"]);
        Assert.Equal(merchantTradeNo, entry.Scope["MerchantTradeNo"]);
    }

    [Fact]
    public async Task TheExecutionNameInTheInputIsAccepted()
    {
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(-1);
        var merchantTradeNo = "EN" + Guid.NewGuid().ToString("N")[..18];
        var id = await SeedPendingAsync(merchantTradeNo, expiresAt);
        var input = new PaymentTimeoutInput(id, merchantTradeNo, expiresAt).ToJson();

        var (status, body) = await PostAsync(input[..^1] + $$""","executionName":"{{merchantTradeNo}}"}""");

        Assert.Equal((HttpStatusCode.OK, ReconcileOutcome.Expired), (status, body.GetProperty("outcome").GetString()));
    }

    [Fact]
    public async Task ACompletedDepositIsConfirmedOnlyWhenTheStateMachineAsksForIt()
    {
        // Credited an hour ago for an order the sandbox never saw (as a forged post would have done).
        var merchantTradeNo = "CC" + Guid.NewGuid().ToString("N")[..18];
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(-1);
        var user = await database.ScalarAsync<long>("INSERT INTO users (username, email, balance) VALUES ('c', 'c@example.com', 100); SELECT LAST_INSERT_ID()");
        var id = await database.ScalarAsync<long>("""
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, ecpay_trade_no, expires_at)
            VALUES (@user, 'deposit', 100, 'completed', @no, '2501011200000001', @at);
            SELECT LAST_INSERT_ID();
            """, ("@user", user), ("@no", merchantTradeNo), ("@at", expiresAt.UtcDateTime));
        await database.ExecuteAsync("INSERT INTO ledger_entries (user_id, transaction_id, amount, created_at) VALUES (@user, @id, 100, UTC_TIMESTAMP(6) - INTERVAL 1 HOUR)",
            ("@user", user), ("@id", id));
        var input = new PaymentTimeoutInput(id, merchantTradeNo, expiresAt).ToJson();

        // An execution started under the previous definition (no confirmCredit) cannot read the new answers: settled, as before.
        var (status, body) = await PostAsync(input);
        Assert.Equal((HttpStatusCode.OK, ReconcileOutcome.Settled), (status, body.GetProperty("outcome").GetString()));
        Assert.Equal("", await database.ScalarAsync<string>("SELECT COALESCE(review_reason, '') FROM transactions WHERE id = @id", ("@id", id)));

        (status, body) = await PostAsync(input[..^1] + ""","confirmCredit":true}""");
        Assert.Equal((HttpStatusCode.OK, ReconcileOutcome.Unconfirmed), (status, body.GetProperty("outcome").GetString()));
        Assert.Contains("TradeStatus 10200047", await database.ScalarAsync<string>("SELECT review_reason FROM transactions WHERE id = @id", ("@id", id)));
        Assert.Equal(("completed", 100L), (await database.ScalarAsync<string>("SELECT status FROM transactions WHERE id = @id", ("@id", id)),
            await database.ScalarAsync<long>("SELECT balance FROM users WHERE id = @user", ("@user", user))));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"transactionId":1}""")]
    [InlineData("""{"transactionId":1,"merchantTradeNo":"X","expiresAt":"yesterday"}""")]
    public async Task AnInputThatIsNotAPaymentTimeoutIsRejected(string json)
    {
        var (status, body) = await PostAsync(json);

        // 400 is in the Timeouts function's AWS_LWA_ERROR_STATUS_CODES (400-599): it fails the task on AWS as locally.
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Reconcile.InvalidInput", body.GetProperty("errorType").GetString());
    }

    [Fact]
    public void ErrorBodiesStayReadableInsideTheCause()
    {
        // The body is nested twice as a JSON string in the execution's cause: no \uXXXX for Chinese or <>.
        var json = System.Text.Json.JsonSerializer.Serialize(new TaskError("Reconcile.EcpayBadAnswer", "ECPay error: 查無資料 <MerchantID>"), TimeoutsJsonContext.Readable.TaskError);
        Assert.Equal("""{"errorType":"Reconcile.EcpayBadAnswer","errorMessage":"ECPay error: 查無資料 <MerchantID>"}""", json);
    }

    // The state machine's task input arrives as POST /events; a body Kestrel cannot read is a 400 problem, not a 500.
    [Fact]
    public async Task AMalformedChunkedEventIs400AndAnHtmlClientGetsA4xx()
    {
        var server = timeouts.BoundAddress();
        var answer = await RawHttp.SendAsync(server, RawHttp.MalformedChunkedPost(server, "/events", "application/json"));
        Assert.True(answer.Status == 400, answer.Head + "\n" + answer.Body);
        Assert.DoesNotContain("Exception", answer.Body);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/events");
        request.Headers.TryAddWithoutValidation("Accept", "text/html");
        Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, (await http.SendAsync(request)).StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await timeouts.StopAsync();
        await timeouts.DisposeAsync();
        await sandbox.StopAsync();
        await sandbox.DisposeAsync();
        await database.AssertLedgerInvariantAsync();
        await database.DisposeAsync();
    }
}
