using System.Runtime.ExceptionServices;
using System.Text.Json.Serialization;
using EcpayEvents.Ecpay;
using MySqlConnector;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// "Settle a payment result": the messages of one SQS batch in ONE MySQL transaction (<see cref="SettleBatchAsync"/>),
/// or one message in a transaction of its own (<see cref="SettleAsync"/>).
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
        PreparedMessage[] prepared = [Prepare(message)];
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var item = (await SettleBatchOnceAsync(prepared, ct))[0];
                if (item.Error is { } error) ExceptionDispatchInfo.Throw(error);
                return item.Result!;
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.LockDeadlock && attempt < DeadlockAttempts)
            {
                // InnoDB rolled the transaction back; running it again is safe and usually succeeds at once.
            }
        }
    }

    /// <summary>
    /// Settles an SQS batch in ONE transaction: a message that fails is rolled back alone and reported (its
    /// <see cref="SettlementBatchItem.Error"/>), the others commit together. The batch's transaction rows, then
    /// their users, are locked first, in a fixed order (MerchantTradeNo, user id), so batches settling at once
    /// cannot deadlock one another. A deadlock anyway is retried; a row lock held elsewhere (lock wait timeout) or
    /// repeated deadlocks fall back to one transaction per message, so that only the message whose row is stuck fails.
    /// Messages about the same payment are applied in batch order, each seeing what the previous one did.
    /// <para>
    /// Four round trips whatever the batch's size: BEGIN; the locking reads; every message's writes; COMMIT. When
    /// a write fails (a duplicate event, a refused change), the writes are rolled back to before the first message
    /// and run again one message at a time, each under a savepoint of its own, so the failure is its message's alone.
    /// </para>
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

    private async Task<SettlementBatchItem[]> SettleBatchOnceAsync(PreparedMessage[] messages, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var states = await LockBatchAsync(connection, tx, messages, ct);

        // Every message planned against the state the previous ones leave, and written in one round trip.
        var tentative = new Dictionary<string, TransactionState>(states, StringComparer.Ordinal);
        var plans = new SettlementPlan[messages.Length];
        for (var i = 0; i < messages.Length; i++)
        {
            plans[i] = SettlementPlan.For(messages[i], StateOf(tentative, messages[i]), policy);
            if (plans[i].After is { } after) tentative[messages[i].LockableTradeNo!] = after;
        }
        var items = new SettlementBatchItem[messages.Length];
        var all = await SettlementWriter.RunAsync(connection, tx, "settle_batch", plans, markEvents: false, ct);
        if (all.Succeeded)
        {
            for (var i = 0; i < plans.Length; i++) items[i] = new SettlementBatchItem(plans[i].Result, null);
        }
        else
        {
            // One message at a time, each under its own savepoint: a failure is its message's alone.
            for (var i = 0; i < messages.Length; i++)
            {
                var plan = SettlementPlan.For(messages[i], StateOf(states, messages[i]), policy);
                var one = await SettlementWriter.RunAsync(connection, tx, "settle_message", [plan], markEvents: true, ct);
                if (one.Succeeded)
                {
                    items[i] = new SettlementBatchItem(plan.Result, null);
                    if (plan.After is { } after) states[messages[i].LockableTradeNo!] = after;
                }
                else if (one is { EventRecorded: false, Error: MySqlException { ErrorCode: MySqlErrorCode.DuplicateKeyEntry } })
                {
                    items[i] = new SettlementBatchItem(plan.DuplicateResult, null);
                }
                else
                {
                    items[i] = new SettlementBatchItem(null, one.Error ?? new InvalidOperationException(
                        $"transaction {plan.Result.TransactionId} changed under its row lock: {one.Mismatch}"));
                }
            }
        }
        await tx.CommitAsync(ct);
        return items;
    }

    private static TransactionState? StateOf(Dictionary<string, TransactionState> states, PreparedMessage message) =>
        message.LockableTradeNo is { } tradeNo ? states.GetValueOrDefault(tradeNo) : null;

    // One round trip: the session's lock wait, the batch's transaction rows (by MerchantTradeNo, ascending), then
    // their users (by id, ascending) — every batch takes its locks in the same order — and, when a message needs it,
    // whether a simulated result was recorded for its payment. That read is the transaction's first plain read, so
    // its snapshot is taken after the locks are held (events about a transaction are only written under them).
    private async Task<Dictionary<string, TransactionState>> LockBatchAsync(MySqlConnection connection, MySqlTransaction tx, PreparedMessage[] messages, CancellationToken ct)
    {
        var states = new Dictionary<string, TransactionState>(StringComparer.Ordinal);
        var tradeNos = messages.Select(m => m.LockableTradeNo).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var readsSimulations = messages.Any(m => m.LockableTradeNo is not null && SettlementRules.ReadsSimulationHistory(m.Received));

        await using var batch = new MySqlBatch(connection, tx);
        if (LockWaitTimeout > TimeSpan.Zero)
        {
            // Session-scoped, set in every transaction: a pooled connection may have been reset to the server default.
            var seconds = Math.Max(1, (int)Math.Ceiling(LockWaitTimeout.TotalSeconds));
            batch.BatchCommands.Add(new MySqlBatchCommand("SET SESSION innodb_lock_wait_timeout = " + seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        if (tradeNos.Length == 0)
        {
            if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(ct);
            return states;
        }
        batch.BatchCommands.Add(InListCommand(LockTransactionsSql, tradeNos));
        batch.BatchCommands.Add(InListCommand(LockUsersSql, tradeNos));
        if (readsSimulations) batch.BatchCommands.Add(InListCommand(SimulatedSeenSql, tradeNos));

        var simulated = new HashSet<long>();
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
                states[reader.GetString(5)] = new TransactionState(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4));
            await reader.NextResultAsync(ct); // the users' rows: locked, nothing to read
            if (readsSimulations && await reader.NextResultAsync(ct))
                while (await reader.ReadAsync(ct)) simulated.Add(reader.GetInt64(0));
        }
        foreach (var (tradeNo, state) in states.Where(s => simulated.Contains(s.Value.Id)).ToList())
            states[tradeNo] = state with { SimulatedResultSeen = true };
        return states;
    }

    private static MySqlBatchCommand InListCommand(string sqlWithList, string[] values)
    {
        var command = new MySqlBatchCommand();
        var names = new string[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            names[i] = "@v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            command.Parameters.AddWithValue(names[i], values[i]);
        }
        command.CommandText = sqlWithList.Replace("@List", string.Join(',', names), StringComparison.Ordinal);
        return command;
    }

    private const string LockTransactionsSql = """
        SELECT id, user_id, type, amount, status, merchant_trade_no
        FROM transactions WHERE merchant_trade_no IN (@List) ORDER BY merchant_trade_no FOR UPDATE
        """;

    private const string LockUsersSql = """
        SELECT id FROM users WHERE id IN (SELECT user_id FROM transactions WHERE merchant_trade_no IN (@List)) ORDER BY id FOR UPDATE
        """;

    private const string SimulatedSeenSql = """
        SELECT DISTINCT transaction_id FROM payment_events
        WHERE outcome = 'simulated' AND transaction_id IN (SELECT id FROM transactions WHERE merchant_trade_no IN (@List))
        """;
}

/// <summary>A message with everything that needs no database worked out (MAC, parsed fields, dedup key).</summary>
internal sealed record PreparedMessage(PaymentResultMessage Message, IReadOnlyDictionary<string, string> Fields, ReceivedResult Received, string DedupKey,
    string? MerchantTradeNo, string? LockableTradeNo);

[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class SettlementJsonContext : JsonSerializerContext;
