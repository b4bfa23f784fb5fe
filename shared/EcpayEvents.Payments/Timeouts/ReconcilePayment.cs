using Dapper;
using EcpayEvents.Ecpay;
using EcpayEvents.Payments.Settlement;
using EcpayEvents.Payments.Transactions;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Payments.Timeouts;

// Use case "reconcile a payment": the payment-timeout state machine's Reconcile task. When a pending
// payment's timer fires, the ledger and ECPay's QueryTradeInfo decide between settled / paid / expired /
// extend; anything undecidable is an error, so the state machine retries and finally asks an operator.
// A completed deposit's credit is confirmed with one QueryTradeInfo call (defence in depth: a forged or
// mistaken post that credited it is found), and flagged for review when ECPay does not confirm it.
// The decision is a pure function (ReconcileRules.Decide); ReconcilePayment does the I/O around it.

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
        var row = await connection.QuerySingleOrDefaultAsync<TransactionRow>("""
            SELECT id AS Id, type AS Type, amount AS Amount, status AS Status, merchant_trade_no AS MerchantTradeNo, expires_at AS ExpiresAt,
                   ecpay_trade_no AS EcpayTradeNo, confirmed_at AS ConfirmedAt
            FROM transactions WHERE id = @id
            """, new { id });
        if (row is null) return null;
        var transaction = new TimedTransaction(row.Id, row.Type, row.Amount, row.Status, row.MerchantTradeNo, DbTime.Utc(row.ExpiresAt));
        if (row.Status != Transactions.TransactionStatus.Completed) return transaction;

        var creditedAt = await connection.ExecuteScalarAsync<DateTime?>("SELECT MIN(created_at) FROM ledger_entries WHERE transaction_id = @id", new { id });
        // What Settlement recorded about it: a simulated result, and QueryTradeInfo answers it believed (raw fields, verified then).
        var events = (await connection.QueryAsync<PaymentEventRow>("""
            SELECT source AS Source, outcome AS Outcome, raw_fields AS RawFields FROM payment_events
            WHERE transaction_id = @id AND (outcome = 'simulated' OR (source = 'QueryTradeInfo' AND outcome IN ('credited', 'credited_late', 'already_completed')))
            """, new { id })).ToList();
        var paidAnswers = events.Where(e => e.Outcome != "simulated").Select(e => PaidAnswer(e.RawFields)).OfType<RecordedPaidAnswer>().ToList();
        return transaction with
        {
            Credit = new CreditEvidence(DbTime.Utc(creditedAt), row.EcpayTradeNo, DbTime.Utc(row.ConfirmedAt),
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
        QueryTradeInfoResult.Answered a => $"TradeStatus {a.Trade.Code} ({a.Trade.Status})",
        _ => result.GetType().Name,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: QueryTradeInfo answered {Answer}")]
    private static partial void LogAsked(ILogger logger, string merchantTradeNo, string answer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: {Outcome} ({Why})")]
    private static partial void LogAnswered(ILogger logger, string merchantTradeNo, string outcome, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: paid per QueryTradeInfo (TradeNo {TradeNo}, {TradeAmt} TWD); enqueued as message {MessageId}")]
    private static partial void LogEnqueued(ILogger logger, string merchantTradeNo, string tradeNo, long tradeAmt, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile {MerchantTradeNo}: abandoned, the timer ends without a payment ({Why})")]
    private static partial void LogAbandoned(ILogger logger, string merchantTradeNo, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: transaction {TransactionId} expired ({Why})")]
    private static partial void LogExpired(ILogger logger, string merchantTradeNo, long transactionId, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: transaction {TransactionId} changed before it could be expired; deciding again")]
    private static partial void LogExpireLostRace(ILogger logger, string merchantTradeNo, long transactionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile {MerchantTradeNo}: transaction {TransactionId} credit confirmed ({Why})")]
    private static partial void LogConfirmed(ILogger logger, string merchantTradeNo, long transactionId, string why);

    // The same event id as Settlement's "operator attention", so one log filter finds both.
    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Operator attention: Reconcile {MerchantTradeNo}: transaction {TransactionId} flagged for review: {ReviewReason}")]
    private static partial void LogUnconfirmed(ILogger logger, string merchantTradeNo, long transactionId, string reviewReason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile {MerchantTradeNo}: {ErrorType}: {Reason}")]
    private static partial void LogFailed(ILogger logger, string merchantTradeNo, string errorType, string reason);
}
