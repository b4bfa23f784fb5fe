using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;
using EcpayEvents.Testing;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>
/// The payment-timeout state machine, run for real on the local Step Functions server against the
/// Timeouts, Notifications and Settlement services, MariaDB and fauxqs. Expiries of 1–3 s.
/// </summary>
public sealed class PaymentTimeoutTests(TimeoutStack stack) : IClassFixture<TimeoutStack>, IAsyncLifetime
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(2);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    // After every test, whatever it did: every balance equals the sum of its ledger entries.
    public async ValueTask DisposeAsync() => await stack.Database.AssertLedgerInvariantAsync();

    [Fact]
    public async Task PaidBeforeExpiryIsConfirmedWithOneQueryAtExpiry()
    {
        // The timer starts once the notification is settled through the queue, however long that takes.
        var deposit = await stack.CreateDepositAsync(500, TimeSpan.FromSeconds(8), ecpay: new EcpayTrade.Paid(500, "2501011200001111"), startTimer: false);

        await stack.PostPaidAsync(deposit, "2501011200001111");
        await stack.WaitForStatusAsync(deposit.Id, "completed");
        Assert.Equal(0, stack.Ecpay.Queries(deposit.MerchantTradeNo)); // nobody asks before the timer fires
        await stack.StartTimerAsync(deposit);

        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        Assert.Equal(ReconcileOutcome.Confirmed, TimeoutStack.Outcome(execution));
        Assert.Equal(["WaitUntilExpiry", "Reconcile", "DecideOutcome", "Confirmed"], await stack.StatesEnteredAsync(deposit));
        Assert.Equal(1, stack.Ecpay.Queries(deposit.MerchantTradeNo));
        var row = await stack.TransactionAsync(deposit.Id);
        Assert.Equal((500L, 1L, 500L, null), (row.Balance, row.LedgerEntries, row.Credited, row.ReviewReason));
        Assert.NotNull(row.ConfirmedAt);
    }

    [Fact]
    public async Task EveryDepositCostsOneQueryPaidOrNot()
    {
        // The figure the README gives: one QueryTradeInfo call per deposit, whether it expires unpaid or is confirmed.
        var paid = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            stack.CreateDepositAsync(100 + i, TimeSpan.FromSeconds(8), ecpay: new EcpayTrade.Paid(100 + i, $"25010112000090{i:00}"), startTimer: false)));
        var unpaid = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            stack.CreateDepositAsync(200 + i, TimeSpan.FromSeconds(8), ecpay: new EcpayTrade.Unpaid(200 + i))));
        await Task.WhenAll(paid.Select((d, i) => stack.PostPaidAsync(d, $"25010112000090{i:00}")));
        await Task.WhenAll(paid.Select(d => stack.WaitForStatusAsync(d.Id, "completed")));
        await Task.WhenAll(paid.Select(stack.StartTimerAsync));

        var outcomes = await Task.WhenAll(paid.Concat(unpaid).Select(async d => TimeoutStack.Outcome(await stack.WaitForExecutionAsync(d))));

        Assert.Equal([.. Enumerable.Repeat(ReconcileOutcome.Confirmed, 4), .. Enumerable.Repeat(ReconcileOutcome.Expired, 4)], outcomes);
        Assert.Equal(8, paid.Concat(unpaid).Sum(d => stack.Ecpay.Queries(d.MerchantTradeNo)));
        Assert.All(paid.Concat(unpaid), d => Assert.Equal(1, stack.Ecpay.Queries(d.MerchantTradeNo)));
    }

    public static TheoryData<string, EcpayTrade, string> Unconfirmed => new()
    {
        { "absent", new EcpayTrade.Status("10200047"), "TradeStatus 10200047" },
        { "never chose", new EcpayTrade.Status("10200095"), "TradeStatus 10200095" },
        { "another amount", new EcpayTrade.Paid(801, "2501011200007777"), "says paid 801 TWD" },
        { "another trade", new EcpayTrade.Paid(800, "2501011200009999"), "TradeNo '2501011200009999'" },
    };

    [Theory]
    [MemberData(nameof(Unconfirmed), DisableDiscoveryEnumeration = true)]
    public async Task ACompletedDepositEcpayDoesNotConfirmIsFlaggedAndTheCreditStays(string what, EcpayTrade ecpay, string reason)
    {
        // A post credited the deposit (as a forged one would), and ECPay's QueryTradeInfo says otherwise.
        var deposit = await stack.CreateDepositAsync(800, TimeSpan.FromSeconds(8), ecpay: ecpay, startTimer: false);
        await stack.PostPaidAsync(deposit, "2501011200007777");
        await stack.WaitForStatusAsync(deposit.Id, "completed");
        await stack.StartTimerAsync(deposit);

        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        Assert.Equal(ReconcileOutcome.Unconfirmed, TimeoutStack.Outcome(execution));
        Assert.Equal(["WaitUntilExpiry", "Reconcile", "DecideOutcome", "Unconfirmed"], await stack.StatesEnteredAsync(deposit));
        Assert.Equal(1, stack.Ecpay.Queries(deposit.MerchantTradeNo));
        var row = await stack.TransactionAsync(deposit.Id);
        // Flagged for an operator, not reversed: no balance write here.
        Assert.Equal(("completed", 800L, 1L, null), (row.Status, row.Balance, row.LedgerEntries, row.ConfirmedAt));
        Assert.StartsWith("credit not confirmed: QueryTradeInfo says ", row.ReviewReason);
        Assert.True(row.ReviewReason!.Contains(reason, StringComparison.Ordinal), $"{what}: {row.ReviewReason}");
    }

    [Fact]
    public async Task ACompletedDepositEcpaySaysIsUnpaidIsAskedOnceMoreLaterThenFlagged()
    {
        // TradeStatus 0 may mean the bank has not answered yet (ECPay: ask again later): asked at expiry, and again 12 s
        // after the credit (40 min on AWS), which is later than the timer; still unpaid then → flagged.
        var deposit = await stack.CreateDepositAsync(850, TimeSpan.FromSeconds(8), ecpay: new EcpayTrade.Unpaid(850), startTimer: false);
        await stack.PostPaidAsync(deposit, "2501011200008888");
        await stack.WaitForStatusAsync(deposit.Id, "completed");
        await stack.StartTimerAsync(deposit);

        var execution = await stack.WaitForExecutionAsync(deposit, TimeSpan.FromSeconds(45));
        Assert.Equal(ReconcileOutcome.Unconfirmed, TimeoutStack.Outcome(execution));
        var states = await stack.StatesEnteredAsync(deposit);
        Assert.Equal(["WaitUntilExtendedExpiry", "Reconcile", "DecideOutcome", "Unconfirmed"], states[^4..]);
        Assert.Equal(2, stack.Ecpay.Queries(deposit.MerchantTradeNo));
        var row = await stack.TransactionAsync(deposit.Id);
        Assert.Equal(("completed", 850L, 1L), (row.Status, row.Balance, row.LedgerEntries));
        Assert.Contains("TradeStatus 0", row.ReviewReason);
    }

    [Fact]
    public async Task ACreditAfterASimulatedResultIsFlaggedWithoutAskingEcpay()
    {
        // A SimulatePaid=1 result is recorded next to the credit: QueryTradeInfo's "paid" cannot tell the two apart.
        var deposit = await stack.CreateDepositAsync(870, TimeSpan.FromSeconds(8), ecpay: new EcpayTrade.Paid(870, "2501011200006868"), startTimer: false);
        await stack.PostPaidAsync(deposit, "2501011200006868");
        await stack.WaitForStatusAsync(deposit.Id, "completed");
        await stack.PostPaidAsync(deposit, "2501011200006868", simulated: true);
        await Poll.UntilAsync(async () => await stack.Database.ScalarAsync<long>(
            "SELECT COUNT(*) FROM payment_events WHERE merchant_trade_no = @no AND outcome = 'simulated'", ("@no", deposit.MerchantTradeNo)) == 1,
            "the simulated result to be recorded");
        await stack.StartTimerAsync(deposit);

        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ReconcileOutcome.Unconfirmed, TimeoutStack.Outcome(execution));
        Assert.Equal(0, stack.Ecpay.Queries(deposit.MerchantTradeNo));
        var row = await stack.TransactionAsync(deposit.Id);
        Assert.Equal(("completed", 870L, 1L), (row.Status, row.Balance, row.LedgerEntries));
        Assert.Contains("SimulatePaid=1", row.ReviewReason);
    }

    [Fact]
    public async Task PaidButOnlyFoundByTheQueryIsCreditedOnceThroughTheQueueAndTheTimerEndsOnceSettled()
    {
        var deposit = await stack.CreateDepositAsync(1200, Soon, ecpay: new EcpayTrade.Paid(1200, "2501011200002222"));

        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        // Paid, enqueued, then checked again after WaitForSettlement until Settlement has applied it and Reconcile answers
        // settled. Settlement works from the queue (1 s long polls) and WaitForSettlement is 2 s here: on a busy machine
        // it may take more than one check, so any number up to the state machine's five is fine; nothing else is.
        // The query's own answer, recorded by Settlement, is the confirmation: no further query.
        Assert.Equal(ReconcileOutcome.Confirmed, TimeoutStack.Outcome(execution));
        var checks = AssertPaidThenSettledAfterChecks(["WaitUntilExpiry", "Reconcile", "DecideOutcome"], await stack.StatesEnteredAsync(deposit));
        var history = await stack.Client.GetFullExecutionHistoryAsync(stack.ExecutionArn(deposit));
        Assert.Equal(checks, stack.Ecpay.Queries(deposit.MerchantTradeNo));
        Assert.Equal([.. Enumerable.Repeat("{\"outcome\":\"paid\"}", checks), "{\"outcome\":\"confirmed\"}"],
            history.Where(e => e.Type == "LambdaFunctionSucceeded").Select(e => e.LambdaFunctionSucceededEventDetails!.Output));

        var row = await stack.WaitForStatusAsync(deposit.Id, "completed");
        Assert.Equal((1200L, 1L, 1200L, null), (row.Balance, row.LedgerEntries, row.Credited, row.ReviewReason));
        Assert.NotNull(row.ConfirmedAt);
        Assert.Equal(1L, await stack.Database.ScalarAsync<long>(
            "SELECT COUNT(*) FROM payment_events WHERE merchant_trade_no = @no AND source = 'QueryTradeInfo' AND outcome = 'credited'", ("@no", deposit.MerchantTradeNo)));
    }

    // Notifications and Settlement accept only the fields ECPay documents. That strictness is safe because the
    // timeout asks ECPay: a genuine payment whose post is refused by mistake is credited then, once.
    [Fact]
    public async Task AGenuinePostRefusedForAFieldEcpayNeverDocumentedIsCreditedByTheTimeout()
    {
        var deposit = await stack.CreateDepositAsync(800, Soon, ecpay: new EcpayTrade.Paid(800, "2501011200004444"));

        var (status, body) = await stack.PostPaidWithAnExtraFieldAsync(deposit, "2501011200004444", "NewEcpayField", "1");
        Assert.Equal((400, "0|unexpected fields"), (status, body));
        Assert.Equal("pending", (await stack.TransactionAsync(deposit.Id)).Status);

        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        // Found by the query, whose recorded answer is also the credit's confirmation.
        Assert.Equal(ReconcileOutcome.Confirmed, TimeoutStack.Outcome(execution));
        var row = await stack.WaitForStatusAsync(deposit.Id, "completed");
        Assert.Equal((800L, 1L, 800L, null), (row.Balance, row.LedgerEntries, row.Credited, row.ReviewReason));
        Assert.InRange(stack.Ecpay.Queries(deposit.MerchantTradeNo), 1, 5); // one, plus one per settlement check on a busy machine
        Assert.Equal(1L, await stack.Database.ScalarAsync<long>(
            "SELECT COUNT(*) FROM payment_events WHERE merchant_trade_no = @no AND source = 'QueryTradeInfo' AND outcome = 'credited'", ("@no", deposit.MerchantTradeNo)));
    }

    [Theory]
    [InlineData("0")]        // created, never paid
    [InlineData("10200095")] // the customer never chose a payment method
    [InlineData("10200047")] // ECPay never saw the order
    public async Task NeverPaidExpires(string tradeStatus)
    {
        var deposit = await stack.CreateDepositAsync(300, TimeSpan.FromSeconds(1),
            ecpay: tradeStatus == "0" ? new EcpayTrade.Unpaid(300) : new EcpayTrade.Status(tradeStatus));

        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        Assert.Equal(ReconcileOutcome.Expired, TimeoutStack.Outcome(execution));
        Assert.Equal(["WaitUntilExpiry", "Reconcile", "DecideOutcome", "Expired"], await stack.StatesEnteredAsync(deposit));
        var row = await stack.TransactionAsync(deposit.Id);
        Assert.Equal(("expired", 0L, 0L), (row.Status, row.Balance, row.LedgerEntries));
        Assert.Equal(1, stack.Ecpay.Queries(deposit.MerchantTradeNo));
    }

    [Fact]
    public async Task AtmNumberIssuedExtendsTheTimeoutAndAPaymentFoundLaterIsCredited()
    {
        // ECPay answers unpaid to the first query (held until Settlement has recorded the ATM deadline, so the first
        // wake-up cannot overtake the queue on a busy machine), and paid from then on: the customer pays at the ATM and
        // the ReturnURL never arrives.
        var extensionRecorded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var queries = 0;
        var deposit = await stack.CreateDepositAsync(2000, Soon, method: "ATM", ecpay: new EcpayTrade.Gated(extensionRecorded,
            () => Interlocked.Increment(ref queries) == 1 ? new EcpayTrade.Unpaid(2000) : new EcpayTrade.Paid(2000, "2501011200003333")));
        // ECPay's ATM deadline, in whole seconds (Taiwan time), a few seconds after ours.
        var atmDeadline = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        await stack.PostAtmNumberIssuedAsync(deposit, "2501011200003333", atmDeadline);
        try
        {
            await Poll.UntilAsync(async () => (await stack.TransactionAsync(deposit.Id)).ExpiresAt == atmDeadline, "Settlement to record the ATM ExpireDate as the new expires_at");
        }
        finally
        {
            extensionRecorded.SetResult();
        }

        // First wake-up: unpaid, but the deadline moved → extend. The second wake-up finds the payment by QueryTradeInfo.
        await Poll.UntilAsync(async () => (await stack.StatesEnteredAsync(deposit)).Contains("WaitUntilExtendedExpiry"), "the timeout to be extended");

        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        Assert.Equal(ReconcileOutcome.Confirmed, TimeoutStack.Outcome(execution));
        AssertPaidThenSettledAfterChecks(
            ["WaitUntilExpiry", "Reconcile", "DecideOutcome", "WaitUntilExtendedExpiry", "Reconcile", "DecideOutcome"],
            await stack.StatesEnteredAsync(deposit));
        var history = await stack.Client.GetFullExecutionHistoryAsync(stack.ExecutionArn(deposit));
        var secondWait = history.Single(e => e.StateEnteredEventDetails?.Name == "WaitUntilExtendedExpiry");
        Assert.Contains(atmDeadline.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), secondWait.StateEnteredEventDetails!.Input);
        Assert.True(execution.StopDate >= atmDeadline, "the second Reconcile ran before the extended deadline");

        var row = await stack.WaitForStatusAsync(deposit.Id, "completed");
        Assert.Equal((2000L, 1L), (row.Balance, row.LedgerEntries));
    }

    [Fact]
    public async Task EcpayDownIsRetriedThenNeedsReviewWithTheErrorInTheHistory()
    {
        var deposit = await stack.CreateDepositAsync(700, TimeSpan.FromSeconds(1), ecpay: new EcpayTrade.Down());

        var execution = await stack.WaitForExecutionAsync(deposit, TimeSpan.FromSeconds(60));
        Assert.Equal(ExecutionStatus.Failed, execution.Status);
        // Behind Lambda Web Adapter the error is the adapter's; our error type and message are in the cause.
        Assert.Equal(LocalStepFunctionsServer.LambdaWebAdapterErrorType, execution.Error);
        Assert.Contains("Reconcile.EcpayUnavailable", execution.Cause);
        Assert.Contains("QueryTradeInfo", execution.Cause);
        var failure = TaskFailure.Unwrap(execution.Error, execution.Cause);
        Assert.Equal(("Reconcile.EcpayUnavailable", 503), (failure.ErrorType, failure.StatusCode));
        Assert.StartsWith("QueryTradeInfo: ", failure.ErrorMessage);
        Assert.Equal("NeedsReview", (await stack.StatesEnteredAsync(deposit))[^1]);

        var history = await stack.Client.GetFullExecutionHistoryAsync(stack.ExecutionArn(deposit));
        var failures = history.Where(e => e.Type == "LambdaFunctionFailed").ToList();
        Assert.Equal(11, failures.Count); // the first attempt and ten retries (100 ms apart here)
        Assert.All(failures, f => Assert.Equal("Reconcile.EcpayUnavailable", TaskFailure.Unwrap(f.Failure!.Error, f.Failure.Cause).ErrorType));
        Assert.Equal(11 * 2, stack.Ecpay.Queries(deposit.MerchantTradeNo)); // each with one HTTP retry of its own
        // Nothing decided without ECPay: the payment stays pending for an operator.
        Assert.Equal("pending", (await stack.TransactionAsync(deposit.Id)).Status);
    }

    [Fact]
    public async Task PaidPerQueryButNeverSettledEndsInNeedsReviewAfterTheChecks()
    {
        // A SimulatePaid=1 ReturnURL was recorded (no money moved); later QueryTradeInfo says paid. Settlement cannot tell
        // a simulation from a payment and rejects the query's result, so the transaction stays pending: the timer must not
        // end as if it were paid.
        // ECPay's paid answer is held until the simulated result is recorded, however late the queue delivers it.
        var simulatedRecorded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var deposit = await stack.CreateDepositAsync(800, TimeSpan.FromSeconds(5),
            ecpay: new EcpayTrade.Gated(simulatedRecorded, () => new EcpayTrade.Paid(800, "2501011200007777")));
        await stack.PostPaidAsync(deposit, "2501011200007777", simulated: true);
        try
        {
            await Poll.UntilAsync(async () => await stack.Database.ScalarAsync<long>(
                "SELECT COUNT(*) FROM payment_events WHERE merchant_trade_no = @no", ("@no", deposit.MerchantTradeNo)) == 1, "the simulated result to be recorded");
        }
        finally
        {
            simulatedRecorded.SetResult();
        }

        var execution = await stack.WaitForExecutionAsync(deposit, TimeSpan.FromSeconds(60));

        Assert.Equal(ExecutionStatus.Failed, execution.Status);
        Assert.Equal("Reconcile.PaidButNotSettled", execution.Error);
        Assert.Contains(deposit.MerchantTradeNo, execution.Cause);
        var states = await stack.StatesEnteredAsync(deposit);
        Assert.Equal(5, states.Count(s => s == "WaitForSettlement"));
        Assert.Equal(["PaidButNotSettled", "NeedsReview"], states[^2..]);
        var row = await stack.TransactionAsync(deposit.Id);
        Assert.Equal(("pending", 0L, 0L), (row.Status, row.Balance, row.LedgerEntries));
        Assert.Equal(6, stack.Ecpay.Queries(deposit.MerchantTradeNo)); // asked at expiry and at each of the five checks
    }

    [Fact]
    public async Task ATimerWhoseDepositWasRolledBackEndsInNoSuchPayment()
    {
        // StartExecution succeeded, then the deposit's INSERT rolled back (e.g. the client timed out): no row, and ECPay never saw the order.
        var merchantTradeNo = "TO" + Guid.NewGuid().ToString("N")[..18].ToUpperInvariant();
        var missing = new Deposit(long.MaxValue / 2, 0, merchantTradeNo, 100, DateTimeOffset.UtcNow.AddSeconds(1));
        await stack.Scheduler.ScheduleAsync(new PaymentTimeoutInput(missing.Id, merchantTradeNo, missing.ExpiresAt), CancellationToken.None);

        var execution = await stack.WaitForExecutionAsync(missing);

        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        Assert.Equal(ReconcileOutcome.Abandoned, TimeoutStack.Outcome(execution));
        Assert.Equal(["WaitUntilExpiry", "Reconcile", "DecideOutcome", "NoSuchPayment"], await stack.StatesEnteredAsync(missing));
        Assert.Equal(1, stack.Ecpay.Queries(merchantTradeNo));
    }

    [Fact]
    public async Task ANotificationAfterExpiryIsCreditedAndFlagged()
    {
        var deposit = await stack.CreateDepositAsync(900, TimeSpan.FromSeconds(1), ecpay: new EcpayTrade.Unpaid(900));
        Assert.Equal(ReconcileOutcome.Expired, TimeoutStack.Outcome(await stack.WaitForExecutionAsync(deposit)));
        Assert.Equal("expired", (await stack.TransactionAsync(deposit.Id)).Status);

        await stack.PostPaidAsync(deposit, "2501011200004444");

        var row = await stack.WaitForStatusAsync(deposit.Id, "completed");
        Assert.Equal((900L, 1L), (row.Balance, row.LedgerEntries));
        Assert.False(string.IsNullOrEmpty(row.ReviewReason), "a payment after expiry must be flagged for review");
    }

    [Fact]
    public async Task ANotificationSettledWhileTheTimeoutFiresWins()
    {
        // The timeout asks ECPay just before the customer pays and gets a stale "unpaid"; while that answer is
        // in flight, the ReturnURL is settled. The conditional expire then touches nothing: credited once. The stale
        // answer is not held against the credit: the timer waits until 3 s after it and asks again, and ECPay confirms.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var deposit = await stack.CreateDepositAsync(400, TimeSpan.FromSeconds(1), ecpay: new EcpayTrade.Gated(gate, () => new EcpayTrade.Unpaid(400)));
        await Poll.UntilAsync(() => Task.FromResult(stack.Ecpay.Queries(deposit.MerchantTradeNo) == 1), "the timeout to ask ECPay");

        await stack.PostPaidAsync(deposit, "2501011200005555");
        await stack.WaitForStatusAsync(deposit.Id, "completed");
        stack.Ecpay.Set(deposit.MerchantTradeNo, new EcpayTrade.Paid(400, "2501011200005555")); // from the next query on
        gate.SetResult();

        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ReconcileOutcome.Confirmed, TimeoutStack.Outcome(execution));
        Assert.Equal(["WaitUntilExpiry", "Reconcile", "DecideOutcome", "WaitUntilExtendedExpiry", "Reconcile", "DecideOutcome", "Confirmed"],
            await stack.StatesEnteredAsync(deposit));
        Assert.Equal(2, stack.Ecpay.Queries(deposit.MerchantTradeNo));
        var row = await stack.TransactionAsync(deposit.Id);
        Assert.Equal(("completed", 400L, 1L, null), (row.Status, row.Balance, row.LedgerEntries, row.ReviewReason));
        Assert.NotNull(row.ConfirmedAt);
    }

    [Fact]
    public async Task AQueryAndANotificationOfTheSamePaymentAtOnceCreditItOnce()
    {
        // Both sources say paid at the same moment: two messages on the queue, one credit.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var deposit = await stack.CreateDepositAsync(650, TimeSpan.FromSeconds(1), ecpay: new EcpayTrade.Gated(gate, () => new EcpayTrade.Paid(650, "2501011200006666")));
        await Poll.UntilAsync(() => Task.FromResult(stack.Ecpay.Queries(deposit.MerchantTradeNo) == 1), "the timeout to ask ECPay");

        var notification = stack.PostPaidAsync(deposit, "2501011200006666");
        gate.SetResult();
        await notification;

        // Confirmed by the query's recorded answer, or (when the notification's credit was checked before that answer
        // was recorded) by one more query 3 s after the credit.
        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ReconcileOutcome.Confirmed, TimeoutStack.Outcome(execution));
        await stack.WaitForStatusAsync(deposit.Id, "completed");
        // The gated query answered paid, so Reconcile put that answer on the queue too: wait until both
        // messages went through Settlement (the query's is recorded as an event of its own), then look.
        Assert.Contains("{\"outcome\":\"paid\"}", (await stack.Client.GetFullExecutionHistoryAsync(stack.ExecutionArn(deposit)))
            .Where(e => e.Type == "LambdaFunctionSucceeded").Select(e => e.LambdaFunctionSucceededEventDetails!.Output));
        await Poll.UntilAsync(async () => await stack.Database.ScalarAsync<long>(
            "SELECT COUNT(DISTINCT source) FROM payment_events WHERE merchant_trade_no = @no", ("@no", deposit.MerchantTradeNo)) == 2,
            "the query's and the notification's results to be settled");
        var row = await stack.TransactionAsync(deposit.Id);
        Assert.Equal((650L, 1L, 650L), (row.Balance, row.LedgerEntries, row.Credited));
    }

    /// <summary>
    /// The states entered are <paramref name="start"/> (ending in the Reconcile that said paid), then one or more
    /// settlement checks — the first, then NextSettlementCheck while Reconcile still says paid, at most the state
    /// machine's five — and finally Paid. Returns the number of checks.
    /// </summary>
    private static int AssertPaidThenSettledAfterChecks(string[] start, List<string> states)
    {
        string[] check = ["NextSettlementCheck", "WaitForSettlement", "Reconcile", "DecideOutcome"];
        string[] first = ["FirstSettlementCheck", "WaitForSettlement", "Reconcile", "DecideOutcome"];
        var checks = Math.Clamp((states.Count - start.Length - 1) / check.Length, 1, 5);
        var expected = start.Concat(first).Concat(Enumerable.Repeat(check, checks - 1).SelectMany(c => c)).Append("Paid").ToList();
        Assert.Equal(expected, states);
        return checks;
    }
}
