using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;
using EcpayEvents.Testing;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>
/// ECPay's less friendly behaviours, played by the ECPay sandbox, through the real state machine, Timeouts,
/// Notifications and Settlement: an unsigned "not found", a BNPL application at PaymentInfoURL and its payment
/// reported late, a card pending at the bank past the deadline.
/// </summary>
public sealed class EcpayBehaviourTimeoutTests(SandboxTimeoutStack stack) : IClassFixture<SandboxTimeoutStack>, IAsyncLifetime
{
    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await stack.Database.AssertLedgerInvariantAsync();

    // 查詢訂單 (?p=2890): ECPay answers errors without CheckMacValue; "not found" may come either way.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnAbandonedDepositExpiresQuietlyWhetherTheNotFoundAnswerIsSignedOrNot(bool unsigned)
    {
        var deposit = await stack.CreateDepositAsync(300, TimeSpan.FromSeconds(3));
        if (unsigned) await stack.BehaveAsync(deposit.MerchantTradeNo, new { unsignedNotFound = true });

        var execution = await stack.WaitForExecutionAsync(deposit);

        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        Assert.Equal(ReconcileOutcome.Expired, TimeoutStack.Outcome(execution));
        var row = await stack.TransactionAsync(deposit.Id);
        Assert.Equal(("expired", null, 0L, 0L), (row.Status, row.ReviewReason, row.Balance, row.LedgerEntries));
        Assert.Equal(1, await stack.QueriesAsync(deposit.MerchantTradeNo));
    }

    [Fact]
    public async Task ARolledBackDepositsTimerEndsQuietlyOnAnUnsignedNotFound()
    {
        var merchantTradeNo = "TO" + Guid.NewGuid().ToString("N")[..18].ToUpperInvariant();
        await stack.BehaveAsync(merchantTradeNo, new { unsignedNotFound = true });
        var missing = new Deposit(long.MaxValue / 2 - 1, 0, merchantTradeNo, 100, DateTimeOffset.UtcNow.AddSeconds(1));
        await stack.Scheduler.ScheduleAsync(new PaymentTimeoutInput(missing.Id, merchantTradeNo, missing.ExpiresAt), CancellationToken.None);

        var execution = await stack.WaitForExecutionAsync(missing);

        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        Assert.Equal(ReconcileOutcome.Abandoned, TimeoutStack.Outcome(execution));
    }

    // 裕富無卡分期申請結果通知 (?p=37517): PaymentInfoURL with RtnCode 2 and no BankCode/vAccount means "applying";
    // the payment comes to ReturnURL later. The deposit stays pending and its timer waits the BNPL reporting lag.
    [Fact]
    public async Task ABnplApplicationIsUnderstoodAndItsPaymentAfterTheDeadlineButWithinTheLagIsCreditedInTime()
    {
        var deposit = await stack.CreateDepositAsync(3_000, TimeSpan.FromSeconds(4), method: "BNPL");
        await stack.CheckoutAsync(deposit, "BNPL");
        await stack.ActAsync(deposit, "bnpl");
        await WaitAsync(async () => await stack.Database.ScalarAsync<long>(
            "SELECT COUNT(*) FROM payment_events WHERE transaction_id = @id AND source = 'PaymentInfoURL' AND outcome = 'number_issued'", ("@id", deposit.Id)) == 1,
            "the BNPL application to be recorded");
        Assert.Equal("BNPL_URICH", await stack.Database.ScalarAsync<string>("SELECT payment_type FROM transactions WHERE id = @id", ("@id", deposit.Id)));
        Assert.Equal("pending", (await stack.TransactionAsync(deposit.Id)).Status);

        // The timer fires at the deadline, ECPay says unpaid: the deposit waits (not expired), then the loan pays.
        await WaitAsync(async () => await stack.QueriesAsync(deposit.MerchantTradeNo) >= 1, "the timer's first query", TimeSpan.FromSeconds(30));
        Assert.Equal("pending", (await stack.TransactionAsync(deposit.Id)).Status);
        await stack.ActAsync(deposit, "paid");
        var row = await stack.WaitForStatusAsync(deposit.Id, "completed");
        Assert.Equal((3_000L, 1L, null), (row.Balance, row.LedgerEntries, row.ReviewReason));

        var execution = await stack.WaitForExecutionAsync(deposit, TimeSpan.FromSeconds(60));
        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        Assert.Equal(ReconcileOutcome.Confirmed, TimeoutStack.Outcome(execution));
    }

    // 查詢訂單 (?p=2890): a card can show TradeStatus 0 until its bank answers. Nothing shows it under way, so the
    // deposit expires at its deadline; the payment reported later is credited and the event says why it was late.
    [Fact]
    public async Task ACardPendingAtTheBankPastTheDeadlineIsCreditedLateAndExplained()
    {
        var deposit = await stack.CreateDepositAsync(500, TimeSpan.FromSeconds(3));
        await stack.CheckoutAsync(deposit, "Credit");
        await stack.BehaveAsync(deposit.MerchantTradeNo, new { reportLag = "00:00:06" });
        await stack.ActAsync(deposit, "card");

        Assert.Equal(ReconcileOutcome.Expired, TimeoutStack.Outcome(await stack.WaitForExecutionAsync(deposit)));
        var row = await stack.WaitForStatusAsync(deposit.Id, "completed", TimeSpan.FromSeconds(30));
        Assert.Equal((500L, 1L, "paid after expiry"), (row.Balance, row.LedgerEntries, row.ReviewReason));
        var reason = await stack.Database.ScalarAsync<string>(
            "SELECT reason FROM payment_events WHERE transaction_id = @id AND outcome = 'credited_late'", ("@id", deposit.Id));
        Assert.Contains("Credit_CreditCard paid", reason);
        Assert.Contains("reported by ReturnURL", reason);
    }

    // 查詢訂單 (?p=2890) does not say whether the answer's values are signed decoded or as sent: a paid answer signed
    // over the percent-encoded values, for a payment whose post was lost, is credited once through Settlement.
    [Fact]
    public async Task APaidAnswerSignedOverTheRawValuesCreditsAPaymentWhosePostWasLost()
    {
        var deposit = await stack.CreateDepositAsync(700, TimeSpan.FromSeconds(3));
        await stack.CheckoutAsync(deposit, "Credit", returnUrl: "http://127.0.0.1:9/ecpay/return");
        await stack.BehaveAsync(deposit.MerchantTradeNo, new { rawSignedAnswers = true });
        await stack.ActAsync(deposit, "card");

        var execution = await stack.WaitForExecutionAsync(deposit, TimeSpan.FromSeconds(60));

        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        var row = await stack.TransactionAsync(deposit.Id);
        Assert.Equal(("completed", 700L, 1L, null), (row.Status, row.Balance, row.LedgerEntries, row.ReviewReason));
    }

    internal static async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }
}

/// <summary>
/// 查詢訂單 (?p=2890): calling QueryTradeInfo too fast answers 403, then wait 30 minutes. The block is kept in the
/// database, so another Timeouts instance (another Lambda) does not call ECPay during it.
/// </summary>
public sealed class SharedQueryBlockTests(SandboxTimeoutStack stack) : IClassFixture<SandboxTimeoutStack>
{
    [Fact]
    public async Task After403NoInstanceCallsEcpayUntilTheBlockEnds()
    {
        (await stack.Sandbox.PostAsJsonAsync("/sandbox/behaviour", new { queryRateLimit = 1, queryRateWindow = "00:10:00", queryBlock = "00:10:00", resetQueryGate = true })).EnsureSuccessStatusCode();
        var first = await SeedExpiredAsync();
        var second = await SeedExpiredAsync();
        var third = await SeedExpiredAsync();

        Assert.Equal((HttpStatusCode.OK, ReconcileOutcome.Expired), Outcome(await ReconcileAsync(stack.Timeouts, first)));
        var throttled = await ReconcileAsync(stack.Timeouts, second);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Reconcile.EcpayThrottled"), (throttled.Status, throttled.Body.GetProperty("errorType").GetString()));
        var calls = (await stack.Sandbox.GetFromJsonAsync<JsonElement>("/sandbox/behaviour")).GetProperty("queryCalls").GetInt32();

        // Another instance, which never saw the 403 itself: it does not call ECPay.
        var other = await ReconcileAsync(stack.SecondTimeouts, third);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Reconcile.EcpayThrottled"), (other.Status, other.Body.GetProperty("errorType").GetString()));
        Assert.Equal(calls, (await stack.Sandbox.GetFromJsonAsync<JsonElement>("/sandbox/behaviour")).GetProperty("queryCalls").GetInt32());
        Assert.Equal(0, await stack.QueriesAsync(third.MerchantTradeNo));
        Assert.True(await stack.Database.ScalarAsync<long>("SELECT COUNT(*) FROM ecpay_query_block WHERE blocked_until > UTC_TIMESTAMP(6)") == 1);
        Assert.Equal("pending", (await stack.TransactionAsync(third.TransactionId)).Status);

        // The block over (an operator, or its end), the other instance asks again and the deposit expires.
        await stack.Database.ExecuteAsync("UPDATE ecpay_query_block SET blocked_until = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
        (await stack.Sandbox.PostAsJsonAsync("/sandbox/behaviour", new { queryRateLimit = 0, resetQueryGate = true })).EnsureSuccessStatusCode();
        Assert.Equal((HttpStatusCode.OK, ReconcileOutcome.Expired), Outcome(await ReconcileAsync(stack.SecondTimeouts, third)));
        await stack.Database.AssertLedgerInvariantAsync();
    }

    private async Task<PaymentTimeoutInput> SeedExpiredAsync()
    {
        var merchantTradeNo = "QB" + Guid.NewGuid().ToString("N")[..18].ToUpperInvariant();
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(-1);
        expiresAt = new DateTimeOffset(expiresAt.UtcTicks - expiresAt.UtcTicks % 10, TimeSpan.Zero);
        var userId = await stack.CreateUserAsync();
        await stack.Database.ExecuteAsync(
            "INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method, expires_at) VALUES (@u, 'deposit', 100, 'pending', @no, 'Credit', @at)",
            ("@u", userId), ("@no", merchantTradeNo), ("@at", expiresAt.UtcDateTime));
        var id = await stack.Database.ScalarAsync<long>("SELECT id FROM transactions WHERE merchant_trade_no = @no", ("@no", merchantTradeNo));
        return new PaymentTimeoutInput(id, merchantTradeNo, expiresAt);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> ReconcileAsync(Uri timeouts, PaymentTimeoutInput input)
    {
        using var response = await stack.Http.PostAsync(new Uri(timeouts, "/events"), new StringContent(input.ToJson(), Encoding.UTF8, "application/json"));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, doc.RootElement.Clone());
    }

    private static (HttpStatusCode, string?) Outcome((HttpStatusCode Status, JsonElement Body) answer) =>
        (answer.Status, answer.Body.TryGetProperty("outcome", out var o) ? o.GetString() : answer.Body.ToString());
}
