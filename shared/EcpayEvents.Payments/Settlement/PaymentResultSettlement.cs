using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using EcpayEvents.Ecpay;
using MySqlConnector;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// "Settle a payment result": one message from the payment-results queue, one MySQL transaction.
/// The transaction row is locked (SELECT … FOR UPDATE) so that concurrent deliveries of anything
/// about the same payment run one after the other; the event is recorded under its dedup key
/// (unique: a second identical event changes nothing); then the decision of
/// <see cref="SettlementRules"/> is applied. Database errors propagate: the caller has the message
/// redelivered.
/// <para>
/// Each transaction waits at most <see cref="LockWaitTimeout"/> for a row lock (the server's default,
/// 50 s on RDS, is longer than the Lambda's whole timeout): a payment whose row is stuck fails only its
/// own message (MySQL error 1205, a batch item failure, redelivered), not the batch.
/// </para>
/// <para>
/// Every timestamp written here is UTC from UTC_TIMESTAMP(6), never CURRENT_TIMESTAMP (the session's
/// time zone), like the rest of the application writes them.
/// </para>
/// </summary>
public sealed class PaymentResultSettlement(PaymentsDatabase database, EcpayCredentials credentials, SettlementPolicy policy, TimeSpan? lockWaitTimeout = null)
{
    private const int DeadlockAttempts = 3;

    /// <summary>The default <see cref="LockWaitTimeout"/>.</summary>
    public static readonly TimeSpan DefaultLockWaitTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// <c>innodb_lock_wait_timeout</c> of each settlement transaction (whole seconds, at least 1);
    /// <see cref="TimeSpan.Zero"/> leaves the server's (e.g. when an RDS Proxy init query sets it:
    /// a SET on the session pins the proxy connection).
    /// </summary>
    public TimeSpan LockWaitTimeout { get; } = lockWaitTimeout ?? DefaultLockWaitTimeout;

    public async Task<SettlementResult> SettleAsync(PaymentResultMessage message, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var fields = message.Fields ?? new Dictionary<string, string>();
        var received = ReceivedResult.Read(message.Source ?? "", fields, credentials);
        var dedupKey = DedupKey.Compute(message.Source ?? "", fields, received.MacVerified);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await SettleOnceAsync(message, fields, received, dedupKey, ct);
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.LockDeadlock && attempt < DeadlockAttempts)
            {
                // InnoDB rolled the transaction back; running it again is safe and usually succeeds at once.
            }
        }
    }

    // Load (under the row lock), decide (SettlementRules), write.
    private async Task<SettlementResult> SettleOnceAsync(PaymentResultMessage message, IReadOnlyDictionary<string, string> fields, ReceivedResult received,
        string dedupKey, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await SetLockWaitTimeoutAsync(connection, ct);
        await using var tx = await connection.BeginTransactionAsync(ct);

        var merchantTradeNo = fields.GetValueOrDefault("MerchantTradeNo");
        var state = await LoadAsync(connection, tx, merchantTradeNo, received);
        var decision = SettlementRules.Decide(received, state, policy);

        var paymentEvent = new PaymentEventRow
        {
            TransactionId = state?.Id,
            MerchantTradeNo = Clip(merchantTradeNo, 64),
            Source = Clip(message.Source, 20) ?? "",
            RawFields = decision.Outcome == SettlementOutcome.Rejected
                ? RejectedRawFields.Serialize(fields)
                : JsonSerializer.Serialize(fields, SettlementJsonContext.Default.IReadOnlyDictionaryStringString),
            ReceivedAt = message.ReceivedAt.UtcDateTime,
            Outcome = decision.Outcome,
            Reason = Clip(decision.Reason, 200),
            DedupKey = dedupKey,
        };
        try
        {
            await connection.ExecuteAsync(InsertEventSql, paymentEvent, tx);
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
        {
            await tx.RollbackAsync(ct);
            return new SettlementResult(merchantTradeNo, state?.Id, decision.Outcome, "duplicate of an event already recorded", Duplicate: true, NeedsAttention: false, dedupKey);
        }

        // Only a parsed result is ever applied (the rules reject everything else).
        var notice = (received as ReceivedResult.Parsed)?.Notice;
        switch (decision.Action)
        {
            case SettlementAction.Complete:
                await CompleteAsync(connection, tx, state!, notice!, decision, message.ReceivedAt);
                break;
            case SettlementAction.Fail:
                await connection.ExecuteAsync(FailSql, new
                {
                    state!.Id,
                    RtnCode = notice!.Code,
                    RtnMsg = Clip(notice.Message, 200),
                    notice.TradeNo,
                    notice.PaymentType,
                }, tx);
                break;
            case SettlementAction.RecordPaymentNumber:
                var issued = notice!.Issued!;
                await connection.ExecuteAsync(RecordPaymentNumberSql, new
                {
                    state!.Id,
                    issued.BankCode,
                    issued.VAccount,
                    issued.PaymentNo,
                    issued.Barcode1,
                    issued.Barcode2,
                    issued.Barcode3,
                    ExpiresAt = issued.ExpireDate?.UtcDateTime,
                    notice.TradeNo,
                    notice.PaymentType,
                    RtnCode = notice.Code,
                    RtnMsg = Clip(notice.Message, 200),
                }, tx);
                break;
        }

        if (decision.ReviewReason is not null && decision.Action != SettlementAction.Complete && state is not null)
            await connection.ExecuteAsync(FlagForReviewSql, new { state.Id, ReviewReason = Clip(decision.ReviewReason, 200) }, tx);

        await tx.CommitAsync(ct);
        return new SettlementResult(merchantTradeNo, state?.Id, decision.Outcome, decision.Reason, Duplicate: false, decision.NeedsAttention, dedupKey);
    }

    /// <summary>The transaction the message names, row-locked; null when there is none (or the name cannot be one).</summary>
    private static async Task<TransactionState?> LoadAsync(MySqlConnection connection, MySqlTransaction tx, string? merchantTradeNo, ReceivedResult received)
    {
        if (merchantTradeNo is not { Length: > 0 and <= 20 }) return null;
        var row = await connection.QuerySingleOrDefaultAsync<TransactionRow>(LockTransactionSql, new { MerchantTradeNo = merchantTradeNo }, tx);
        if (row is null) return null;
        var state = new TransactionState(row.Id, row.UserId, row.Type, row.Amount, row.Status);
        if (!SettlementRules.ReadsSimulationHistory(received)) return state;
        // Read after the row lock is held (events about a transaction are only written under it), in a
        // statement of its own so that its snapshot is taken now, not before the lock wait.
        var simulated = await connection.ExecuteScalarAsync<long>(SimulatedSeenSql, new { TransactionId = row.Id }, tx);
        return state with { SimulatedResultSeen = simulated > 0 };
    }

    private static async Task CompleteAsync(MySqlConnection connection, MySqlTransaction tx, TransactionState state, PaymentNotice notice, SettlementDecision decision, DateTimeOffset receivedAt)
    {
        var updated = await connection.ExecuteAsync(CompleteSql, new
        {
            state.Id,
            PaidAt = (notice.PaymentDate ?? receivedAt).UtcDateTime,
            notice.TradeNo,
            notice.PaymentType,
            RtnCode = notice.Code,
            RtnMsg = Clip(notice.Message, 200),
            decision.ReviewReason,
        }, tx);
        if (updated != 1)
            throw new InvalidOperationException($"transaction {state.Id} changed under its row lock");
        // Balance first: it takes the user row's exclusive lock before the ledger insert's foreign-key
        // check takes a shared one, so two credits for the same user cannot deadlock.
        await connection.ExecuteAsync(CreditUserSql, new { state.UserId, state.Amount }, tx);
        await connection.ExecuteAsync(InsertLedgerEntrySql, new { state.UserId, TransactionId = state.Id, state.Amount }, tx);
    }

    private static string? Clip(string? value, int max) => value is null || value.Length <= max ? value : value[..max];

    // Session-scoped, set on every open: a pooled connection may have been reset to the server default.
    private async Task SetLockWaitTimeoutAsync(MySqlConnection connection, CancellationToken ct)
    {
        if (LockWaitTimeout <= TimeSpan.Zero) return;
        var seconds = Math.Max(1, (int)Math.Ceiling(LockWaitTimeout.TotalSeconds));
        await using var command = connection.CreateCommand();
        command.CommandText = "SET SESSION innodb_lock_wait_timeout = " + seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await command.ExecuteNonQueryAsync(ct);
    }

    private const string LockTransactionSql = """
        SELECT id AS Id, user_id AS UserId, type AS Type, amount AS Amount, status AS Status
        FROM transactions WHERE merchant_trade_no = @MerchantTradeNo FOR UPDATE
        """;

    private const string SimulatedSeenSql = "SELECT COUNT(*) FROM payment_events WHERE transaction_id = @TransactionId AND outcome = 'simulated'";

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

    internal sealed class PaymentEventRow
    {
        public long? TransactionId { get; init; }
        public string? MerchantTradeNo { get; init; }
        public required string Source { get; init; }
        public required string RawFields { get; init; }
        public DateTime ReceivedAt { get; init; }
        public required string Outcome { get; init; }
        public string? Reason { get; init; }
        public required string DedupKey { get; init; }
    }

    internal sealed class TransactionRow
    {
        public long Id { get; set; }
        public long UserId { get; set; }
        public string Type { get; set; } = "";
        public long Amount { get; set; }
        public string Status { get; set; } = "";
    }
}

[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class SettlementJsonContext : JsonSerializerContext;
