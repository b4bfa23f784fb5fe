using System.Text.Json;
using EcpayEvents.Payments.Transactions;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// What settling one message writes, worked out before anything is sent: the event row (its dedup key makes a
/// second identical event a duplicate), then the changes <see cref="SettlementRules.Decide"/> asks for. Built
/// from the row-locked state, so that <see cref="After"/> is what the next message about the same payment sees,
/// and the rows each change must touch are known (<see cref="PlannedStatement.ExpectedRows"/>: checked, a
/// difference fails the message).
/// </summary>
internal sealed record SettlementPlan(PlannedStatement RecordEvent, IReadOnlyList<PlannedStatement> Changes, SettlementResult Result, TransactionState? After)
{
    /// <summary>The result when <see cref="RecordEvent"/> finds the event already recorded: nothing changes.</summary>
    public SettlementResult DuplicateResult => Result with { Reason = "duplicate of an event already recorded", Duplicate = true, NeedsAttention = false };

    public static SettlementPlan For(PreparedMessage message, TransactionState? state, SettlementPolicy policy)
    {
        var decision = SettlementRules.Decide(message.Received, state, policy);
        var recordEvent = new PlannedStatement(InsertEventSql, [
            new("@TransactionId", state?.Id),
            new("@MerchantTradeNo", Clip(message.MerchantTradeNo, 64)),
            new("@Source", Clip(message.Message.Source, 20) ?? ""),
            new("@RawFields", decision.Outcome == SettlementOutcome.Rejected
                ? RejectedRawFields.Serialize(message.Fields)
                : JsonSerializer.Serialize(message.Fields, SettlementJsonContext.Default.IReadOnlyDictionaryStringString)),
            new("@ReceivedAt", message.Message.ReceivedAt.UtcDateTime),
            new("@Outcome", decision.Outcome),
            new("@Reason", Clip(decision.Reason, 200)),
            new("@DedupKey", message.DedupKey),
        ]);

        // Only a parsed result is ever applied (the rules reject everything else).
        var notice = (message.Received as ReceivedResult.Parsed)?.Notice;
        var changes = new List<PlannedStatement>(4);
        var after = state;
        switch (decision.Action)
        {
            case SettlementAction.Complete:
                changes.Add(new PlannedStatement(CompleteSql, [
                    new("@Id", state!.Id),
                    new("@PaidAt", (notice!.PaymentDate ?? message.Message.ReceivedAt).UtcDateTime),
                    new("@TradeNo", notice.TradeNo),
                    new("@PaymentType", notice.PaymentType),
                    new("@RtnCode", notice.Code),
                    new("@RtnMsg", Clip(notice.Message, 200)),
                    new("@ReviewReason", decision.ReviewReason),
                ], ExpectedRows: 1));
                // Balance first: it takes the user row's exclusive lock (already held by the batch's locking read)
                // before the ledger insert's foreign-key check takes a shared one.
                changes.Add(new PlannedStatement(CreditUserSql, [new("@Amount", state.Amount), new("@UserId", state.UserId)], ExpectedRows: 1));
                changes.Add(new PlannedStatement(InsertLedgerEntrySql, [new("@UserId", state.UserId), new("@TransactionId", state.Id), new("@Amount", state.Amount)]));
                after = state with { Status = TransactionStatus.Completed };
                break;
            case SettlementAction.Fail:
                var pending = state!.Status == TransactionStatus.Pending;
                changes.Add(new PlannedStatement(FailSql, [
                    new("@Id", state.Id),
                    new("@RtnCode", notice!.Code),
                    new("@RtnMsg", Clip(notice.Message, 200)),
                    new("@TradeNo", notice.TradeNo),
                    new("@PaymentType", notice.PaymentType),
                ], ExpectedRows: pending ? 1 : 0));
                if (pending) after = state with { Status = TransactionStatus.Failed };
                break;
            case SettlementAction.RecordPaymentNumber:
                var issued = notice!.Issued!;
                changes.Add(new PlannedStatement(RecordPaymentNumberSql, [
                    new("@Id", state!.Id),
                    new("@BankCode", issued.BankCode),
                    new("@VAccount", issued.VAccount),
                    new("@PaymentNo", issued.PaymentNo),
                    new("@Barcode1", issued.Barcode1),
                    new("@Barcode2", issued.Barcode2),
                    new("@Barcode3", issued.Barcode3),
                    new("@ExpiresAt", issued.ExpireDate?.UtcDateTime),
                    new("@TradeNo", notice.TradeNo),
                    new("@PaymentType", notice.PaymentType),
                    new("@RtnCode", notice.Code),
                    new("@RtnMsg", Clip(notice.Message, 200)),
                ]));
                break;
        }

        if (decision.ReviewReason is not null && decision.Action != SettlementAction.Complete && state is not null)
            changes.Add(new PlannedStatement(FlagForReviewSql, [new("@Id", state.Id), new("@ReviewReason", Clip(decision.ReviewReason, 200))]));
        // A later QueryTradeInfo "paid" about this payment in the same batch must know a simulated result was seen.
        if (decision.Outcome == SettlementOutcome.Simulated && after is not null) after = after with { SimulatedResultSeen = true };

        var result = new SettlementResult(message.MerchantTradeNo, state?.Id, decision.Outcome, decision.Reason, Duplicate: false, decision.NeedsAttention, message.DedupKey);
        return new SettlementPlan(recordEvent, changes, result, after);
    }

    private static string? Clip(string? value, int max) => value is null || value.Length <= max ? value : value[..max];

    // Every timestamp written here is UTC from UTC_TIMESTAMP(6), never CURRENT_TIMESTAMP (the session's time zone).
    private const string InsertEventSql = """
        INSERT INTO payment_events (transaction_id, merchant_trade_no, source, raw_fields, received_at, recorded_at, outcome, reason, dedup_key)
        VALUES (@TransactionId, @MerchantTradeNo, @Source, @RawFields, @ReceivedAt, UTC_TIMESTAMP(6), @Outcome, @Reason, @DedupKey)
        """;

    // A new reason (re-)opens the review: an operator who resolved an earlier one has not seen this one. The
    // earlier resolution's note stays (db review shows it) until the next resolution replaces it.
    private const string FlagForReviewSql = """
        UPDATE transactions SET review_reason = @ReviewReason, reviewed_at = NULL, updated_at = UTC_TIMESTAMP(6)
        WHERE id = @Id
        """;

    private const string CompleteSql = """
        UPDATE transactions
        SET status = 'completed', paid_at = @PaidAt, ecpay_trade_no = @TradeNo, payment_type = NULLIF(@PaymentType, ''),
            rtn_code = @RtnCode, rtn_msg = @RtnMsg, review_reason = COALESCE(@ReviewReason, review_reason),
            reviewed_at = IF(@ReviewReason IS NULL, reviewed_at, NULL),
            updated_at = UTC_TIMESTAMP(6)
        WHERE id = @Id AND status <> 'completed'
        """;

    private const string CreditUserSql = "UPDATE users SET balance = balance + @Amount WHERE id = @UserId";

    private const string InsertLedgerEntrySql = "INSERT INTO ledger_entries (user_id, transaction_id, amount, created_at) VALUES (@UserId, @TransactionId, @Amount, UTC_TIMESTAMP(6))";

    private const string FailSql = """
        UPDATE transactions
        SET status = 'failed', rtn_code = @RtnCode, rtn_msg = @RtnMsg, updated_at = UTC_TIMESTAMP(6),
            ecpay_trade_no = COALESCE(NULLIF(@TradeNo, ''), ecpay_trade_no),
            payment_type = COALESCE(NULLIF(@PaymentType, ''), payment_type)
        WHERE id = @Id AND status = 'pending'
        """;

    private const string RecordPaymentNumberSql = """
        UPDATE transactions
        SET bank_code = NULLIF(@BankCode, ''), v_account = NULLIF(@VAccount, ''), payment_no = NULLIF(@PaymentNo, ''),
            barcode1 = NULLIF(@Barcode1, ''), barcode2 = NULLIF(@Barcode2, ''), barcode3 = NULLIF(@Barcode3, ''),
            expires_at = COALESCE(@ExpiresAt, expires_at),
            ecpay_trade_no = COALESCE(NULLIF(@TradeNo, ''), ecpay_trade_no),
            payment_type = COALESCE(NULLIF(@PaymentType, ''), payment_type),
            rtn_code = @RtnCode, rtn_msg = @RtnMsg, updated_at = UTC_TIMESTAMP(6)
        WHERE id = @Id AND status = 'pending'
        """;
}

/// <summary>One statement of a <see cref="SettlementPlan"/>.</summary>
/// <param name="ExpectedRows">The rows it must match (checked after it ran; a difference fails the message), or null.</param>
internal sealed record PlannedStatement(string Sql, IReadOnlyList<KeyValuePair<string, object?>> Parameters, int? ExpectedRows = null);
