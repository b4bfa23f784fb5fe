using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;
using EcpayEvents.Testing;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>
/// What one payment costs in Step Functions on each of its paths: state transitions, counted from the histories of
/// real executions (local interpreter, Timeouts, Notifications, Settlement, MariaDB, fauxqs). Step Functions bills
/// one transition per state entered. The README's Performance section quotes this table, before and after the
/// states were folded; this test fails when the state machine or the README drifts from it.
/// </summary>
public sealed class TransitionsPerPaymentTests(TimeoutStack stack) : IClassFixture<TimeoutStack>, IAsyncLifetime
{
    /// <summary>Per path: transitions before the states were folded (commit a381b38) and now.</summary>
    public static readonly IReadOnlyList<(string Path, int Before, int Now)> Table =
    [
        (CardPaid, 4, 4),
        (Unpaid, 4, 4),
        (Failed, 4, 4),
        (AtmIssuedThenPaid, 8, 7),
        (PaidReturnUrlLost, 9, 8),
        (FurtherSettlementCheck, 5, 4),
    ];

    private const string CardPaid = "card paid, ReturnURL arrives (credit confirmed at expiry)";
    private const string Unpaid = "never paid (expired at its deadline)";
    private const string Failed = "failed (ReturnURL with RtnCode ≠ 1)";
    private const string AtmIssuedThenPaid = "ATM number issued, paid after the deposit's deadline (one extension)";
    private const string PaidReturnUrlLost = "paid, ReturnURL lost (found by QueryTradeInfo, one settlement check)";
    private const string FurtherSettlementCheck = "each further settlement check (Settlement slower than 120 s)";

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await stack.Database.AssertLedgerInvariantAsync();

    [Fact]
    public async Task EachPathCostsTheTransitionsTheReadmeQuotes()
    {
        var counted = await Task.WhenAll(CardPaidAsync(), UnpaidAsync(), FailedAsync(), AtmIssuedThenPaidAsync(), PaidReturnUrlLostAsync());

        var expected = Table.Select(row => (row.Path, row.Now)).ToList();
        Assert.Equal(expected, [.. counted.SelectMany(c => c)]);
        var readme = await File.ReadAllLinesAsync(Path.Combine(RepoPaths.Root, "README.md"), TestContext.Current.CancellationToken);
        foreach (var (path, before, now) in Table)
            Assert.Contains($"| {path} | {before} | {now} |", readme);
    }

    private async Task<(string, int)[]> CardPaidAsync()
    {
        var deposit = await stack.CreateDepositAsync(510, TimeSpan.FromSeconds(8), ecpay: new EcpayTrade.Paid(510, "2501011200005101"), startTimer: false);
        await stack.PostPaidAsync(deposit, "2501011200005101");
        await stack.WaitForStatusAsync(deposit.Id, "completed");
        await stack.StartTimerAsync(deposit);
        Assert.Equal(ReconcileOutcome.Confirmed, TimeoutStack.Outcome(await stack.WaitForExecutionAsync(deposit)));
        return [(CardPaid, (await stack.StatesEnteredAsync(deposit)).Count)];
    }

    private async Task<(string, int)[]> UnpaidAsync()
    {
        var deposit = await stack.CreateDepositAsync(520, TimeSpan.FromSeconds(1), ecpay: new EcpayTrade.Unpaid(520));
        Assert.Equal(ReconcileOutcome.Expired, TimeoutStack.Outcome(await stack.WaitForExecutionAsync(deposit)));
        return [(Unpaid, (await stack.StatesEnteredAsync(deposit)).Count)];
    }

    private async Task<(string, int)[]> FailedAsync()
    {
        var deposit = await stack.CreateDepositAsync(530, TimeSpan.FromSeconds(3), ecpay: new EcpayTrade.Unpaid(530), startTimer: false);
        await stack.PostFailedAsync(deposit, "2501011200005301");
        await stack.WaitForStatusAsync(deposit.Id, "failed");
        await stack.StartTimerAsync(deposit);
        Assert.Equal(ReconcileOutcome.Settled, TimeoutStack.Outcome(await stack.WaitForExecutionAsync(deposit)));
        Assert.Equal(0, stack.Ecpay.Queries(deposit.MerchantTradeNo)); // a failed deposit is not asked about
        return [(Failed, (await stack.StatesEnteredAsync(deposit)).Count)];
    }

    private async Task<(string, int)[]> AtmIssuedThenPaidAsync()
    {
        // The number is issued before the deposit's deadline, the customer pays at the ATM after it: the timer extends
        // to ECPay's ExpireDate once, and then confirms the credit (more than the 3 s confirmation delay after it).
        // The first query is held until Settlement has recorded the ATM deadline, so it cannot overtake the queue.
        const string tradeNo = "2501011200005401";
        var extensionRecorded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var queries = 0;
        var deposit = await stack.CreateDepositAsync(2400, TimeSpan.FromSeconds(2), method: "ATM", ecpay: new EcpayTrade.Gated(extensionRecorded,
            () => Interlocked.Increment(ref queries) == 1 ? new EcpayTrade.Unpaid(2400) : new EcpayTrade.Paid(2400, tradeNo)));
        var atmDeadline = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 20);
        await stack.PostAtmNumberIssuedAsync(deposit, tradeNo, atmDeadline);
        try
        {
            await Poll.UntilAsync(async () => (await stack.TransactionAsync(deposit.Id)).ExpiresAt == atmDeadline, "Settlement to record the ATM ExpireDate");
        }
        finally
        {
            extensionRecorded.SetResult();
        }
        await Poll.UntilAsync(async () => (await AnswersAsync(deposit)).Any(a => a.Contains("\"extend\"", StringComparison.Ordinal)), "the timer to be extended");

        await stack.PostPaidAsync(deposit, tradeNo);
        await stack.WaitForStatusAsync(deposit.Id, "completed");
        var execution = await stack.WaitForExecutionAsync(deposit, TimeSpan.FromSeconds(60));

        Assert.Equal(ReconcileOutcome.Confirmed, TimeoutStack.Outcome(execution));
        // Should the credit land less than 3 s before ECPay's deadline (a very busy machine), the timer extends once more
        // to confirm it later: that further extension, from one Reconcile to the next, is counted apart.
        var extensions = (await AnswersAsync(deposit)).Count(a => a.Contains("\"extend\"", StringComparison.Ordinal));
        var states = await stack.StatesEnteredAsync(deposit);
        var reconciles = ReconcileIndexes(states);
        Assert.Equal(extensions + 1, reconciles.Count);
        return [(AtmIssuedThenPaid, states.Count - (extensions - 1) * (reconciles[1] - reconciles[0]))];
    }

    private async Task<(string, int)[]> PaidReturnUrlLostAsync()
    {
        var deposit = await stack.CreateDepositAsync(1250, TimeSpan.FromSeconds(2), ecpay: new EcpayTrade.Paid(1250, "2501011200005501"));
        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        await stack.WaitForStatusAsync(deposit.Id, "completed");

        // Settlement usually applies the query's result before the first check (2 s here, 120 s on AWS); on a busy
        // machine it may take more: the checks beyond the first are counted apart.
        // A check is the loop from one Reconcile to the next.
        var checks = (await AnswersAsync(deposit)).Count(a => a.Contains("\"paid\"", StringComparison.Ordinal));
        var states = await stack.StatesEnteredAsync(deposit);
        var reconciles = ReconcileIndexes(states);
        Assert.Equal(checks + 1, reconciles.Count);
        var perCheck = reconciles[1] - reconciles[0];
        return [(PaidReturnUrlLost, states.Count - (checks - 1) * perCheck), (FurtherSettlementCheck, perCheck)];
    }

    private static List<int> ReconcileIndexes(List<string> states) =>
        [.. states.Select((state, i) => (state, i)).Where(x => x.state == "Reconcile").Select(x => x.i)];

    /// <summary>What Reconcile answered, in order.</summary>
    private async Task<List<string>> AnswersAsync(Deposit deposit) =>
        [.. (await stack.Client.GetFullExecutionHistoryAsync(stack.ExecutionArn(deposit)))
            .Where(e => e.Type == "LambdaFunctionSucceeded")
            .Select(e => e.LambdaFunctionSucceededEventDetails!.Output ?? "")];
}
