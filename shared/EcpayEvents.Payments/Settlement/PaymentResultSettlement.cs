using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using EcpayEvents.Ecpay;
using EcpayEvents.Payments.Transactions;
using MySqlConnector;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// "Settle a payment result": the messages of one SQS batch in ONE MySQL transaction, each under a savepoint of
/// its own (<see cref="SettleBatchAsync"/>), or one message in a transaction of its own (<see cref="SettleAsync"/>).
/// The transaction rows are locked (SELECT … FOR UPDATE) so that concurrent deliveries of anything about the same
/// payment run one after the other; each event is recorded under its dedup key (unique: a second identical event
/// changes nothing); then the decision of <see cref="SettlementRules"/> is applied. Database errors propagate (or,
/// in a batch, fail their message alone): the caller has the message redelivered.
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
    private const int FallbackConcurrency = 4;

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
        var prepared = Prepare(message);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await SettleOnceAsync(prepared, ct);
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.LockDeadlock && attempt < DeadlockAttempts)
            {
                // InnoDB rolled the transaction back; running it again is safe and usually succeeds at once.
            }
        }
    }

    /// <summary>
    /// Settles an SQS batch in ONE transaction, each message under a savepoint of its own: a message that fails
    /// is rolled back alone and reported (its <see cref="SettlementBatchItem.Error"/>), the others commit
    /// together. The batch's transaction rows, then their users, are locked first, each in one statement and
    /// in a fixed order (MerchantTradeNo, user id), so batches settling at once cannot deadlock one another.
    /// A deadlock anyway is retried; a row lock held elsewhere (lock wait timeout) or repeated deadlocks fall
    /// back to one transaction per message, so that only the message whose row is stuck fails.
    /// Messages about the same payment are applied in batch order, each seeing what the previous one did.
    /// </summary>
    public async Task<IReadOnlyList<SettlementBatchItem>> SettleBatchAsync(IReadOnlyList<PaymentResultMessage> messages, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var prepared = messages.Select(Prepare).ToArray();
        for (var attempt = 1; attempt <= DeadlockAttempts; attempt++)
        {
            try
            {
                return await SettleBatchOnceAsync(prepared, ct);
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.LockDeadlock)
            {
                // Rolled back whole by InnoDB: again, then one message at a time.
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.LockWaitTimeout)
            {
                break; // a row held elsewhere: find out which message it stops, alone
            }
        }
        // A few at a time, so that a batch of stuck rows still ends within the Lambda timeout (10 messages, 4 at a
        // time, each waiting at most LockWaitTimeout).
        var items = new SettlementBatchItem[prepared.Length];
        await Parallel.ForAsync(0, prepared.Length, new ParallelOptions { MaxDegreeOfParallelism = FallbackConcurrency, CancellationToken = ct }, async (i, token) =>
        {
            try
            {
                items[i] = new SettlementBatchItem(await SettleAsync(messages[i], token), null);
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                items[i] = new SettlementBatchItem(null, e);
            }
        });
        return items;
    }

    private PreparedMessage Prepare(PaymentResultMessage message)
    {
        var fields = message.Fields ?? new Dictionary<string, string>();
        var received = ReceivedResult.Read(message.Source ?? "", fields, credentials);
        var merchantTradeNo = fields.GetValueOrDefault("MerchantTradeNo");
        return new PreparedMessage(message, fields, received, DedupKey.Compute(message.Source ?? "", fields, received.MacVerified),
            merchantTradeNo, merchantTradeNo is { Length: > 0 and <= 20 } ? merchantTradeNo : null);
    }

    private async Task<SettlementResult> SettleOnceAsync(PreparedMessage message, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await SetLockWaitTimeoutAsync(connection, ct);
        await using var tx = await connection.BeginTransactionAsync(ct);

        TransactionState? state = null;
        if (message.LockableTradeNo is { } tradeNo)
        {
            var row = await connection.QuerySingleOrDefaultAsync<TransactionRow>(LockTransactionSql, new { MerchantTradeNo = tradeNo }, tx);
            state = row is null ? null : new TransactionState(row.Id, row.UserId, row.Type, row.Amount, row.Status);
        }
        var (result, _) = await ApplyAsync(connection, tx, message, state, ct);
        if (result.Duplicate) await tx.RollbackAsync(ct);
        else await tx.CommitAsync(ct);
        return result;
    }

    private async Task<IReadOnlyList<SettlementBatchItem>> SettleBatchOnceAsync(PreparedMessage[] messages, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await SetLockWaitTimeoutAsync(connection, ct);
        await using var tx = await connection.BeginTransactionAsync(ct);

        var states = await LockBatchAsync(connection, tx, messages, ct);
        var items = new SettlementBatchItem[messages.Length];
        for (var i = 0; i < messages.Length; i++)
        {
            var message = messages[i];
            var state = message.LockableTradeNo is { } tradeNo ? states.GetValueOrDefault(tradeNo) : null;
            await connection.ExecuteAsync("SAVEPOINT settle_message", transaction: tx);
            try
            {
                var (result, after) = await ApplyAsync(connection, tx, message, state, ct);
                if (result.Duplicate) await connection.ExecuteAsync("ROLLBACK TO SAVEPOINT settle_message", transaction: tx);
                else if (after is not null) states[message.LockableTradeNo!] = after;
                items[i] = new SettlementBatchItem(result, null);
            }
            catch (Exception e) when (e is InvalidOperationException || (e is MySqlException m && m.ErrorCode != MySqlErrorCode.LockDeadlock && connection.State == System.Data.ConnectionState.Open))
            {
                // This message's writes only; the transaction and the others' go on (a lock wait timeout rolls back
                // just its statement in InnoDB; a deadlock rolls back everything, so it is not caught here).
                await connection.ExecuteAsync("ROLLBACK TO SAVEPOINT settle_message", transaction: tx);
                items[i] = new SettlementBatchItem(null, e);
            }
        }
        await tx.CommitAsync(ct);
        return items;
    }

    // The batch's transaction rows (by MerchantTradeNo, ascending) and then their users (by id, ascending), each
    // in one locking read: every batch takes its locks in the same order.
    private static async Task<Dictionary<string, TransactionState>> LockBatchAsync(MySqlConnection connection, MySqlTransaction tx, PreparedMessage[] messages, CancellationToken ct)
    {
        var states = new Dictionary<string, TransactionState>(StringComparer.Ordinal);
        var tradeNos = messages.Select(m => m.LockableTradeNo).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (tradeNos.Length == 0) return states;
        await using (var command = InListCommand(connection, tx, LockTransactionsSql, tradeNos))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
                states[reader.GetString(5)] = new TransactionState(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4));
        }
        var userIds = states.Values.Select(s => s.UserId).Distinct().Order().Select(id => (object)id).ToArray();
        if (userIds.Length > 0)
        {
            await using var command = InListCommand(connection, tx, LockUsersSql, userIds);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) { }
        }
        return states;
    }

    private static MySqlCommand InListCommand(MySqlConnection connection, MySqlTransaction tx, string sqlWithList, object[] values)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        var names = new string[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            names[i] = "@v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            command.Parameters.AddWithValue(names[i], values[i]);
        }
        command.CommandText = sqlWithList.Replace("@List", string.Join(',', names), StringComparison.Ordinal);
        return command;
    }

    // Decides (SettlementRules) and writes what it says, inside the caller's transaction (the row already locked).
    // A duplicate changes nothing: its result says so and the caller rolls its writes back. Returns the
    // transaction's state after the change (for the next message about it in the same batch).
    private async Task<(SettlementResult Result, TransactionState? After)> ApplyAsync(MySqlConnection connection, MySqlTransaction tx, PreparedMessage message, TransactionState? state, CancellationToken ct)
    {
        var received = message.Received;
        // Read after the row lock is held (events about a transaction are only written under it), in a
        // statement of its own so that its snapshot is taken now, not before the lock wait.
        if (state is not null && SettlementRules.ReadsSimulationHistory(received))
        {
            var simulated = await connection.ExecuteScalarAsync<long>(SimulatedSeenSql, new { TransactionId = state.Id }, tx);
            state = state with { SimulatedResultSeen = simulated > 0 };
        }
        var decision = SettlementRules.Decide(received, state, policy);
        var merchantTradeNo = message.MerchantTradeNo;

        var paymentEvent = new PaymentEventRow
        {
            TransactionId = state?.Id,
            MerchantTradeNo = Clip(merchantTradeNo, 64),
            Source = Clip(message.Message.Source, 20) ?? "",
            RawFields = decision.Outcome == SettlementOutcome.Rejected
                ? RejectedRawFields.Serialize(message.Fields)
                : JsonSerializer.Serialize(message.Fields, SettlementJsonContext.Default.IReadOnlyDictionaryStringString),
            ReceivedAt = message.Message.ReceivedAt.UtcDateTime,
            Outcome = decision.Outcome,
            Reason = Clip(decision.Reason, 200),
            DedupKey = message.DedupKey,
        };
        try
        {
            await connection.ExecuteAsync(InsertEventSql, paymentEvent, tx);
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
        {
            return (new SettlementResult(merchantTradeNo, state?.Id, decision.Outcome, "duplicate of an event already recorded", Duplicate: true, NeedsAttention: false, message.DedupKey), null);
        }

        // Only a parsed result is ever applied (the rules reject everything else).
        var notice = (received as ReceivedResult.Parsed)?.Notice;
        var after = state;
        switch (decision.Action)
        {
            case SettlementAction.Complete:
                await CompleteAsync(connection, tx, state!, notice!, decision, message.Message.ReceivedAt);
                after = state! with { Status = TransactionStatus.Completed };
                break;
            case SettlementAction.Fail:
                var failed = await connection.ExecuteAsync(FailSql, new
                {
                    state!.Id,
                    RtnCode = notice!.Code,
                    RtnMsg = Clip(notice.Message, 200),
                    notice.TradeNo,
                    notice.PaymentType,
                }, tx);
                if (failed == 1) after = state with { Status = TransactionStatus.Failed };
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

        return (new SettlementResult(merchantTradeNo, state?.Id, decision.Outcome, decision.Reason, Duplicate: false, decision.NeedsAttention, message.DedupKey), after);
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
        // One round trip for both statements.
        await connection.ExecuteAsync(CreditUserSql + ";\n" + InsertLedgerEntrySql, new { state.UserId, TransactionId = state.Id, state.Amount }, tx);
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

    private const string LockTransactionsSql = """
        SELECT id, user_id, type, amount, status, merchant_trade_no
        FROM transactions WHERE merchant_trade_no IN (@List) ORDER BY merchant_trade_no FOR UPDATE
        """;

    private const string LockUsersSql = "SELECT id FROM users WHERE id IN (@List) ORDER BY id FOR UPDATE";

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
}

/// <summary>A message with everything that needs no database worked out (MAC, parsed fields, dedup key).</summary>
internal sealed record PreparedMessage(PaymentResultMessage Message, IReadOnlyDictionary<string, string> Fields, ReceivedResult Received, string DedupKey,
    string? MerchantTradeNo, string? LockableTradeNo);

[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class SettlementJsonContext : JsonSerializerContext;
