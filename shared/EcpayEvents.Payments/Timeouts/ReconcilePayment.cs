using Dapper;
using EcpayEvents.Ecpay;
using EcpayEvents.Payments.Settlement;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Payments.Timeouts;

// Use case "reconcile a payment": the payment-timeout state machine's Reconcile task. When a pending
// payment's timer fires, the ledger and ECPay's QueryTradeInfo decide between settled / paid / expired /
// extend; anything undecidable is an error, so the state machine retries and finally asks an operator.
// A completed deposit's credit is confirmed with one QueryTradeInfo call (defence in depth: a forged or
// mistaken post that credited it is found), and flagged for review when ECPay does not confirm it.
// The decision is a pure function (ReconcileRules.Decide); ReconcilePayment does the I/O around it.

/// <summary>The transaction the timer is about, as the ledger has it now.</summary>
/// <param name="Credit">For a completed deposit: what its credit rests on (null otherwise).</param>
public sealed record TimedTransaction(long Id, string Type, long Amount, string Status, string? MerchantTradeNo, DateTimeOffset? ExpiresAt, CreditEvidence? Credit = null)
{
    public bool IsFinal => Status is Transactions.TransactionStatus.Completed or Transactions.TransactionStatus.Failed or Transactions.TransactionStatus.Expired;
}

/// <summary>A completed deposit's credit, as the ledger records it, for confirming it with ECPay.</summary>
/// <param name="CreditedAt">When the ledger entry was written (our clock: a post's PaymentDate is whatever the post says); null if there is none.</param>
/// <param name="EcpayTradeNo">The TradeNo of the result that completed it.</param>
/// <param name="ConfirmedAt">When QueryTradeInfo confirmed it, if it did.</param>
/// <param name="SimulatedResultSeen">A SimulatePaid=1 result was recorded: a "paid" query answer cannot tell it from a payment.</param>
/// <param name="PaidQueryAnswers">QueryTradeInfo answers saying paid that Settlement recorded (credited or already completed) for it.</param>
public sealed record CreditEvidence(
    DateTimeOffset? CreditedAt,
    string? EcpayTradeNo,
    DateTimeOffset? ConfirmedAt,
    bool SimulatedResultSeen,
    IReadOnlyList<RecordedPaidAnswer> PaidQueryAnswers);

/// <summary>A recorded QueryTradeInfo answer with TradeStatus 1.</summary>
public sealed record RecordedPaidAnswer(string TradeNo, long? TradeAmt);

/// <summary>
/// When a completed deposit's credit is confirmed with QueryTradeInfo. ECPay advises asking 10 minutes after a
/// payment, and again 10–30 minutes later when the bank had not answered yet (TradeStatus 0).
/// </summary>
/// <param name="Enabled">The execution understands the confirmed/unconfirmed answers (its Reconcile input says confirmCredit).</param>
/// <param name="FirstLookAfterCredit">Ask no earlier than this after the credit (the timer waits longer when it fires earlier).</param>
/// <param name="UnpaidLookAgainAfterCredit">An "unpaid" answer before this much time after the credit is asked again then, not flagged.</param>
public sealed record CreditConfirmation(bool Enabled, TimeSpan FirstLookAfterCredit, TimeSpan UnpaidLookAgainAfterCredit)
{
    public static readonly TimeSpan DefaultFirstLook = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan DefaultUnpaidLookAgain = TimeSpan.FromMinutes(40);

    public static CreditConfirmation Off { get; } = new(false, DefaultFirstLook, DefaultUnpaidLookAgain);
}

/// <summary>What to do next. Only <see cref="Answer"/> and <see cref="Fail"/> end a reconcile.</summary>
public abstract record ReconcileDecision
{
    private ReconcileDecision() { }

    /// <summary>Tell the state machine this (settled, or extend with a later expiresAt).</summary>
    public sealed record Answer(ReconcileAnswer Result, string Why) : ReconcileDecision;

    /// <summary>The ledger alone cannot decide: ask ECPay, then decide again with its answer.</summary>
    public sealed record AskEcpay : ReconcileDecision;

    /// <summary>ECPay says paid: put its answer on the payment-results queue for Settlement, answer paid.</summary>
    public sealed record EnqueuePaid(TradeInfo Trade) : ReconcileDecision;

    /// <summary>Not paid and past the deadline: expire the transaction if it is still pending (and not extended meanwhile).</summary>
    public sealed record Expire(string Why) : ReconcileDecision;

    /// <summary>ECPay confirms the completed deposit's credit: record when, answer confirmed.</summary>
    public sealed record Confirm(string Why) : ReconcileDecision;

    /// <summary>ECPay does not confirm the completed deposit's credit: set review_reason (the credit stays), answer unconfirmed.</summary>
    public sealed record FlagUnconfirmed(string ReviewReason) : ReconcileDecision;

    /// <summary>Cannot decide now: an error (HTTP 5xx), so the state machine retries and then goes to NeedsReview.</summary>
    public sealed record Fail(string ErrorType, string Message) : ReconcileDecision;
}

/// <summary>The error types the Reconcile task reports (they appear as the error in the execution history).</summary>
public static class ReconcileErrors
{
    public const string InvalidInput = "Reconcile.InvalidInput";
    public const string TransactionNotFound = "Reconcile.TransactionNotFound";
    public const string TransactionMismatch = "Reconcile.TransactionMismatch";
    public const string EcpayUnavailable = "Reconcile.EcpayUnavailable";
    public const string EcpayThrottled = "Reconcile.EcpayThrottled";
    public const string EcpayBadAnswer = "Reconcile.EcpayBadAnswer";
    public const string UnknownTradeStatus = "Reconcile.UnknownTradeStatus";
    public const string AmountMismatch = "Reconcile.AmountMismatch";
    public const string NotYetExpired = "Reconcile.NotYetExpired";
    public const string Internal = "Reconcile.InternalError";
}

/// <summary>The reconcile rules: (timer input, ledger row, ECPay's answer, now) → decision. No I/O.</summary>
public static class ReconcileRules
{
    /// <summary>
    /// A deadline counts as moved only when it is this much later than the timer's: the execution input
    /// carries milliseconds, the ledger microseconds, and a rounding difference must not loop the timer.
    /// </summary>
    public static readonly TimeSpan ExtensionThreshold = TimeSpan.FromSeconds(1);

    /// <summary>A timer may fire a little early (clock skew between Step Functions and us); earlier than this is a bug.</summary>
    public static readonly TimeSpan EarlyTolerance = TimeSpan.FromSeconds(5);

    /// <param name="input">The execution's state: which transaction, and the deadline the timer waited for.</param>
    /// <param name="transaction">The ledger row by id; null when there is none.</param>
    /// <param name="ecpay">ECPay's answer; null before it was asked.</param>
    /// <param name="confirmation">Whether and when a completed deposit is confirmed with ECPay; off by default.</param>
    public static ReconcileDecision Decide(PaymentTimeoutInput input, TimedTransaction? transaction, QueryTradeInfoResult? ecpay, DateTimeOffset now,
        CreditConfirmation? confirmation = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        confirmation ??= CreditConfirmation.Off;

        // The deposit schedules its timer just before COMMIT: before the deadline a missing row is retried (the
        // COMMIT lands). Past it, the deposit was rolled back after StartExecution succeeded (e.g. the client
        // timed out): ECPay is asked, and if it never saw a payment the timer ends quietly (abandoned).
        if (transaction is null)
        {
            if (now < input.ExpiresAt - EarlyTolerance)
                return new ReconcileDecision.Fail(ReconcileErrors.TransactionNotFound, $"transaction {input.TransactionId} ({input.MerchantTradeNo}) does not exist (yet)");
            if (ecpay is null)
                return new ReconcileDecision.AskEcpay();
            return ecpay switch
            {
                QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.NotFound or TradeStatus.NeverChosePaymentMethod, Trade: var none } =>
                    new ReconcileDecision.Answer(new ReconcileAnswer(ReconcileOutcome.Abandoned),
                        $"transaction {input.TransactionId} does not exist and ECPay never saw a payment (TradeStatus {none.TradeStatusCode}): the deposit was rolled back after its timer started"),
                QueryTradeInfoResult.Answered { Trade: var known } =>
                    // Money may arrive (or did) for an order the ledger does not have: an operator must look.
                    new ReconcileDecision.Fail(ReconcileErrors.TransactionNotFound,
                        $"transaction {input.TransactionId} ({input.MerchantTradeNo}) does not exist, but ECPay knows the order: TradeStatus {known.TradeStatusCode} ({known.Status}), TradeNo '{known.TradeNo}'"),
                _ => EcpayFailed(ecpay),
            };
        }
        if (!string.Equals(transaction.MerchantTradeNo, input.MerchantTradeNo, StringComparison.Ordinal) || transaction.Type != Transactions.TransactionType.Deposit)
            return new ReconcileDecision.Fail(ReconcileErrors.TransactionMismatch,
                $"transaction {transaction.Id} is a {transaction.Type} with MerchantTradeNo '{transaction.MerchantTradeNo}', not the deposit '{input.MerchantTradeNo}'");
        if (transaction.Status == Transactions.TransactionStatus.Completed && confirmation.Enabled)
            return ConfirmCredit(input, transaction, ecpay, now, confirmation);
        if (transaction.IsFinal)
            return Settled($"transaction is already {transaction.Status}");

        if (ecpay is null)
            return new ReconcileDecision.AskEcpay();

        // Paid wins over everything: money received is credited, whatever the deadline says.
        if (ecpay is QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.Paid, Trade: var paid })
        {
            return paid.TradeAmt == transaction.Amount
                ? new ReconcileDecision.EnqueuePaid(paid)
                // Settlement would reject it and the transaction would stay pending with no timer left: an operator must look.
                : new ReconcileDecision.Fail(ReconcileErrors.AmountMismatch,
                    $"ECPay says paid {paid.TradeAmt} TWD (TradeNo {paid.TradeNo}), the transaction is {transaction.Amount} TWD");
        }

        // A later deadline (PaymentInfoURL: ATM/CVS/BARCODE number issued) means wait, whatever else ECPay
        // said or whether it answered at all: waiting decides nothing, and ECPay is asked again then.
        if (transaction.ExpiresAt is { } moved && moved > input.ExpiresAt + ExtensionThreshold)
            return new ReconcileDecision.Answer(new ReconcileAnswer(ReconcileOutcome.Extend, moved),
                $"deadline moved to {moved:O} (payment number issued)");

        switch (ecpay)
        {
            case QueryTradeInfoResult.Answered { Trade: var trade }:
                if (trade.Status == TradeStatus.Unknown)
                    // Never paid, never final: ask again later (and an operator after the retries).
                    return new ReconcileDecision.Fail(ReconcileErrors.UnknownTradeStatus, $"ECPay answered TradeStatus {trade.TradeStatusCode}, which this system does not know");
                if (now < input.ExpiresAt - EarlyTolerance)
                    return new ReconcileDecision.Fail(ReconcileErrors.NotYetExpired, $"woke up at {now:O}, before the deadline {input.ExpiresAt:O}");
                return new ReconcileDecision.Expire(trade.Status switch
                {
                    TradeStatus.Unpaid => "ECPay: created, not paid (TradeStatus 0) and past the deadline",
                    TradeStatus.NeverChosePaymentMethod => "ECPay: the customer never chose a payment method (TradeStatus 10200095)",
                    TradeStatus.NotFound => "ECPay: order not found (TradeStatus 10200047): checkout never reached ECPay",
                    _ => throw new ArgumentOutOfRangeException(nameof(ecpay), trade.Status, null),
                });
            default:
                return EcpayFailed(ecpay);
        }
    }

    /// <summary>
    /// A completed deposit: confirmed when ECPay says paid with the same amount and TradeNo (asked once, at least
    /// <see cref="CreditConfirmation.FirstLookAfterCredit"/> after the credit, or an answer Settlement recorded);
    /// otherwise flagged for review. Never a balance change: an operator decides about a flagged credit.
    /// </summary>
    private static ReconcileDecision ConfirmCredit(PaymentTimeoutInput input, TimedTransaction transaction, QueryTradeInfoResult? ecpay, DateTimeOffset now,
        CreditConfirmation confirmation)
    {
        var credit = transaction.Credit ?? new CreditEvidence(null, null, null, false, []);
        if (credit.ConfirmedAt is { } confirmedAt)
            return new ReconcileDecision.Answer(new ReconcileAnswer(ReconcileOutcome.Confirmed), $"credit already confirmed by QueryTradeInfo at {confirmedAt:O}");
        if (credit.SimulatedResultSeen)
            return new ReconcileDecision.FlagUnconfirmed("credit not confirmable: a SimulatePaid=1 result was recorded and QueryTradeInfo cannot tell it from a payment; check ECPay");
        if (credit.PaidQueryAnswers.FirstOrDefault(a => Confirms(a.TradeNo, a.TradeAmt, transaction, credit)) is { } recorded)
            return new ReconcileDecision.Confirm($"a recorded QueryTradeInfo answer says paid {recorded.TradeAmt} TWD, TradeNo {recorded.TradeNo}");

        if (ecpay is null)
        {
            if (LaterLook(credit.CreditedAt, confirmation.FirstLookAfterCredit, input, now) is { } firstLook)
                return new ReconcileDecision.Answer(new ReconcileAnswer(ReconcileOutcome.Extend, firstLook),
                    $"credited at {credit.CreditedAt:O}: confirming it with QueryTradeInfo at {firstLook:O}");
            return new ReconcileDecision.AskEcpay();
        }
        switch (ecpay)
        {
            case QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.Paid, Trade: var paid } when Confirms(paid.TradeNo, paid.TradeAmt, transaction, credit):
                return new ReconcileDecision.Confirm($"QueryTradeInfo says paid {paid.TradeAmt} TWD, TradeNo {paid.TradeNo}");
            case QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.Paid, Trade: var other }:
                return new ReconcileDecision.FlagUnconfirmed(
                    $"credit not confirmed: QueryTradeInfo says paid {other.TradeAmt} TWD, TradeNo '{other.TradeNo}'; credited {transaction.Amount} TWD, TradeNo '{credit.EcpayTradeNo}'");
            case QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.Unpaid } when LaterLook(credit.CreditedAt, confirmation.UnpaidLookAgainAfterCredit, input, now) is { } again:
                // ECPay: TradeStatus 0 can mean the bank has not answered yet; ask again later rather than flag a payment.
                return new ReconcileDecision.Answer(new ReconcileAnswer(ReconcileOutcome.Extend, again),
                    $"QueryTradeInfo says unpaid (TradeStatus 0) after the credit at {credit.CreditedAt:O}: asking again at {again:O}");
            case QueryTradeInfoResult.Answered { Trade: var trade }:
                return new ReconcileDecision.FlagUnconfirmed($"credit not confirmed: QueryTradeInfo says TradeStatus {trade.TradeStatusCode} ({trade.Status}), not paid");
            default:
                return EcpayFailed(ecpay);
        }
    }

    private static bool Confirms(string tradeNo, long? tradeAmt, TimedTransaction transaction, CreditEvidence credit) =>
        tradeAmt == transaction.Amount && tradeNo.Length > 0 && string.Equals(tradeNo, credit.EcpayTradeNo, StringComparison.Ordinal);

    /// <summary>
    /// <paramref name="after"/> past the credit, when that is still to come (and later than the timer's deadline, as an
    /// extension must be); null when it is time to look now.
    /// </summary>
    private static DateTimeOffset? LaterLook(DateTimeOffset? creditedAt, TimeSpan after, PaymentTimeoutInput input, DateTimeOffset now) =>
        creditedAt + after is { } at && at > now && at > input.ExpiresAt + ExtensionThreshold ? at : null;

    /// <summary>ECPay did not answer usably: an error, retried by the state machine.</summary>
    private static ReconcileDecision.Fail EcpayFailed(QueryTradeInfoResult ecpay) => ecpay switch
    {
        QueryTradeInfoResult.TransportFailed f => new(ReconcileErrors.EcpayUnavailable, $"QueryTradeInfo: transport failed: {f.Reason}"),
        QueryTradeInfoResult.TimedOut t => new(ReconcileErrors.EcpayUnavailable, $"QueryTradeInfo: timed out: {t.Reason}"),
        QueryTradeInfoResult.HttpFailed h => new(ReconcileErrors.EcpayUnavailable, $"QueryTradeInfo: HTTP {h.StatusCode}: {Shorten(h.Body)}"),
        QueryTradeInfoResult.Throttled th => new(ReconcileErrors.EcpayThrottled, $"QueryTradeInfo: HTTP 403, ECPay is throttling this merchant: {Shorten(th.Body)}"),
        QueryTradeInfoResult.MacMismatch m => new(ReconcileErrors.EcpayBadAnswer, $"QueryTradeInfo: CheckMacValue does not verify (received {m.Received})"),
        QueryTradeInfoResult.EcpayError e => new(ReconcileErrors.EcpayBadAnswer, $"QueryTradeInfo: ECPay error: {Shorten(e.Message)}"),
        QueryTradeInfoResult.Malformed mf => new(ReconcileErrors.EcpayBadAnswer, $"QueryTradeInfo: malformed answer: {mf.Reason}"),
        _ => throw new ArgumentOutOfRangeException(nameof(ecpay), ecpay.GetType().Name, null),
    };

    private static ReconcileDecision.Answer Settled(string why) => new(new ReconcileAnswer(ReconcileOutcome.Settled), why);

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}

/// <summary>The end of a reconcile: an answer for the state machine, or an error for it to retry.</summary>
public sealed record ReconcileResult(ReconcileAnswer? Answer, ReconcileDecision.Fail? Error);

/// <summary>Asks ECPay about one order (a seam so the use case does not care how).</summary>
public delegate Task<QueryTradeInfoResult> QueryTradeInfo(string merchantTradeNo, CancellationToken ct);

/// <summary>Reconciles one payment: reads the ledger, asks ECPay when needed, and applies the decision.</summary>
/// <param name="confirmation">When completed deposits are confirmed (its Enabled is ignored: each execution says whether it understands the answers).</param>
public sealed partial class ReconcilePayment(
    PaymentsDatabase database,
    QueryTradeInfo queryTradeInfo,
    IPaymentResultQueue publisher,
    TimeProvider time,
    CreditConfirmation confirmation,
    ILogger<ReconcilePayment> log)
{
    /// <param name="confirmCredit">
    /// The execution's state machine understands confirmed/unconfirmed (its Reconcile input says so): confirm a
    /// completed deposit with ECPay. Executions started under an older definition answer settled, as before.
    /// </param>
    public async Task<ReconcileResult> HandleAsync(PaymentTimeoutInput input, bool confirmCredit, CancellationToken ct)
    {
        var policy = confirmation with { Enabled = confirmCredit };
        var transaction = await LoadAsync(input.TransactionId, ct);
        QueryTradeInfoResult? ecpay = null;
        // At most: decide, ask ECPay, decide, (expire lost a race) re-read and decide, ask ECPay, decide.
        for (var round = 0; round < 5; round++)
        {
            var decision = ReconcileRules.Decide(input, transaction, ecpay, time.GetUtcNow(), policy);
            switch (decision)
            {
                case ReconcileDecision.AskEcpay:
                    ecpay = await queryTradeInfo(input.MerchantTradeNo, ct);
                    LogAsked(log, input.MerchantTradeNo, Describe(ecpay));
                    continue;

                case ReconcileDecision.Answer { Result.Outcome: ReconcileOutcome.Abandoned } abandoned:
                    LogAbandoned(log, input.MerchantTradeNo, abandoned.Why);
                    return new ReconcileResult(abandoned.Result, null);

                case ReconcileDecision.Answer answer:
                    LogAnswered(log, input.MerchantTradeNo, answer.Result.Outcome, answer.Why);
                    return new ReconcileResult(answer.Result, null);

                case ReconcileDecision.EnqueuePaid paid:
                    var message = new PaymentResultMessage(
                        PaymentResultSource.QueryTradeInfo,
                        // The verified fields exactly as ECPay sent them (CheckMacValue included): Settlement verifies again.
                        paid.Trade.Fields.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal),
                        time.GetUtcNow());
                    var messageId = await publisher.PublishAsync(message, ct);
                    LogEnqueued(log, input.MerchantTradeNo, paid.Trade.TradeNo, paid.Trade.TradeAmt ?? 0, messageId);
                    return new ReconcileResult(new ReconcileAnswer(ReconcileOutcome.Paid), null);

                case ReconcileDecision.Expire expire:
                    if (await ExpireAsync(transaction!.Id, input.ExpiresAt, ct))
                    {
                        LogExpired(log, input.MerchantTradeNo, transaction.Id, expire.Why);
                        return new ReconcileResult(new ReconcileAnswer(ReconcileOutcome.Expired), null);
                    }
                    // Settled or extended between our read and the update: decide again on the row as it is now.
                    LogExpireLostRace(log, input.MerchantTradeNo, transaction.Id);
                    transaction = await LoadAsync(input.TransactionId, ct);
                    // ECPay's answer came before that credit: it cannot confirm or deny it.
                    if (transaction?.Status == Transactions.TransactionStatus.Completed) ecpay = null;
                    continue;

                case ReconcileDecision.Confirm confirm:
                    await ConfirmAsync(transaction!.Id, ct);
                    LogConfirmed(log, input.MerchantTradeNo, transaction.Id, confirm.Why);
                    return new ReconcileResult(new ReconcileAnswer(ReconcileOutcome.Confirmed), null);

                case ReconcileDecision.FlagUnconfirmed flag:
                    await FlagAsync(transaction!.Id, flag.ReviewReason, ct);
                    LogUnconfirmed(log, input.MerchantTradeNo, transaction.Id, flag.ReviewReason);
                    return new ReconcileResult(new ReconcileAnswer(ReconcileOutcome.Unconfirmed), null);

                case ReconcileDecision.Fail fail:
                    LogFailed(log, input.MerchantTradeNo, fail.ErrorType, fail.Message);
                    return new ReconcileResult(null, fail);
            }
        }
        throw new InvalidOperationException($"reconcile of {input.MerchantTradeNo} did not converge");
    }

    private async Task<TimedTransaction?> LoadAsync(long id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>("""
            SELECT t.id AS Id, t.type AS Type, t.amount AS Amount, t.status AS Status, t.merchant_trade_no AS MerchantTradeNo, t.expires_at AS ExpiresAt,
                   t.ecpay_trade_no AS EcpayTradeNo, t.confirmed_at AS ConfirmedAt,
                   (SELECT MIN(l.created_at) FROM ledger_entries l WHERE l.transaction_id = t.id) AS CreditedAt
            FROM transactions t WHERE t.id = @id
            """, new { id });
        if (row is null) return null;
        var transaction = new TimedTransaction(row.Id, row.Type, row.Amount, row.Status, row.MerchantTradeNo, DbTime.Utc(row.ExpiresAt));
        if (row.Status != Transactions.TransactionStatus.Completed) return transaction;

        // What Settlement recorded about it: a simulated result, and QueryTradeInfo answers it believed (raw fields, verified then).
        var events = (await connection.QueryAsync<EventRow>("""
            SELECT source AS Source, outcome AS Outcome, raw_fields AS RawFields FROM payment_events
            WHERE transaction_id = @id AND (outcome = 'simulated' OR (source = 'QueryTradeInfo' AND outcome IN ('credited', 'credited_late', 'already_completed')))
            """, new { id })).ToList();
        var paidAnswers = events.Where(e => e.Outcome != "simulated").Select(e => PaidAnswer(e.RawFields)).OfType<RecordedPaidAnswer>().ToList();
        return transaction with
        {
            Credit = new CreditEvidence(DbTime.Utc(row.CreditedAt), row.EcpayTradeNo, DbTime.Utc(row.ConfirmedAt),
                events.Any(e => e.Outcome == "simulated"), paidAnswers),
        };
    }

    /// <summary>The TradeNo and TradeAmt of a recorded answer with TradeStatus 1; null for anything else.</summary>
    private static RecordedPaidAnswer? PaidAnswer(string rawFields)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(rawFields);
            var root = doc.RootElement;
            string? Field(string name) => root.ValueKind == System.Text.Json.JsonValueKind.Object && root.TryGetProperty(name, out var v)
                && v.ValueKind == System.Text.Json.JsonValueKind.String ? v.GetString() : null;
            if (Field("TradeStatus")?.Trim() != "1") return null;
            return new RecordedPaidAnswer(Field("TradeNo") ?? "",
                long.TryParse(Field("TradeAmt"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var amount) ? amount : null);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Only a pending transaction whose deadline has not moved past the timer's is expired: a payment
    /// settled or a number issued meanwhile wins. False when the update touched no row.
    /// </summary>
    private async Task<bool> ExpireAsync(long id, DateTimeOffset deadline, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var latest = DbTime.ToDb(deadline + ReconcileRules.ExtensionThreshold);
        var touched = await connection.ExecuteAsync(
            "UPDATE transactions SET status = 'expired', updated_at = UTC_TIMESTAMP(6) WHERE id = @id AND status = 'pending' AND (expires_at IS NULL OR expires_at <= @latest)",
            new { id, latest });
        return touched == 1;
    }

    // Not a payment outcome: status, amounts and updated_at (the ETag clients poll) stay as they are.
    private async Task ConfirmAsync(long id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(
            "UPDATE transactions SET confirmed_at = UTC_TIMESTAMP(6), updated_at = updated_at WHERE id = @id AND status = 'completed' AND confirmed_at IS NULL",
            new { id });
    }

    // Like Settlement's flag, a new reason (re-)opens the review; the credit stays, an operator decides.
    private async Task FlagAsync(long id, string reviewReason, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(
            "UPDATE transactions SET review_reason = @reviewReason, reviewed_at = NULL, updated_at = updated_at WHERE id = @id AND status = 'completed'",
            new { id, reviewReason = reviewReason.Length <= 200 ? reviewReason : reviewReason[..200] });
    }

    private static string Describe(QueryTradeInfoResult result) => result switch
    {
        QueryTradeInfoResult.Answered a => $"TradeStatus {a.Trade.TradeStatusCode} ({a.Trade.Status})",
        _ => result.GetType().Name,
    };

    // Not private: Dapper.AOT generates its row reader outside this class, and silently falls back to reflection for a type it cannot see.
    internal sealed class Row
    {
        public long Id { get; set; }
        public string Type { get; set; } = "";
        public long Amount { get; set; }
        public string Status { get; set; } = "";
        public string? MerchantTradeNo { get; set; }
        public DateTime? ExpiresAt { get; set; }
        public string? EcpayTradeNo { get; set; }
        public DateTime? ConfirmedAt { get; set; }
        public DateTime? CreditedAt { get; set; }
    }

    internal sealed class EventRow
    {
        public string Source { get; set; } = "";
        public string Outcome { get; set; } = "";
        public string RawFields { get; set; } = "";
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: QueryTradeInfo answered {Answer}")]
    private static partial void LogAsked(ILogger logger, string merchantTradeNo, string answer);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: {Outcome} ({Why})")]
    private static partial void LogAnswered(ILogger logger, string merchantTradeNo, string outcome, string why);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: paid per QueryTradeInfo (TradeNo {TradeNo}, {TradeAmt} TWD); enqueued as message {MessageId}")]
    private static partial void LogEnqueued(ILogger logger, string merchantTradeNo, string tradeNo, long tradeAmt, string messageId);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Reconcile {MerchantTradeNo}: abandoned, the timer ends without a payment ({Why})")]
    private static partial void LogAbandoned(ILogger logger, string merchantTradeNo, string why);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: transaction {TransactionId} expired ({Why})")]
    private static partial void LogExpired(ILogger logger, string merchantTradeNo, long transactionId, string why);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: transaction {TransactionId} changed before it could be expired; deciding again")]
    private static partial void LogExpireLostRace(ILogger logger, string merchantTradeNo, long transactionId);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: transaction {TransactionId} credit confirmed ({Why})")]
    private static partial void LogConfirmed(ILogger logger, string merchantTradeNo, long transactionId, string why);

    // The same event id as Settlement's "operator attention", so one log filter finds both.
    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Operator attention: Reconcile {MerchantTradeNo}: transaction {TransactionId} flagged for review: {ReviewReason}")]
    private static partial void LogUnconfirmed(ILogger logger, string merchantTradeNo, long transactionId, string reviewReason);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Reconcile {MerchantTradeNo}: {ErrorType}: {Reason}")]
    private static partial void LogFailed(ILogger logger, string merchantTradeNo, string errorType, string reason);
}
