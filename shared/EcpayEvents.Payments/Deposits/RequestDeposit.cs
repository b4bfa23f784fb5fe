using System.Text.Json.Serialization;
using Dapper;
using EcpayEvents.Ecpay;
using EcpayEvents.Payments.Timeouts;
using EcpayEvents.Payments.Users;
using Microsoft.Extensions.Logging;
using MySqlConnector;

namespace EcpayEvents.Payments.Deposits;

public sealed record DepositRequest(
    [property: JsonPropertyName("amount")] long? Amount,
    [property: JsonPropertyName("paymentMethod")] string? PaymentMethod,
    [property: JsonPropertyName("itemName")] string? ItemName);

/// <param name="Status">Pending when created; a replayed deposit's status now.</param>
public sealed record DepositCreated(long TransactionId, long UserId, string MerchantTradeNo, long Amount, string PaymentMethod, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt,
    string Status = Transactions.TransactionStatus.Pending);

public enum DepositOutcome
{
    Created,
    /// <summary>The Idempotency-Key was used before for the same deposit: that deposit, not a second ECPay order.</summary>
    Replayed,
    /// <summary>The Idempotency-Key was used before for another request (another amount, method, item or a withdrawal).</summary>
    KeyReused,
    /// <summary>A request with this Idempotency-Key is still being processed (its deposit is not committed yet): retry shortly.</summary>
    KeyInProgress,
    /// <summary>No such user, or not the caller's: the same answer, so ids reveal nothing.</summary>
    UserNotFound,
    /// <summary>Operators move no money.</summary>
    Forbidden,
    /// <summary>The timeout could not be scheduled: nothing was written (the deposit was rolled back).</summary>
    SchedulingFailed,
}

/// <summary>
/// Starts a deposit: a pending transaction with a fresh MerchantTradeNo, and its timeout, scheduled before COMMIT so a
/// deposit is never committed without its timer (scheduling fails → rolled back, 503). A timer whose COMMIT then fails
/// ends <c>abandoned</c> at expiry. An Idempotency-Key makes a retry replay the first deposit, never a second ECPay order.
/// </summary>
public sealed partial class RequestDeposit(PaymentsDatabase database, IPaymentTimeoutScheduler scheduler, DepositOptions options, TimeProvider time, ILogger<RequestDeposit> log)
{
    public Dictionary<string, string[]> Validate(DepositRequest request, out string method, string? idempotencyKey = null)
    {
        var errors = new Dictionary<string, string[]>();
        method = "";
        if (IdempotencyKey.Problem(idempotencyKey) is { } keyProblem)
            errors[IdempotencyKey.Header] = [keyProblem];
        var requested = request.PaymentMethod?.Trim();
        if (string.IsNullOrEmpty(requested))
            errors["paymentMethod"] = [$"is required: one of {string.Join(", ", options.AllowedMethods)}."];
        else if (options.AllowedMethods.FirstOrDefault(m => string.Equals(m, requested, StringComparison.OrdinalIgnoreCase)) is { } canonical)
            method = canonical;
        else
            errors["paymentMethod"] = [$"'{requested}' is not one of {string.Join(", ", options.AllowedMethods)}."];

        if (request.Amount is not { } amount)
            errors["amount"] = ["is required: a whole number of TWD."];
        else
        {
            var (min, max) = method.Length > 0 ? options.AmountRange(method) : (options.MinAmount, options.MaxAmount);
            if (amount < min || amount > max)
                errors["amount"] = [method.Length > 0 ? $"must be from {min} to {max} TWD for {method}." : $"must be from {min} to {max} TWD."];
        }

        if (request.ItemName is { } item && DepositItemName.Problem(item) is { } problem)
            errors["itemName"] = [problem];
        return errors;
    }

    /// <summary>Call <see cref="Validate"/> first; <paramref name="method"/> is its canonical ChoosePayment.</summary>
    public async Task<(DepositOutcome Outcome, DepositCreated? Deposit)> HandleAsync(Caller caller, long userId, DepositRequest request, string method, CancellationToken ct,
        string? idempotencyKey = null)
    {
        if (caller.IsOperator) return (DepositOutcome.Forbidden, null);
        var amount = request.Amount!.Value;
        var itemName = request.ItemName?.Trim() ?? MerchantTradeNumber.Describe(amount);
        var createdAt = DbTime.Microseconds(time.GetUtcNow());
        var expiry = DepositExpiry.For(method, createdAt, options.Expiry);
        var expiresAt = DbTime.Microseconds(expiry.ExpiresAt);

        await using var connection = await database.OpenAsync(ct);
        // Only the owner starts deposits on their balance (a user's sub never changes).
        if (!await GetUser.OwnsAsync(connection, caller, userId)) return (DepositOutcome.UserNotFound, null);
        if (idempotencyKey is not null && await ReplayAsync(connection, userId, amount, method, itemName, idempotencyKey) is { } replay)
            return replay;
        await using var transaction = await connection.BeginTransactionAsync(ct);
        long id = 0;
        string merchantTradeNo = "";
        for (var attempt = 1; ; attempt++)
        {
            merchantTradeNo = MerchantTradeNumber.New(options.MerchantTradeNoPrefix, createdAt);
            try
            {
                // INSERT … VALUES, not INSERT … SELECT: a bulk insert holds the table's AUTO-INC lock for the whole
                // statement, so one insert waiting on a same-key row lock would stall every user's deposits
                // (seen as "Failed to read auto-increment value" under a burst of same-key retries).
                id = await connection.ExecuteScalarAsync<long>("""
                    INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method, item_name, expires_at, idempotency_key, created_at, updated_at)
                    VALUES (@userId, 'deposit', @amount, 'pending', @merchantTradeNo, @method, @itemName, @expiresAt, @idempotencyKey, @createdAt, @createdAt);
                    SELECT LAST_INSERT_ID();
                    """,
                    new { userId, amount, merchantTradeNo, method, itemName, expiresAt = expiresAt.UtcDateTime, idempotencyKey, createdAt = createdAt.UtcDateTime },
                    transaction);
                break;
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry && idempotencyKey is not null
                && e.Message.Contains("uq_transactions_user_idempotency_key", StringComparison.Ordinal))
            {
                // A concurrent request with the same key committed first (this insert waited for it): its deposit is this one.
                await transaction.RollbackAsync(ct);
                return await ReplayAsync(connection, userId, amount, method, itemName, idempotencyKey)
                    ?? throw new InvalidOperationException("Idempotency-Key conflict without a committed transaction.");
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.LockWaitTimeout && idempotencyKey is not null)
            {
                // Waited on the key of a request that is still scheduling its timer: not a second deposit, not an error.
                await transaction.RollbackAsync(ct);
                return (DepositOutcome.KeyInProgress, null);
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.NoReferencedRow2)
            {
                break; // the user is gone (id stays 0): answered like any missing user below
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry && attempt < 5)
            {
                LogCollision(log, merchantTradeNo);
            }
        }
        if (id == 0)
        {
            await transaction.RollbackAsync(ct);
            return (DepositOutcome.UserNotFound, null);
        }

        try
        {
            await scheduler.ScheduleAsync(new PaymentTimeoutInput(id, merchantTradeNo, expiresAt), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            await transaction.RollbackAsync(CancellationToken.None);
            LogSchedulingFailed(log, e, merchantTradeNo, id);
            return (DepositOutcome.SchedulingFailed, null);
        }
        await transaction.CommitAsync(ct);
        LogCreated(log, merchantTradeNo, id, userId, amount, method, expiresAt);
        return (DepositOutcome.Created, new DepositCreated(id, userId, merchantTradeNo, amount, method, expiresAt, createdAt));
    }

    /// <summary>
    /// The deposit an earlier request with this key created: Replayed when it is the same request (amount, method,
    /// item name), KeyReused for anything else under the key (a withdrawal too); null when the key is new.
    /// </summary>
    private static async Task<(DepositOutcome, DepositCreated?)?> ReplayAsync(MySqlConnection connection, long userId, long amount, string method, string itemName, string idempotencyKey)
    {
        var previous = await connection.QuerySingleOrDefaultAsync<Transactions.TransactionRow>("""
            SELECT id AS Id, type AS Type, amount AS Amount, status AS Status, merchant_trade_no AS MerchantTradeNo, payment_method AS PaymentMethod,
                   item_name AS ItemName, expires_at AS ExpiresAt, created_at AS CreatedAt
            FROM transactions WHERE user_id = @userId AND idempotency_key = @idempotencyKey
            """, new { userId, idempotencyKey });
        if (previous is null) return null;
        var same = previous.Type == Transactions.TransactionType.Deposit && previous.Amount == amount
            && string.Equals(previous.PaymentMethod, method, StringComparison.Ordinal) && string.Equals(previous.ItemName, itemName, StringComparison.Ordinal);
        if (!same) return (DepositOutcome.KeyReused, null);
        return (DepositOutcome.Replayed, new DepositCreated(previous.Id, userId, previous.MerchantTradeNo ?? "", previous.Amount, previous.PaymentMethod ?? "",
            DbTime.Utc(previous.ExpiresAt ?? previous.CreatedAt), DbTime.Utc(previous.CreatedAt), previous.Status));
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Deposit {MerchantTradeNo} (transaction {TransactionId}) created for user {UserId}: {Amount} TWD by {PaymentMethod}, expires {ExpiresAt:o}")]
    private static partial void LogCreated(ILogger logger, string merchantTradeNo, long transactionId, long userId, long amount, string paymentMethod, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "MerchantTradeNo {MerchantTradeNo} collided; drawing another")]
    private static partial void LogCollision(ILogger logger, string merchantTradeNo);

    [LoggerMessage(EventId = 5301, Level = LogLevel.Error, Message = "Deposit {MerchantTradeNo} (transaction {TransactionId}) rolled back: its payment timeout could not be scheduled")]
    private static partial void LogSchedulingFailed(ILogger logger, Exception exception, string merchantTradeNo, long transactionId);
}
